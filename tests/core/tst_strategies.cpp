// Fine-tuning strategies: what trains, what stays bit-identical, LoRA's published parameter count,
// merge/unmerge, PEFT save/load.
#include "core/models/checkpoint.h"
#include "core/models/encoder.h"
#include "core/models/gpt2.h"
#include "core/models/modelfolder.h"
#include "core/models/t5.h"
#include "core/strategies/adapters.h"
#include "core/strategies/basicstrategies.h"
#include "core/strategies/lora.h"
#include "core/strategies/peft.h"
#include "core/strategies/prefix.h"
#include "core/train/planning.h"
#include "core/util/error.h"
#include "support/golden.h"

#include <torch/torch.h>

#include <QtTest/QtTest>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

using namespace tunebench;

namespace {

const std::filesystem::path kBert = tunebench::testing::goldenDir(QStringLiteral("models/bert")).toStdString();

SequenceClassifier goldenBert()
{
  const EncoderConfig c = EncoderConfig::fromFile(kBert / "config.json");
  SequenceClassifier model(c, 3);
  loadStateDict(*model, readCheckpoint(kBert), kBert.string(), model->encoderPrefix(), {"classifier."});
  return model;
}

// A few AdamW steps (weight decay on) on a made-up objective over the golden batch.
void train(SequenceClassifier &model, Strategy &strategy, int steps)
{
  const TensorMap x = readSafetensors(kBert / "expected.safetensors");
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (const ParameterGroup &g : strategy.parameterGroups(*model))
    groups.emplace_back(g.parameters, std::make_unique<torch::optim::AdamWOptions>(1e-2 * g.learningRateScale));
  torch::optim::AdamW optimizer(groups, torch::optim::AdamWOptions(1e-2).weight_decay(0.1));
  model->train();
  for (int s = 0; s < steps; ++s) {
    optimizer.zero_grad();
    const torch::Tensor logits = model(x.at("input_ids"), x.at("attention_mask"), x.at("token_type_ids")).logits;
    torch::nn::functional::cross_entropy(logits, torch::tensor({0, 1, 2})).backward();
    optimizer.step();
  }
  model->eval();
}

TensorMap snapshot(const torch::nn::Module &m)
{
  TensorMap out;
  for (const auto &p : m.named_parameters())
    out.emplace(p.key(), p.value().detach().clone());
  return out;
}

T5Model goldenT5()
{
  const std::filesystem::path folder = tunebench::testing::goldenDir(QStringLiteral("models/t5_v1_1")).toStdString();
  T5Model model(T5Config::fromFile(folder / "config.json"));
  loadStateDict(*model, readCheckpoint(folder), folder.string(), "", {});
  model->eval();
  return model;
}

// T5 outputs for one input alone and for the same input padded in a batch beside a longer one
// must agree on its real positions: encoder output, decoder logits for a padded decoder batch,
// and greedy/beam generation with the cache equal to recomputation.
void checkT5Consistency(T5Model &model)
{
  torch::NoGradGuard noGrad;
  const torch::Tensor ids = torch::tensor({5, 9, 13, 1}, torch::kLong).unsqueeze(0);
  const torch::Tensor batch = torch::tensor({5, 9, 13, 1, 0, 0, 7, 8, 9, 10, 11, 1}, torch::kLong).view({2, 6});
  const torch::Tensor mask = batch.ne(0).to(torch::kLong);
  const torch::Tensor alone = model->encode(ids, torch::ones_like(ids));
  const torch::Tensor padded = model->encode(batch, mask);
  const auto offset = alone.size(1) - 4; // soft-prompt positions come first
  QVERIFY((padded[0].narrow(0, 0, offset + 4) - alone[0]).abs().max().item<double>() <= 1e-5);

  const torch::Tensor dec = torch::tensor({0, 4, 6}, torch::kLong).unsqueeze(0);
  const torch::Tensor decBatch = torch::tensor({0, 4, 6, 0, 0, 3, 8, 2}, torch::kLong).view({2, 4});
  torch::Tensor decMask = torch::ones_like(decBatch);
  decMask[0][3] = 0;
  const torch::Tensor a = model->decode(dec, torch::ones_like(dec), alone, model->memoryMask(torch::ones_like(ids)));
  const torch::Tensor b = model->decode(decBatch, decMask, padded, model->memoryMask(mask));
  QVERIFY((b[0].narrow(0, 0, 3) - a[0]).abs().max().item<double>() <= 1e-4); // logits of magnitude ~5

  T5Decoding decoding(model, ids, torch::ones_like(ids));
  GenerationOptions o;
  o.maxNewTokens = 6;
  o.stopTokens = {1};
  for (int beams : {1, 2}) {
    o.numBeams = beams;
    o.useCache = true;
    const std::vector<int> cached = generate(decoding, {0}, o);
    o.useCache = false;
    QCOMPARE(generate(decoding, {0}, o), cached);
  }
}

torch::Tensor logitsOf(SequenceClassifier &model)
{
  torch::NoGradGuard noGrad;
  model->eval();
  const TensorMap x = readSafetensors(kBert / "expected.safetensors");
  return model(x.at("input_ids"), x.at("attention_mask"), x.at("token_type_ids")).logits;
}

} // namespace

class TestStrategies : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }

  // Frozen parameters are bit-identical after optimizer steps; trained ones moved.
  void frozenStaysFrozen_data()
  {
    QTest::addColumn<QString>("strategy");
    QTest::newRow("partial") << "partial";
    QTest::newRow("bitfit") << "bitfit";
    QTest::newRow("lora") << "lora";
    QTest::newRow("adapters") << "adapters";
    QTest::newRow("ia3") << "ia3";
    QTest::newRow("prefix") << "prefix";
    QTest::newRow("prompt") << "prompt";
  }

  void frozenStaysFrozen()
  {
    QFETCH(QString, strategy);
    SequenceClassifier model = goldenBert();
    std::unique_ptr<Strategy> s;
    if (strategy == QLatin1String("partial"))
      s = std::make_unique<PartialFineTuning>(PartialOptions{true, 1, {}, 0.8, 2.0});
    else if (strategy == QLatin1String("bitfit"))
      s = std::make_unique<BitFit>();
    else if (strategy == QLatin1String("adapters"))
      s = std::make_unique<AdapterStrategy>(AdapterOptions{});
    else if (strategy == QLatin1String("ia3"))
      s = std::make_unique<Ia3Strategy>();
    else if (strategy == QLatin1String("prefix"))
      s = std::make_unique<PrefixTuning>(PrefixOptions{5, true, 16});
    else if (strategy == QLatin1String("prompt"))
      s = std::make_unique<PromptTuning>(PromptOptions{4, {5, 7}});
    else
      s = std::make_unique<LoraStrategy>(LoraOptions{});
    s->apply(*model);
    const TensorMap before = snapshot(*model);
    train(model, *s, 3);
    int frozen = 0, moved = 0;
    for (const auto &p : model->named_parameters()) {
      if (!before.count(p.key()))
        continue;
      if (!p.value().requires_grad()) {
        QVERIFY2(torch::equal(p.value(), before.at(p.key())), p.key().c_str());
        ++frozen;
      } else if (!torch::equal(p.value(), before.at(p.key()))) {
        ++moved;
      }
    }
    QVERIFY(frozen > 0);
    QVERIFY(moved > 0);
  }

  void partialFreezesWhatItSays()
  {
    SequenceClassifier model = goldenBert();
    PartialFineTuning s({true, 1, {}, 0.5, 3.0});
    s.apply(*model);
    int frozen = 0, trained = 0;
    for (const auto &p : model->named_parameters()) {
      const bool expectFrozen = p.key().find("embeddings") != std::string::npos || p.key().find("layer.0.") != std::string::npos;
      QCOMPARE(!p.value().requires_grad(), expectFrozen);
      ++(expectFrozen ? frozen : trained);
    }
    QVERIFY(frozen > 0 && trained > 0); // the names matched: something on each side
    // Layer-wise decay: layer 1 (the top of 2) gets 0.5, the head its own 3.0.
    std::set<std::string> seen;
    for (const ParameterGroup &g : s.parameterGroups(*model)) {
      seen.insert(g.name);
      if (g.name == "layer 1")
        QCOMPARE(g.learningRateScale, 0.5);
      if (g.name == "head")
        QCOMPARE(g.learningRateScale, 3.0);
      QVERIFY(g.name != "layer 0" && g.name != "embeddings");
    }
    QVERIFY2(seen.count("layer 1") && seen.count("head"), "the groups \"layer 1\" and \"head\" exist");
  }

  // Published count: BERT-base, LoRA r=8 on query and value: 294,912 (+ the 2-label classifier).
  void loraParameterCount()
  {
    const EncoderConfig c = EncoderConfig::fromJson({{"model_type", "bert"}, {"vocab_size", 30522}, {"hidden_size", 768},
                                                     {"num_hidden_layers", 12}, {"num_attention_heads", 12},
                                                     {"intermediate_size", 3072}}, "bert-base");
    SequenceClassifier model(c, 2);
    LoraStrategy lora({.r = 8, .alpha = 8, .targets = {"query", "value"}});
    lora.apply(*model);
    const TrainableReport report = trainableReport(*model);
    QCOMPARE(report.trainable, std::int64_t(294912 + 768 * 2 + 2));
    QCOMPARE(report.total, std::int64_t(109482240 + 294912 + 768 * 2 + 2));
    QCOMPARE(lora.adapted().size(), std::size_t(24));
    QVERIFY(QString::fromStdString(report.summary()).startsWith(QLatin1String("trainable params: 296,450 || all params: 109,778,690")));
    bool layerRow = false;
    for (const auto &row : report.modules)
      if (row.module == "layer 0") {
        QCOMPARE(row.trainable, std::int64_t(294912 / 12));
        layerRow = true;
      }
    QVERIFY(layerRow);
  }

  void loraStartsUnchangedAndMerges()
  {
    SequenceClassifier model = goldenBert();
    model->eval();
    const torch::Tensor base = logitsOf(model);
    LoraStrategy lora({.r = 4, .alpha = 16, .targets = {"all-linear"}});
    lora.apply(*model);
    QVERIFY((logitsOf(model) - base).abs().max().item<double>() <= 1e-6); // B = 0 at the start
    train(model, lora, 5);
    const torch::Tensor tuned = logitsOf(model);
    QVERIFY((tuned - base).abs().max().item<double>() > 1e-3);
    lora.merge(*model);
    QVERIFY((logitsOf(model) - tuned).abs().max().item<double>() <= 1e-5);
    lora.unmerge(*model);
    QVERIFY((logitsOf(model) - tuned).abs().max().item<double>() <= 1e-5);
  }

  // PEFT's layout: adapter_config.json + adapter_model.safetensors with base_model.model.* keys.
  void peftSaveAndLoad()
  {
    SequenceClassifier model = goldenBert();
    LoraStrategy lora({.r = 8, .alpha = 16, .targets = {"query", "value"}, .rsLora = true});
    lora.apply(*model);
    train(model, lora, 3);
    QTemporaryDir dir;
    const PeftNames same = [](const std::string &name) { return name; }; // the model has HF's names
    writePeftAdapter(*model, lora, same, {"SEQ_CLS", "bert-golden"}, dir.path().toStdString());
    const TensorMap saved = readSafetensors(dir.filePath(QStringLiteral("adapter_model.safetensors")).toStdString());
    QVERIFY(saved.count("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight"));
    QVERIFY(saved.count("base_model.model.bert.encoder.layer.1.attention.self.value.lora_B.weight"));
    // PEFT saves modules_to_save under the module's own name (no "modules_to_save.default").
    QVERIFY(saved.count("base_model.model.classifier.weight"));
    QCOMPARE(saved.size(), std::size_t(2 * 2 * 2 + 2));
    const LoraOptions read = LoraStrategy::readConfig(dir.path().toStdString());
    QCOMPARE(read.r, 8);
    QCOMPARE(read.alpha, 16.0);
    QVERIFY(read.rsLora);
    QCOMPARE(read.modulesToSave, std::vector<std::string>{"classifier"});
    // A fresh base model with the adapter loaded computes the same.
    SequenceClassifier again = goldenBert();
    std::unique_ptr<Strategy> loader = strategyFromPeft(dir.path().toStdString(), 0);
    QCOMPARE(loader->name(), std::string("lora"));
    loader->apply(*again);
    loadPeftAdapter(*again, same, dir.path().toStdString());
    QVERIFY((logitsOf(again) - logitsOf(model)).abs().max().item<double>() <= 1e-6);
  }

  // Adapters and IA3 leave the outputs unchanged at initialisation; IA3 merges and unmerges.
  void adaptersAndIa3StartAsIdentity()
  {
    for (const char *kind : {"houlsby", "pfeiffer", "ia3"}) {
      SequenceClassifier model = goldenBert();
      const torch::Tensor base = logitsOf(model);
      std::unique_ptr<Strategy> s;
      if (std::string(kind) == "ia3")
        s = std::make_unique<Ia3Strategy>();
      else
        s = std::make_unique<AdapterStrategy>(AdapterOptions{kind, 4, "gelu"});
      s->apply(*model);
      QVERIFY2((logitsOf(model) - base).abs().max().item<double>() <= 1e-6, kind);
      if (s->canMerge()) {
        train(model, *s, 3);
        const torch::Tensor tuned = logitsOf(model);
        s->merge(*model);
        QVERIFY((logitsOf(model) - tuned).abs().max().item<double>() <= 1e-5);
        s->unmerge(*model);
        QVERIFY((logitsOf(model) - tuned).abs().max().item<double>() <= 1e-5);
      }
    }
  }

  // Parameter counts for BERT-base: Houlsby (reduction 16) 2 × (768·48 + 48 + 48·768 + 768) per layer;
  // IA3 768 (keys) + 768 (values) + 3072 (FFN input) per layer.
  void adapterAndIa3Counts()
  {
    const EncoderConfig c = EncoderConfig::fromJson({{"model_type", "bert"}, {"vocab_size", 30522}, {"hidden_size", 768},
                                                     {"num_hidden_layers", 12}, {"num_attention_heads", 12},
                                                     {"intermediate_size", 3072}}, "bert-base");
    const std::int64_t head = 768 * 2 + 2;
    SequenceClassifier houlsby(c, 2);
    AdapterStrategy({"houlsby", 16, "relu"}).apply(*houlsby);
    QCOMPARE(trainableReport(*houlsby).trainable, 12 * 2 * std::int64_t(768 * 48 + 48 + 48 * 768 + 768) + head);
    SequenceClassifier pfeiffer(c, 2);
    AdapterStrategy({"pfeiffer", 16, "relu"}).apply(*pfeiffer);
    QCOMPARE(trainableReport(*pfeiffer).trainable, 12 * std::int64_t(768 * 48 + 48 + 48 * 768 + 768) + head);
    SequenceClassifier ia3(c, 2);
    Ia3Strategy().apply(*ia3);
    QCOMPARE(trainableReport(*ia3).trainable, 12 * std::int64_t(768 + 768 + 3072) + head);
  }

  // GPT-2's Conv1D stores [in, out]: LoRA merges in that layout and PEFT's config says fan_in_fan_out.
  void loraOnGpt2()
  {
    const std::filesystem::path folder = tunebench::testing::goldenDir(QStringLiteral("models/gpt2")).toStdString();
    Gpt2LMHeadModel model(Gpt2Config::fromFile(folder / "config.json"));
    loadStateDict(*model, readCheckpoint(folder), folder.string(), "", {});
    LoraStrategy lora({.r = 4, .alpha = 8, .targets = {"c_attn", "c_fc"}});
    lora.apply(*model);
    QCOMPARE(lora.adapted().size(), std::size_t(4));
    const TensorMap x = readSafetensors(folder / "expected.safetensors");
    const torch::Tensor ids = x.at("input_ids"), mask = x.at("attention_mask");
    torch::optim::AdamW optimizer(lora.parameterGroups(*model)[0].parameters, torch::optim::AdamWOptions(1e-2));
    for (int step = 0; step < 3; ++step) {
      optimizer.zero_grad();
      model(ids, mask).pow(2).mean().backward();
      optimizer.step();
    }
    model->eval();
    torch::NoGradGuard noGrad;
    const torch::Tensor tuned = model(ids, mask);
    lora.merge(*model);
    QVERIFY((model(ids, mask) - tuned).abs().max().item<double>() <= 1e-4);
    lora.unmerge(*model);
    QVERIFY((model(ids, mask) - tuned).abs().max().item<double>() <= 1e-4);
    QTemporaryDir dir;
    writePeftAdapter(
        *model, lora, [](const std::string &n) { return n; }, {"CAUSAL_LM", "gpt2-golden"},
        dir.path().toStdString());
    std::ifstream in(dir.filePath(QStringLiteral("adapter_config.json")).toStdString());
    QVERIFY(nlohmann::json::parse(in)["fan_in_fan_out"].get<bool>());
  }

  // P virtual tokens per layer: P × layers × 2 × hidden trainable numbers (no reparameterisation),
  // and the head; the prefix changes the output.
  void prefixCountsAndChangesTheOutput()
  {
    SequenceClassifier model = goldenBert();
    const torch::Tensor plain = logitsOf(model);
    PrefixTuning prefix({7, false, 0});
    prefix.apply(*model);
    const EncoderConfig c = EncoderConfig::fromFile(kBert / "config.json");
    QCOMPARE(prefix.layerWidths().size(), static_cast<std::size_t>(c.numLayers));
    std::int64_t inPrefix = 0, trainable = 0;
    for (const auto &p : model->named_parameters()) {
      if (p.key().rfind("prefix_encoder.", 0) == 0)
        inPrefix += p.value().numel();
      if (p.value().requires_grad())
        trainable += p.value().numel();
    }
    QCOMPARE(inPrefix, std::int64_t(7) * c.numLayers * 2 * c.hiddenSize);
    QCOMPARE(trainable, inPrefix + c.hiddenSize * 3 + 3); // + the classifier
    QVERIFY((logitsOf(model) - plain).abs().max().item<double>() > 1e-3);
  }

  // Padding stays correct: a sentence alone and the same sentence padded in a batch with a longer
  // one give the same outputs at its real positions (BERT and GPT-2 with prefixes).
  void prefixKeepsPaddingCorrect()
  {
    SequenceClassifier model = goldenBert();
    PrefixTuning prefix({4, true, 32});
    prefix.apply(*model);
    model->eval();
    torch::NoGradGuard noGrad;
    const torch::Tensor ids = torch::tensor({2, 5, 7, 3}, torch::kLong).unsqueeze(0);
    const torch::Tensor alone = model(ids, torch::ones_like(ids), torch::zeros_like(ids)).logits;
    const torch::Tensor batch = torch::tensor({2, 5, 7, 3, 0, 0, 2, 9, 11, 13, 15, 3}, torch::kLong).view({2, 6});
    const torch::Tensor mask = batch.ne(0).to(torch::kLong);
    mask[1].fill_(1);
    const torch::Tensor padded = model(batch, mask, torch::zeros_like(batch)).logits;
    QVERIFY((padded[0] - alone[0]).abs().max().item<double>() <= 1e-5);

    const std::filesystem::path folder = tunebench::testing::goldenDir(QStringLiteral("models/gpt2")).toStdString();
    Gpt2LMHeadModel gpt2(Gpt2Config::fromFile(folder / "config.json"));
    loadStateDict(*gpt2, readCheckpoint(folder), folder.string(), "", {});
    PrefixTuning gptPrefix({3, false, 0});
    gptPrefix.apply(*gpt2);
    gpt2->eval();
    const torch::Tensor g = torch::tensor({4, 10, 20, 30}, torch::kLong).unsqueeze(0);
    const torch::Tensor gAlone = gpt2(g, torch::ones_like(g));
    const torch::Tensor gBatch = torch::cat({torch::cat({g, torch::zeros({1, 2}, torch::kLong)}, 1),
                                             torch::tensor({4, 10, 20, 30, 40, 13}, torch::kLong).unsqueeze(0)});
    torch::Tensor gMask = torch::ones_like(gBatch);
    gMask[0][4] = 0;
    gMask[0][5] = 0;
    const torch::Tensor gPadded = gpt2(gBatch, gMask);
    QVERIFY((gPadded[0].narrow(0, 0, 4) - gAlone[0]).abs().max().item<double>() <= 1e-4);

    // Generation with the KV cache equals recomputation: the prefix is never stored in the cache.
    GenerationOptions o;
    o.maxNewTokens = 6;
    const std::vector<int> prompt = {4, 10, 20};
    const std::vector<int> cached = generate(*gpt2, prompt, o);
    o.useCache = false;
    QCOMPARE(generate(*gpt2, prompt, o), cached);
  }

  // T5: prefixes in the encoder's self-attention and the decoder's self- and cross-attention,
  // P × (encoder layers + 2 × decoder layers) × 2 × inner trainable numbers; padding and the
  // decoder's cache stay correct; the prefix changes the output.
  void prefixOnT5()
  {
    torch::manual_seed(3);
    T5Model model = goldenT5();
    const T5Config &c = model->config();
    const torch::Tensor ids = torch::tensor({5, 9, 13, 1}, torch::kLong).unsqueeze(0);
    torch::Tensor plain;
    {
      torch::NoGradGuard noGrad;
      plain = model->encode(ids, torch::ones_like(ids));
    }
    PrefixTuning prefix({5, false, 0});
    prefix.apply(*model);
    QCOMPARE(prefix.layerWidths().size(), static_cast<std::size_t>(c.numLayers + 2 * c.numDecoderLayers));
    std::int64_t trainable = 0;
    for (const auto &p : model->named_parameters())
      if (p.value().requires_grad())
        trainable += p.value().numel();
    QCOMPARE(trainable, std::int64_t(5) * (c.numLayers + 2 * c.numDecoderLayers) * 2 * c.numHeads * c.dKv);
    {
      torch::NoGradGuard noGrad;
      QVERIFY((model->encode(ids, torch::ones_like(ids)) - plain).abs().max().item<double>() > 1e-4);
    }
    checkT5Consistency(model);
    T5Model projected = goldenT5();
    PrefixTuning withMlp({3, true, 16});
    withMlp.apply(*projected);
    checkT5Consistency(projected);
  }

  // Prompt tuning on T5: the encoder sees P + T positions and the decoder attends to all of them.
  void promptOnT5()
  {
    torch::manual_seed(4);
    T5Model model = goldenT5();
    PromptTuning prompt({4, {7, 8}});
    prompt.apply(*model);
    std::int64_t trainable = 0;
    for (const auto &p : model->named_parameters())
      if (p.value().requires_grad())
        trainable += p.value().numel();
    QCOMPARE(trainable, std::int64_t(4) * model->config().dModel);
    const torch::Tensor ids = torch::tensor({5, 9, 13, 1}, torch::kLong).unsqueeze(0);
    torch::NoGradGuard noGrad;
    QCOMPARE(model->encode(ids, torch::ones_like(ids)).size(1), 4 + 4);
    QCOMPARE(model->memoryMask(torch::ones_like(ids)).size(1), 4 + 4);
    checkT5Consistency(model);
  }

  // Prompt tuning: P × width trainable numbers (+ the head); text initialisation copies the token
  // embeddings; outputs keep the real positions; padding and the KV cache stay correct.
  void promptTuning()
  {
    SequenceClassifier model = goldenBert();
    const torch::Tensor plain = logitsOf(model);
    PromptTuning prompt({6, {5, 7, 9}});
    prompt.apply(*model);
    const EncoderConfig c = EncoderConfig::fromFile(kBert / "config.json");
    std::int64_t trainable = 0;
    torch::Tensor soft;
    for (const auto &p : model->named_parameters()) {
      if (p.value().requires_grad())
        trainable += p.value().numel();
      if (p.key() == "prompt_encoder.embedding.weight")
        soft = p.value();
    }
    QCOMPARE(trainable, std::int64_t(6) * c.hiddenSize + c.hiddenSize * 3 + 3);
    QVERIFY(soft.defined());
    QVERIFY(torch::equal(soft[4], model->encoder->embeddings->words->weight[7])); // ids repeat: 5 7 9 5 7 9
    QVERIFY((logitsOf(model) - plain).abs().max().item<double>() > 1e-4);
    model->eval();
    torch::NoGradGuard noGrad;
    const torch::Tensor ids = torch::tensor({2, 5, 7, 3}, torch::kLong).unsqueeze(0);
    const EncoderOutput alone = model->encoder(ids, torch::ones_like(ids), torch::zeros_like(ids));
    QCOMPARE(alone.lastHidden.size(1), 6 + 4); // the encoder itself sees P + T positions
    const torch::Tensor batch = torch::tensor({2, 5, 7, 3, 0, 0, 2, 9, 11, 13, 15, 3}, torch::kLong).view({2, 6});
    torch::Tensor mask = batch.ne(0).to(torch::kLong);
    mask[1].fill_(1);
    const torch::Tensor a = model(ids, torch::ones_like(ids), torch::zeros_like(ids)).logits;
    const torch::Tensor b = model(batch, mask, torch::zeros_like(batch)).logits;
    QVERIFY((b[0] - a[0]).abs().max().item<double>() <= 1e-5);

    const std::filesystem::path folder = tunebench::testing::goldenDir(QStringLiteral("models/gpt2")).toStdString();
    Gpt2LMHeadModel gpt2(Gpt2Config::fromFile(folder / "config.json"));
    loadStateDict(*gpt2, readCheckpoint(folder), folder.string(), "", {});
    PromptTuning gptPrompt({3, {}});
    gptPrompt.apply(*gpt2);
    gpt2->eval();
    const torch::Tensor g = torch::tensor({4, 10, 20, 30}, torch::kLong).unsqueeze(0);
    const torch::Tensor gAlone = gpt2(g, torch::ones_like(g));
    QCOMPARE(gAlone.size(1), 4); // logits for the real tokens only
    const torch::Tensor gBatch = torch::cat({torch::cat({g, torch::zeros({1, 2}, torch::kLong)}, 1),
                                             torch::tensor({4, 10, 20, 30, 40, 13}, torch::kLong).unsqueeze(0)});
    torch::Tensor gMask = torch::ones_like(gBatch);
    gMask[0][4] = 0;
    gMask[0][5] = 0;
    QVERIFY((gpt2(gBatch, gMask)[0].narrow(0, 0, 4) - gAlone[0]).abs().max().item<double>() <= 1e-4);
    GenerationOptions o;
    o.maxNewTokens = 6;
    const std::vector<int> start = {4, 10, 20};
    const std::vector<int> cached = generate(*gpt2, start, o);
    o.useCache = false;
    QCOMPARE(generate(*gpt2, start, o), cached);
    o.numBeams = 2;
    o.useCache = true;
    const std::vector<int> beamCached = generate(*gpt2, start, o);
    o.useCache = false;
    QCOMPARE(generate(*gpt2, start, o), beamCached);
  }

  // The planner's trainable-parameter formulas (what the Experiment tab shows before a run) against
  // the strategies applied to a real model.
  void plannedTrainableMatchesTheModel_data()
  {
    QTest::addColumn<QString>("strategy");
    for (const char *n : {"full", "linear_probe", "bitfit", "lora", "adapters", "ia3", "prefix", "prompt"})
      QTest::newRow(n) << QString::fromLatin1(n);
  }
  void plannedTrainableMatchesTheModel()
  {
    QFETCH(QString, strategy);
    const EncoderConfig ec = EncoderConfig::fromFile(kBert / "config.json");
    ExperimentConfig c;
    c.strategy.name = strategy.toStdString();
    const TransformerShape shape = encoderShape(ec);
    SequenceClassifier model = goldenBert();
    std::int64_t total = 0;
    for (const auto &p : model->parameters())
      total += p.numel();
    const std::int64_t head = ec.hiddenSize * 3 + 3;
    QCOMPARE(countParameters(shape), total - head);
    std::unique_ptr<Strategy> s;
    if (strategy == "full") s = std::make_unique<FullFineTuning>();
    else if (strategy == "linear_probe") s = std::make_unique<LinearProbe>();
    else if (strategy == "bitfit") s = std::make_unique<BitFit>();
    else if (strategy == "lora") s = std::make_unique<LoraStrategy>(LoraOptions{});
    else if (strategy == "adapters") s = std::make_unique<AdapterStrategy>(AdapterOptions{"houlsby", 16, "relu"});
    else if (strategy == "ia3") s = std::make_unique<Ia3Strategy>();
    else if (strategy == "prefix") s = std::make_unique<PrefixTuning>(PrefixOptions{20, false, 0});
    else s = std::make_unique<PromptTuning>(PromptOptions{20, {}});
    s->apply(*model);
    std::int64_t trainable = 0;
    for (const auto &p : model->parameters())
      if (p.requires_grad())
        trainable += p.numel();
    QCOMPARE(estimateTrainable(c, shape, total - head, 3), trainable);
  }

  // The plan's bound on the frozen-layer cache: rows × max length × hidden × (2 in bf16, 4 in
  // fp32), only where something would be cached.
  void frozenCacheBoundFollowsTheConfig()
  {
    TransformerShape shape;
    shape.family = "bert";
    shape.hiddenSize = 768;
    ExperimentConfig c;
    c.model.maxLength = 128;
    c.strategy.name = "partial";
    c.strategy.freezeBottomLayers = 4;
    c.training.precision = "fp32";
    QCOMPARE(frozenCacheBound(c, shape, 1000), 0.0); // not asked for
    c.strategy.cacheFrozen = true;
    QCOMPARE(frozenCacheBound(c, shape, 1000), 1000.0 * 128 * 768 * 4);
    c.training.precision = "bf16";
    QCOMPARE(frozenCacheBound(c, shape, 1000), 1000.0 * 128 * 768 * 2);
    c.strategy.freezeEmbeddings = false; // the embeddings train: nothing below layer 0 is fixed
    QCOMPARE(frozenCacheBound(c, shape, 1000), 0.0);
    c.strategy.name = "linear_probe";
    QVERIFY(frozenCacheBound(c, shape, 1000) > 0);
    c.strategy.name = "lora";
    QCOMPARE(frozenCacheBound(c, shape, 1000), 0.0);
    c.strategy.name = "linear_probe";
    shape.family = "gpt2";
    QCOMPARE(frozenCacheBound(c, shape, 1000), 0.0);
  }

  void badLoraOptions()
  {
    QVERIFY_THROWS_EXCEPTION(Error, LoraStrategy(LoraOptions{.r = 0}));
    SequenceClassifier model = goldenBert();
    LoraStrategy lora({.r = 8, .alpha = 8, .targets = {"no_such_module"}});
    try {
      lora.apply(*model);
      QFAIL("targets that match nothing were accepted");
    } catch (const Error &e) {
      QVERIFY2(QString::fromUtf8(e.what()).contains(QLatin1String("no_such_module")), e.what());
    }
  }
};

QTEST_GUILESS_MAIN(TestStrategies)
#include "tst_strategies.moc"
