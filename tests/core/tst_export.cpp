// Exports (core/export): for each family and head the workbench trains, a short run exported as a
// Hugging Face folder loads again through tunebench's loader with the run's logits (max |diff| ≤
// 1e-5, fp32), and its key names are those of the reference class (export_keys.json, made by
// tests/golden/models/make_export_keys.py from the Python reference modules); own layouts (USE-Lite,
// T5 sequence heads, mean pooling) say so. PEFT adapters (LoRA, IA3, prefix, prompt) written and
// loaded back onto the base through strategy.adapter; merged LoRA = unmerged; refusals name the way.
#include "core/config/experiment.h"
#include "core/export/exporter.h"
#include "core/models/checkpoint.h"
#include "core/models/safetensors.h"
#include "core/models/taskmodel.h"
#include "core/train/batches.h"
#include "core/train/builtmodel.h"
#include "core/train/trainedrun.h"
#include "core/train/trainer.h"
#include "core/util/error.h"
#include "core/util/jsonfile.h"
#include "support/golden.h"

#include <torch/torch.h>

#include <QProcess>
#include <QtTest/QtTest>

#include <fstream>
#include <random>

using namespace tunebench;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::vector<std::string> kGood = {"good", "great", "fine", "nice"},
                               kBad = {"bad", "awful", "poor", "sad"},
                               kOther = {"the", "film", "was", "very", "plot", "a"};

// A tiny 2-layer model of each family (the reference key lists are for 2 layers), word vocabulary.
json familyConfig(const std::string &family, int vocab)
{
  if (family == "bert" || family == "roberta")
    return {{"model_type", family},
            {"vocab_size", vocab},
            {"hidden_size", 32},
            {"num_hidden_layers", 2},
            {"num_attention_heads", 4},
            {"intermediate_size", 64},
            {"max_position_embeddings", 40},
            {"type_vocab_size", family == "bert" ? 2 : 1},
            {"pad_token_id", family == "bert" ? 0 : 1}};
  if (family == "distilbert")
    return {{"model_type", family},
            {"vocab_size", vocab},
            {"dim", 32},
            {"n_layers", 2},
            {"n_heads", 4},
            {"hidden_dim", 64},
            {"max_position_embeddings", 40},
            {"pad_token_id", 0}};
  if (family == "gpt2")
    return {{"model_type", family}, {"vocab_size", vocab}, {"n_embd", 32},      {"n_layer", 2},
            {"n_head", 4},          {"n_positions", 40},   {"bos_token_id", 3}, {"eos_token_id", 3}};
  return {{"model_type", "t5"},
          {"vocab_size", vocab},
          {"d_model", 32},
          {"d_kv", 8},
          {"d_ff", 64},
          {"num_layers", 2},
          {"num_heads", 4},
          {"relative_attention_num_buckets", 8},
          {"relative_attention_max_distance", 20},
          {"feed_forward_proj", "relu"},
          {"tie_word_embeddings", true},
          {"pad_token_id", 0},
          {"eos_token_id", 1},
          {"decoder_start_token_id", 0}};
}

std::vector<std::string> keysOf(const fs::path &file)
{
  std::vector<std::string> keys;
  for (const auto &[name, t] : readSafetensors(file))
    keys.push_back(name);
  std::sort(keys.begin(), keys.end());
  return keys;
}

} // namespace

class TestExport : public QObject
{
  Q_OBJECT

  QTemporaryDir m_dir;
  json m_referenceKeys;

  fs::path path(const std::string &name) const
  {
    return m_dir.filePath(QString::fromStdString(name)).toStdString();
  }

  // Trains `family` on `task` for a few steps (random init, fp32, dropout on) and returns the run.
  fs::path train(const std::string &name, const std::string &family, const std::string &task,
                 const std::vector<std::string> &extra = {})
  {
    const bool use = family == "use-lite";
    const bool tagging = task == "token_tagging",
               lm = task == "instruction" || task == "seq2seq" || task == "masked_lm";
    std::vector<std::string> overrides = {
        "model.path=" + (use ? tunebench::testing::assetPath(QStringLiteral("models/use-lite")).toStdString()
                             : path(family).string()),
        "model.init=" + std::string(use ? "pretrained" : "random"),
        "model.max_length=16",
        "task.kind=" + task,
        "data.path=" + path(tagging                     ? "tags.conll"
                            : lm && task != "masked_lm" ? "pairs.jsonl"
                                                        : "reviews.csv")
                           .string(),
        "data.split.train=0.6",
        "data.split.validation=0.2",
        "data.split.test=0.2",
        "data.split.stratified=false",
        "training.max_steps=4",
        "training.batch_size=8",
        "training.learning_rate=3e-3",
        "training.precision=fp32",
        "evaluation.generate=0",
        "evaluation.early_stopping.patience=0"};
    if (tagging)
      overrides.push_back("data.tag_scheme=plain");
    if (task == "masked_lm" || lm)
      overrides.push_back("evaluation.metric=loss");
    if (task == "instruction" || task == "seq2seq")
      overrides.push_back("task.template=plain");
    if (lm) // a language model from scratch takes its size from model.scratch
      overrides.insert(overrides.end(),
                       {"model.scratch.layers=2", "model.scratch.hidden=32", "model.scratch.heads=4"});
    overrides.insert(overrides.end(), extra.begin(), extra.end());
    const ConfigResult r =
        parseExperimentConfig("name: " + name + "\nseed: 3\n", m_dir.path().toStdString(), overrides);
    if (!r.ok())
      qFatal("config: %s", r.problems.front().str(name).c_str());
    const fs::path runDir = path("runs/" + name);
    Trainer(r.config, runDir).run();
    return runDir;
  }

  // The run's and the folder's outputs on the same validation batches: max |difference|.
  static double maxDifference(TrainedRun &run, BuiltModel &other)
  {
    double worst = 0;
    torch::NoGradGuard noGrad;
    other.model->eval();
    for (const Batch &b : run.sampleBatches("validation", 64, 16))
      worst = std::max(worst, (run.model().forward(b) - other.forward(b)).abs().max().item<double>());
    return worst;
  }

  // /usr/bin/python3 (Debian's, with the reference packages) on `args`: "" when it succeeded, else
  // its error output and which package it needs.
  static QString python(const QStringList &args, const QString &package)
  {
    QProcess p;
    p.start(QStringLiteral("/usr/bin/python3"), args);
    if (!p.waitForFinished(120000))
      return QStringLiteral("python3 did not finish");
    return p.exitCode() == 0 ? QString()
                             : QString::fromUtf8(p.readAllStandardError()) + QStringLiteral(" (") + package +
                                   QStringLiteral(": packaging/install-deps.sh reference)");
  }

private Q_SLOTS:
  void initTestCase()
  {
    QVERIFY(m_dir.isValid());
    torch::set_num_threads(2);
    m_referenceKeys = readJsonFile(tunebench::testing::goldenDir(QStringLiteral("models")).toStdString() +
                                   "/export_keys.json");
    std::vector<std::string> words = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (const auto *list : {&kGood, &kBad, &kOther})
      words.insert(words.end(), list->begin(), list->end());
    for (const char *family : {"bert", "roberta", "distilbert", "gpt2", "t5"}) {
      fs::create_directories(path(family));
      std::ofstream vocab(path(family) / "vocab.txt");
      if (family == std::string("roberta")) // RoBERTa frames texts with <s> … </s>, pads with <pad> (id 1)
        vocab << "<s>\n<pad>\n</s>\n<mask>\n";
      if (family == std::string("t5")) // T5 ends texts with </s> (id 1), pads with <pad> (id 0)
        vocab << "<pad>\n</s>\n<unk>\n<s>\n";
      for (const std::string &w : words)
        vocab << w << '\n';
      std::ofstream(path(family) / "tokenizer_config.json") << "{\"do_lower_case\": true}";
      std::ofstream(path(family) / "config.json")
          << familyConfig(family, static_cast<int>(words.size()) + 4).dump(1);
      // "Pre-trained" weights (random, seeded) for the runs that start from the folder's weights.
      writeSafetensors(path(family) / "model.safetensors",
                       stateDict(*randomBackbone(path(family))->module()));
    }
    std::mt19937 random(7);
    const auto pick = [&](const std::vector<std::string> &from) { return from[random() % from.size()]; };
    std::ofstream csv(path("reviews.csv")), conll(path("tags.conll")), pairs(path("pairs.jsonl"));
    csv << "text,label\n";
    for (int i = 0; i < 400; ++i) { // validation (20%): 80 rows, of 3 to 8 words
      const bool good = i % 2 == 0;
      const int length = 3 + static_cast<int>(random() % 6);
      std::string text, tags, plain;
      for (int k = 0; k < length; ++k) {
        const bool opinion = random() % 3 == 0;
        const std::string w = opinion ? pick(good ? kGood : kBad) : pick(kOther);
        text += (k ? " " : "") + w;
        conll << w << '\t' << (opinion ? (good ? "POS" : "NEG") : "O") << '\n';
      }
      conll << '\n';
      csv << text << ',' << (good ? "pos" : "neg") << '\n';
      pairs << "{\"instruction\": \"" << text << "\", \"output\": \"" << (good ? "good" : "bad") << "\"}\n";
    }
  }

  void huggingFaceRoundTrip_data()
  {
    QTest::addColumn<QString>("family");
    QTest::addColumn<QString>("task");
    QTest::addColumn<QString>("architecture"); // the reference class, or the base class of an own layout
    QTest::addColumn<QString>("pooling");
    for (const char *f : {"bert", "roberta", "distilbert", "gpt2"})
      QTest::addRow("%s classification", f)
          << f << "single_label"
          << QString::fromLatin1(f == std::string("gpt2")      ? "GPT2"
                                 : f == std::string("bert")    ? "Bert"
                                 : f == std::string("roberta") ? "Roberta"
                                                               : "DistilBert") +
                 "ForSequenceClassification"
          << "native";
    for (const char *f : {"bert", "roberta", "distilbert", "gpt2", "t5"})
      QTest::addRow("%s tagging", f) << f << "token_tagging"
                                     << QString::fromLatin1(f == std::string("gpt2")      ? "GPT2"
                                                            : f == std::string("bert")    ? "Bert"
                                                            : f == std::string("roberta") ? "Roberta"
                                                            : f == std::string("t5")      ? "T5"
                                                                                          : "DistilBert") +
                                            "ForTokenClassification"
                                     << "native";
    QTest::newRow("bert mean pooling (own layout)") << "bert"
                                                    << "single_label"
                                                    << "BertModel"
                                                    << "mean";
    QTest::newRow("t5 classification (own layout)") << "t5"
                                                    << "single_label"
                                                    << "T5EncoderModel"
                                                    << "native";
    QTest::newRow("use-lite classification (own layout)") << "use-lite"
                                                          << "single_label"
                                                          << "UseLiteEncoder"
                                                          << "native";
    QTest::newRow("gpt2 instruction") << "gpt2"
                                      << "instruction"
                                      << "GPT2LMHeadModel"
                                      << "native";
    QTest::newRow("t5 seq2seq") << "t5"
                                << "seq2seq"
                                << "T5ForConditionalGeneration"
                                << "native";
    QTest::newRow("bert masked lm") << "bert"
                                    << "masked_lm"
                                    << "BertForMaskedLM"
                                    << "native";
  }

  // Export → reload through the Hugging Face loader → the run's logits; the reference key set.
  void huggingFaceRoundTrip()
  {
    QFETCH(QString, family);
    QFETCH(QString, task);
    QFETCH(QString, architecture);
    QFETCH(QString, pooling);
    const std::string name = QString(family + "-" + task + "-" + pooling).toStdString();
    const fs::path runDir =
        train(name, family.toStdString(), task.toStdString(), {"task.pooling=" + pooling.toStdString()});
    auto run = TrainedRun::open(runDir);
    const fs::path out = path("exports/" + name);
    const ExportOutcome outcome = exportRun(*run, out, {});
    const json &v = outcome.verification;
    QVERIFY2(v["passed"].get<bool>(), v.dump().c_str());
    QVERIFY2(v["max_abs_logit_difference"].get<double>() <= 1e-5, v.dump().c_str());
    QVERIFY(v["rows"].get<long>() > 0);
    QCOMPARE(readJsonFile(out / "verification.json"), v);
    const json config = readJsonFile(out / "config.json");
    QCOMPARE(QString::fromStdString(config["architectures"][0].get<std::string>()), architecture);
    // Loaded again by a second, independent open: the same logits.
    auto exported = TrainedRun::open(out);
    QVERIFY(exported->isExport());
    QVERIFY2(maxDifference(*run, exported->model()) <= 1e-5, name.c_str());
    if (m_referenceKeys.contains(architecture.toStdString()))
      QCOMPARE(keysOf(out / "model.safetensors"),
               m_referenceKeys[architecture.toStdString()].get<std::vector<std::string>>());
    else if (task != "masked_lm")
      QVERIFY2(config.contains("tunebench_heads") && config.contains("tunebench_layout"),
               config.dump().c_str());
    if (!run->labels().empty() && task == "single_label")
      QCOMPARE(config["id2label"]["0"].get<std::string>(), run->labels()[0]);
    // The model card says how the export was verified.
    std::ifstream card(out / "README.md");
    const std::string text((std::istreambuf_iterator<char>(card)), {});
    QVERIFY2(text.find("## Export") != std::string::npos && text.find("passed") != std::string::npos,
             text.c_str());
  }

  void pythonReferenceComputesTheExport_data()
  {
    QTest::addColumn<QString>("family");
    QTest::addColumn<QString>("task");
    for (const char *f : {"bert", "roberta", "distilbert"}) {
      QTest::addRow("%s classification", f) << f << "single_label";
      QTest::addRow("%s tagging", f) << f << "token_tagging";
    }
    QTest::newRow("gpt2 instruction") << "gpt2"
                                      << "instruction";
  }

  // An independent engine: the Python reference modules of tests/golden (check_export.py) read the
  // exported folder under the reference class's names and compute tunebench's logits (real positions).
  void pythonReferenceComputesTheExport()
  {
    QFETCH(QString, family);
    QFETCH(QString, task);
    const std::string name = QString(QStringLiteral("py-") + family + "-" + task).toStdString();
    auto run = TrainedRun::open(train(name, family.toStdString(), task.toStdString()));
    const fs::path out = path("exports/" + name);
    exportRun(*run, out, {});
    auto exported = TrainedRun::open(out);
    const Batch b = run->sampleBatches("validation", 16, 16).front();
    writeSafetensors(path(name + "-inputs.safetensors"), {{"input_ids", b.ids}, {"attention_mask", b.mask}});
    const QString failed =
        python({tunebench::testing::goldenDir(QStringLiteral("models")) + QStringLiteral("/check_export.py"),
                QString::fromStdString(out.string()),
                QString::fromStdString(path(name + "-inputs.safetensors").string()),
                QString::fromStdString(path(name + "-logits.safetensors").string())},
               QStringLiteral("python3-torch"));
    QVERIFY2(failed.isEmpty(), qPrintable(failed));
    const torch::Tensor reference = readSafetensors(path(name + "-logits.safetensors")).at("logits");
    torch::NoGradGuard noGrad;
    exported->model().model->eval();
    torch::Tensor ours =
        exported->model().forward(b.ids, b.mask, torch::zeros_like(b.ids)).to(torch::kFloat32);
    QCOMPARE(ours.sizes().vec(), reference.sizes().vec());
    torch::Tensor where =
        ours.dim() == 3 ? b.mask.ne(0).unsqueeze(-1).expand_as(ours) : torch::ones_like(ours, torch::kBool);
    const double d = (ours - reference).abs().masked_select(where).max().item<double>();
    QVERIFY2(
        d <= 1e-4,
        qPrintable(
            QStringLiteral("%1: max |tunebench - reference| %2").arg(QString::fromStdString(name)).arg(d)));
    QVERIFY(ours.abs().max().item<double>() > 1e-3); // logits, not zeros
  }

  void onnxInOnnxruntime_data()
  {
    QTest::addColumn<QString>("family");
    QTest::addColumn<QString>("task");
    for (const char *f : {"bert", "roberta", "distilbert", "gpt2", "use-lite"})
      QTest::addRow("%s classification", f) << f << "single_label";
    QTest::newRow("bert tagging") << "bert"
                                  << "token_tagging";
    QTest::newRow("use-lite tagging") << "use-lite"
                                      << "token_tagging";
    QTest::newRow("gpt2 instruction") << "gpt2"
                                      << "instruction";
    QTest::newRow("roberta lora (merged)") << "roberta"
                                           << "single_label";
  }

  // model.onnx run by onnxruntime (onnxruntime-node, the export's own check) on 64 padded validation
  // rows of mixed length: its logits within 1e-4 of tunebench's; ONNX's checker accepts the model.
  void onnxInOnnxruntime()
  {
    QFETCH(QString, family);
    QFETCH(QString, task);
    const bool lora = QString::fromLatin1(QTest::currentDataTag()).contains(QLatin1String("lora"));
    const std::string name = QString(QStringLiteral("onnx-") + QString::fromLatin1(QTest::currentDataTag()))
                                 .replace(QLatin1Char(' '), QLatin1Char('-'))
                                 .toStdString();
    auto run =
        TrainedRun::open(train(name, family.toStdString(), task.toStdString(),
                               lora ? std::vector<std::string>{"strategy.name=lora", "strategy.lora.r=2"}
                                    : std::vector<std::string>{}));
    ExportOptions options;
    options.format = ExportFormat::Onnx;
    const fs::path out = path("exports/" + name);
    const ExportOutcome outcome = exportRun(*run, out, options);
    const json &v = outcome.verification;
    QVERIFY2(v["passed"].get<bool>(), v.dump().c_str());
    QCOMPARE(v["rows"].get<long>(), 64L);
    QVERIFY2(v["max_abs_logit_difference"].get<double>() <= 1e-4, v.dump().c_str());
    QVERIFY2(v["engine"].get<std::string>().find("onnxruntime") != std::string::npos, v.dump().c_str());
    QCOMPARE(v["label_agreement"].get<double>(), 1.0);
    const QString failed = python({QStringLiteral("-c"),
                                   QStringLiteral("import onnx, sys; onnx.checker.check_model(sys.argv[1])"),
                                   QString::fromStdString((out / "model.onnx").string())},
                                  QStringLiteral("python3-onnx"));
    QVERIFY2(failed.isEmpty(), qPrintable(failed));
  }

  // int8: tunebench's own inference with quantised linear maps (a quarter of the weights' bytes,
  // labels as the fp32 model's), and the int8 ONNX export in onnxruntime (a file ≤ 30% of the fp32
  // weights, labels agreeing on at least 95% of the rows).
  void int8InferenceAndExport()
  {
    const fs::path runDir = train("int8-use-lite", "use-lite", "single_label", {"training.max_steps=30"});
    auto run = TrainedRun::open(runDir);
    const std::vector<Batch> batches = run->sampleBatches("validation", 64, 16);
    torch::NoGradGuard noGrad;
    std::vector<torch::Tensor> fp32;
    for (const Batch &b : batches)
      fp32.push_back(run->model().forward(b).clone());
    const json q = run->useInt8();
    QVERIFY2(q["maps"].get<int>() >= 10, q.dump().c_str());
    QVERIFY2(q["int8_bytes"].get<double>() <= 0.3 * q["fp32_bytes"].get<double>(), q.dump().c_str());
    double worst = 0;
    long agree = 0, rows = 0;
    for (std::size_t i = 0; i < batches.size(); ++i) {
      const torch::Tensor e = run->model().forward(batches[i]);
      worst = std::max(worst, (e - fp32[i]).abs().max().item<double>());
      agree += e.argmax(-1).eq(fp32[i].argmax(-1)).sum().item<long>();
      rows += e.size(0);
    }
    QVERIFY2(worst > 0 && worst < 0.5, std::to_string(worst).c_str()); // quantised, and close
    QVERIFY2(agree >= 0.95 * static_cast<double>(rows),
             (std::to_string(agree) + " of " + std::to_string(rows)).c_str());

    ExportOptions options;
    options.format = ExportFormat::Onnx;
    options.int8 = true;
    const ExportOutcome outcome = exportRun(*TrainedRun::open(runDir), path("exports/int8-onnx"), options);
    const json &v = outcome.verification;
    QVERIFY2(v["passed"].get<bool>(), v.dump().c_str());
    QVERIFY2(v["label_agreement"].get<double>() >= 0.95, v.dump().c_str());
    QVERIFY2(v["max_abs_logit_difference"].get<double>() > 0, v.dump().c_str());
    const json &info = v["export"];
    QVERIFY2(info["file_bytes"].get<double>() <= 0.3 * info["fp32_weight_bytes"].get<double>(),
             info.dump().c_str());
    QVERIFY(static_cast<double>(fs::file_size(path("exports/int8-onnx") / "model.onnx")) ==
            info["file_bytes"].get<double>());
  }

  void peftRoundTrip_data()
  {
    QTest::addColumn<QString>("strategy");
    QTest::addColumn<QString>("family");
    QTest::addColumn<QString>("task");
    QTest::addColumn<QString>("adapterKey"); // one key PEFT's layout has
    QTest::newRow("lora bert") << "lora"
                               << "bert"
                               << "single_label"
                               << "base_model.model.bert.encoder.layer.1.attention.self.value.lora_B.weight";
    QTest::newRow("ia3 roberta") << "ia3"
                                 << "roberta"
                                 << "single_label"
                                 << "base_model.model.roberta.encoder.layer.0.output.dense.ia3_l";
    QTest::newRow("prefix distilbert") << "prefix"
                                       << "distilbert"
                                       << "single_label"
                                       << "prompt_embeddings";
    QTest::newRow("prompt bert tagging") << "prompt"
                                         << "bert"
                                         << "token_tagging"
                                         << "prompt_embeddings";
    QTest::newRow("lora gpt2 instruction") << "lora"
                                           << "gpt2"
                                           << "instruction"
                                           << "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight";
  }

  // PEFT's layout written, then loaded onto the base model by a config naming it (strategy.adapter).
  void peftRoundTrip()
  {
    QFETCH(QString, strategy);
    QFETCH(QString, family);
    QFETCH(QString, task);
    QFETCH(QString, adapterKey);
    const std::string name = QString(strategy + "-" + family + "-" + task).toStdString();
    const fs::path runDir =
        train(name, family.toStdString(), task.toStdString(),
              {"model.init=pretrained", "strategy.name=" + strategy.toStdString(), "strategy.prefix.tokens=3",
               "strategy.prompt.tokens=3", "strategy.lora.r=2"});
    auto run = TrainedRun::open(runDir);
    const fs::path out = path("exports/peft-" + name);
    ExportOptions options;
    options.format = ExportFormat::Peft;
    const ExportOutcome outcome = exportRun(*run, out, options);
    QVERIFY2(outcome.verification["passed"].get<bool>(), outcome.verification.dump().c_str());
    QVERIFY(outcome.verification["max_abs_logit_difference"].get<double>() <= 1e-5);
    const std::vector<std::string> keys = keysOf(out / "adapter_model.safetensors");
    QVERIFY2(std::count(keys.begin(), keys.end(), adapterKey.toStdString()), adapterKey.toUtf8().constData());
    const json config = readJsonFile(out / "adapter_config.json");
    const std::map<std::string, std::string> types = {
        {"lora", "LORA"}, {"ia3", "IA3"}, {"prefix", "PREFIX_TUNING"}, {"prompt", "PROMPT_TUNING"}};
    QCOMPARE(config["peft_type"].get<std::string>(), types.at(strategy.toStdString()));
    if (task == "single_label") {
      QCOMPARE(config["task_type"].get<std::string>(), std::string("SEQ_CLS"));
      const auto heads = config["modules_to_save"].get<std::vector<std::string>>();
      QVERIFY(std::count(heads.begin(), heads.end(), "classifier") ||
              std::count(heads.begin(), heads.end(), "pre_classifier"));
      const std::string prefix =
          strategy == "prefix" || strategy == "prompt" ? "base_model." : "base_model.model.";
      QVERIFY2(std::count(keys.begin(), keys.end(), prefix + "classifier.weight") ||
                   std::count(keys.begin(), keys.end(), prefix + "classifier.out_proj.weight"),
               QString::fromStdString(json(keys).dump()).toUtf8().constData());
    }
    // A new experiment on the base model naming the adapter (strategy.adapter) computes what the run does.
    std::vector<std::string> overrides = {
        "model.path=" + run->config().resolve(run->config().model.path).string(),
        "strategy.adapter=" + out.string(), "task.kind=" + task.toStdString(),
        "data.path=" + run->config().resolve(run->config().data.path).string()};
    if (task == "token_tagging")
      overrides.push_back("data.tag_scheme=plain");
    const ConfigResult again = parseExperimentConfig("name: again\n", m_dir.path().toStdString(), overrides);
    QVERIFY2(again.ok(), again.ok() ? "" : again.problems.front().str("again").c_str());
    BuiltModel loaded = buildModel(again.config, static_cast<int>(run->labels().size()), run->tokenizer());
    QCOMPARE(loaded.strategy->name(), strategy.toStdString());
    const double worst = maxDifference(*run, loaded);
    QVERIFY2(worst <= 1e-5, std::to_string(worst).c_str());
  }

  // Merged LoRA equals the unmerged run; formats that do not fit a run say which one does.
  void mergedAndRefusals()
  {
    const fs::path lora =
        train("merge-lora", "bert", "single_label", {"strategy.name=lora", "strategy.lora.r=2"});
    auto run = TrainedRun::open(lora);
    ExportOptions merged;
    merged.format = ExportFormat::Merged;
    const ExportOutcome outcome = exportRun(*run, path("exports/merged"), merged);
    QVERIFY(outcome.verification["max_abs_logit_difference"].get<double>() <= 1e-5);
    QCOMPARE(outcome.verification["export"]["merged"].get<std::string>(), std::string("lora"));
    for (const std::string &key : keysOf(path("exports/merged") / "model.safetensors"))
      QVERIFY2(key.find("lora_") == std::string::npos, key.c_str());
    QCOMPARE(keysOf(path("exports/merged") / "model.safetensors"),
             m_referenceKeys["BertForSequenceClassification"].get<std::vector<std::string>>());

    const fs::path full = train("merge-full", "bert", "single_label");
    auto plain = TrainedRun::open(full);
    try {
      exportRun(*plain, path("exports/nothing"), merged);
      QFAIL("merged export of a full fine-tuning run");
    } catch (const Error &e) {
      QVERIFY2(std::string(e.what()).find("nothing to merge") != std::string::npos, e.what());
    }
    QVERIFY(!fs::exists(path("exports/nothing")) && !fs::exists(path("exports/nothing.partial")));
    const fs::path prefix =
        train("hf-prefix", "bert", "single_label", {"strategy.name=prefix", "strategy.prefix.tokens=2"});
    try {
      exportRun(*TrainedRun::open(prefix), path("exports/prefix-hf"), {});
      QFAIL("hf export of a prefix run");
    } catch (const Error &e) {
      QVERIFY2(std::string(e.what()).find("--format peft") != std::string::npos, e.what());
    }
    ExportOptions peft;
    peft.format = ExportFormat::Peft;
    try {
      exportRun(*plain, path("exports/full-peft"), peft);
      QFAIL("peft export of a full fine-tuning run");
    } catch (const Error &e) {
      QVERIFY2(std::string(e.what()).find("PEFT has no layout") != std::string::npos, e.what());
    }
    // Any run leaves in tunebench's own layout.
    ExportOptions own;
    own.format = ExportFormat::Tunebench;
    const ExportOutcome tb = exportRun(*TrainedRun::open(prefix), path("exports/prefix-own"), own);
    QVERIFY(tb.verification["passed"].get<bool>());
    QVERIFY(tb.verification["max_abs_logit_difference"].get<double>() == 0.0);
  }
};

QTEST_GUILESS_MAIN(TestExport)
#include "tst_export.moc"
