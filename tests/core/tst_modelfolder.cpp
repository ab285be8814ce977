// Parameter counts and training estimates against published figures and real modules; inspecting
// model folders; sentence embeddings.
#include "core/models/encoder.h"
#include "core/models/estimate.h"
#include "core/models/gpt2.h"
#include "core/models/modelfolder.h"
#include "core/models/safetensors.h"
#include "core/models/taskmodel.h"
#include "core/util/error.h"
#include "support/golden.h"

#include <torch/torch.h>

#include <QtTest/QtTest>

#include <fstream>
#include <nlohmann/json.hpp>

using namespace tunebench;

namespace {

std::int64_t count(const torch::nn::Module &m)
{
  std::int64_t n = 0;
  for (const auto &p : m.parameters())
    n += p.numel();
  return n;
}

} // namespace

class TestModelFolder : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  // Published sizes: bert-base-uncased 109,482,240 (with pooler), GPT-2 small 124,439,808.
  void publishedParameterCounts()
  {
    const TransformerShape bertBase{"bert", 30522, 768, 12, 12, 3072, 512, 2, true};
    QCOMPARE(countParameters(bertBase), std::int64_t(109482240));
    const TransformerShape gpt2Small{"gpt2", 50257, 768, 12, 12, 3072, 1024, 0, false};
    QCOMPARE(countParameters(gpt2Small), std::int64_t(124439808));
    // The formula agrees with the modules themselves.
    EncoderConfig c = EncoderConfig::fromJson({{"model_type", "bert"}, {"vocab_size", 30522}, {"hidden_size", 768},
                                               {"num_hidden_layers", 12}, {"num_attention_heads", 12},
                                               {"intermediate_size", 3072}}, "bert-base");
    QCOMPARE(count(*TransformerEncoder(c)), std::int64_t(109482240));
    Gpt2Config g = Gpt2Config::fromJson({{"model_type", "gpt2"}, {"n_embd", 768}, {"n_layer", 12}, {"n_head", 12}}, "gpt2");
    QCOMPARE(count(*Gpt2LMHeadModel(g)), std::int64_t(124439808));
    c.modelType = "distilbert";
    c.numLayers = 6;
    c.typeVocabSize = 0;
    QCOMPARE(count(*TransformerEncoder(c)), countParameters({"distilbert", 30522, 768, 6, 12, 3072, 512, 0, false}));
  }

  void trainingEstimate()
  {
    const TransformerShape bertBase{"bert", 30522, 768, 12, 12, 3072, 512, 2, true};
    const std::int64_t n = countParameters(bertBase);
    const TrainingEstimate bf16 = estimateTraining(bertBase, n, 16, 128, Precision::BFloat16);
    // What a layer keeps (layerActivationNumbers): with trainable weights s·b·(8h + 2i) + a·s²·b
    // numbers, 2 bytes each in bf16: 2·(128·16·(6,144 + 6,144) + 12·128²·16) = 56,623,104 bytes.
    const double layerBytes = 2.0 * (128.0 * 16 * (8 * 768 + 2 * 3072) + 12.0 * 128 * 128 * 16);
    QCOMPARE(layerBytes, 56623104.0);
    QCOMPARE(bf16.activationBytes, 12.0 * layerBytes);
    // fp32 master weights, and the bf16 copies the linear maps keep (all but the word embeddings).
    QCOMPARE(bf16.weightBytes, 4.0 * n + 2.0 * (n - 30522.0 * 768));
    QCOMPARE(bf16.optimizerBytes, 8.0 * n);
    // The peak: weights, moments and the larger of activations and gradients, 10% for the allocator.
    QVERIFY(bf16.activationBytes > bf16.gradientBytes);
    QCOMPARE(bf16.totalBytes, 1.1 * (bf16.weightBytes + bf16.optimizerBytes + bf16.activationBytes));
    const TrainingEstimate f32 = estimateTraining(bertBase, n, 16, 128, Precision::Float32);
    QCOMPARE(f32.activationBytes, 2.0 * bf16.activationBytes);
    // A LoRA-sized trainable set needs no gradients or moments for the frozen weights.
    const TrainingEstimate lora = estimateTraining(bertBase, 294912, 16, 128, Precision::BFloat16);
    QCOMPARE(lora.gradientBytes, 4.0 * 294912);
    // Frozen layers in bf16 keep q, k, v, the attention weights and two norms' inputs
    // (s·b·5h + a·s²·b), LoRA its input besides, and the activation's input (s·b·i); in fp32 the
    // attention and feed-forward blocks are computed again: the blocks' inputs and the last norm's
    // (s·b·3h), LoRA's input being the attention's; prefix tuning's 20 virtual tokens lengthen the
    // keys and values (its attention is not computed again).
    const TrainingEstimate loraLean =
        estimateTraining(bertBase, 294912, 16, 128, Precision::BFloat16, 2, 0, {false, 0, 0, 768.0});
    QCOMPARE(loraLean.activationBytes, 12.0 * 2.0 * (128.0 * 16 * (6 * 768 + 3072) + 12.0 * 128 * 128 * 16));
    const TrainingEstimate loraLean32 =
        estimateTraining(bertBase, 294912, 16, 128, Precision::Float32, 2, 0, {false, 0, 0, 768.0});
    QCOMPARE(loraLean32.activationBytes, 12.0 * 4.0 * 128 * 16 * 3 * 768);
    const TrainingEstimate prefix =
        estimateTraining(bertBase, 368640, 16, 128, Precision::Float32, 2, 0, {false, 0, 20});
    QCOMPARE(prefix.activationBytes,
             12.0 * 4.0 * (16.0 * 768 * (128 + 2 * 148) + 12.0 * 128 * 148 * 16 + 2.0 * 128 * 16 * 768));
    QVERIFY(lora.flopsPerStep < bf16.flopsPerStep);
    QVERIFY(bf16.flopsPerStep > 6.0 * (n - 30522.0 * 768) * 16 * 128 * 0.9); // ≈ 6·N·tokens
    // Activation checkpointing: every layer keeps its float32 input (s·b·h·4 bytes) and one layer's
    // activations exist again while it is recomputed, its dropped attention weights too (a·s²·b);
    // the forward pass runs once more.
    const double recomputedBytes = layerBytes + 2.0 * 12 * 128 * 128 * 16;
    const TrainingEstimate every = estimateTraining(bertBase, n, 16, 128, Precision::BFloat16, 2, 1);
    QCOMPARE(every.activationBytes, 12.0 * 128 * 16 * 768 * 4 + recomputedBytes);
    QCOMPARE(every.totalBytes, 1.1 * (every.weightBytes + every.optimizerBytes + every.gradientBytes));
    QVERIFY(every.flopsPerStep > 1.3 * bf16.flopsPerStep && every.flopsPerStep < 1.4 * bf16.flopsPerStep);
    const TrainingEstimate half =
        estimateTraining(bertBase, n, 16, 128, Precision::BFloat16, 2, 2); // layers 0, 2 … 10
    QCOMPARE(half.activationBytes, 6.0 * layerBytes + 6.0 * 128 * 16 * 768 * 4 + recomputedBytes);
    QCOMPARE(every.weightBytes + every.gradientBytes + every.optimizerBytes,
             bf16.weightBytes + bf16.gradientBytes + bf16.optimizerBytes);
    // T5: the decoder's layers count too, each with its cross-attention block; checkpointing keeps
    // the inputs of both stacks' layers and recomputes a decoder layer (the larger) at a time.
    const TransformerShape t5Small{"t5", 32128, 512, 6, 8, 2048, 0, 0, false, 0, 6, 64, 32, false, true};
    const std::int64_t t5n = countParameters(t5Small);
    const double tbh = 128.0 * 16 * 512;
    const TrainingEstimate t5 = estimateTraining(t5Small, t5n, 16, 128, Precision::BFloat16);
    QCOMPARE(t5.activationBytes,
             6 * tbh * (34 + 5.0 * 8 * 128 / 512) + 6 * tbh * (47 + 10.0 * 8 * 128 / 512));
    const TrainingEstimate t5Every = estimateTraining(t5Small, t5n, 16, 128, Precision::BFloat16, 2, 1);
    QCOMPARE(t5Every.activationBytes, 12 * tbh * 4 + tbh * (47 + 10.0 * 8 * 128 / 512));
    // Forward FLOPs: 2·N per token and three attention products per encoder-decoder pair of layers.
    const double t5Forward =
        2.0 * (static_cast<double>(t5n) - 32128.0 * 512) * 16 * 128 + 4.0 * 18 * 128 * 128 * 512 * 16;
    QCOMPARE(t5.flopsPerStep, t5Forward * 3.0);
    QCOMPARE(QString::fromStdString(formatBytes(1536.0)), QStringLiteral("1.5 KiB"));
  }

  void inspectsFolders_data()
  {
    QTest::addColumn<QString>("folder");
    QTest::addColumn<QString>("family");
    QTest::addColumn<int>("head"); // numbers in the checkpoint beyond the encoder/decoder
    QTest::newRow("bert") << tunebench::testing::goldenDir(QStringLiteral("models/bert")) << "bert" << 32 * 3 + 3;
    QTest::newRow("roberta") << tunebench::testing::goldenDir(QStringLiteral("models/roberta")) << "roberta"
                             << (32 * 32 + 32) + (32 * 3 + 3);
    QTest::newRow("gpt2") << tunebench::testing::goldenDir(QStringLiteral("models/gpt2")) << "gpt2" << 0;
    QTest::newRow("t5 v1.0") << tunebench::testing::goldenDir(QStringLiteral("models/t5_v1_0")) << "t5" << 0;
    QTest::newRow("t5 v1.1") << tunebench::testing::goldenDir(QStringLiteral("models/t5_v1_1")) << "t5" << 0;
    QTest::newRow("use-lite") << tunebench::testing::assetPath(QStringLiteral("models/use-lite")) << "use-lite" << 0;
  }

  void inspectsFolders()
  {
    QFETCH(QString, folder);
    QFETCH(QString, family);
    QFETCH(int, head);
    const ModelFolderInfo info = inspectModelFolder(folder.toStdString());
    QCOMPARE(QString::fromStdString(info.family), family);
    QCOMPARE(info.checkpointNumbers, countParameters(info.shape) + head);
  }

  void notAModelFolder()
  {
    QTemporaryDir dir;
    try {
      inspectModelFolder(dir.path().toStdString());
      QFAIL("an empty folder was taken for a model");
    } catch (const Error &e) {
      QVERIFY2(QString::fromUtf8(e.what()).contains(QLatin1String("no config.json")), e.what());
    }
  }

  // Damaged safetensors are refused by `inspect` (countSafetensorsValues) as by loading, with the
  // file and the tensor named: cut short, offsets past the data, an unknown dtype, a shape whose
  // size overflows, a header longer than the file.
  void damagedSafetensorsAreRefused_data()
  {
    QTest::addColumn<QString>("damage");
    QTest::addColumn<QString>("message");
    QTest::newRow("truncated data") << "truncate"
                                    << "outside the";
    QTest::newRow("offsets past the data") << "offsets"
                                           << "outside the";
    QTest::newRow("unknown dtype") << "dtype"
                                   << "unsupported dtype";
    QTest::newRow("overflowing shape") << "shape"
                                       << "too large";
    QTest::newRow("header longer than the file") << "header"
                                                 << "truncated";
  }
  void damagedSafetensorsAreRefused()
  {
    QFETCH(QString, damage);
    QFETCH(QString, message);
    QTemporaryDir dir;
    const std::filesystem::path file = dir.filePath(QStringLiteral("model.safetensors")).toStdString();
    writeSafetensors(file, {{"w", torch::ones({4, 8})}});
    std::string bytes;
    {
      std::ifstream in(file, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    std::uint64_t headerSize = 0;
    for (int i = 7; i >= 0; --i)
      headerSize = (headerSize << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
    std::string header = bytes.substr(8, headerSize);
    const auto replace = [&](const std::string &from, const std::string &to) {
      const auto at = header.find(from);
      QVERIFY2(at != std::string::npos, from.c_str());
      header.replace(at, from.size(), to);
      if (header.size() < headerSize)
        header.resize(headerSize, ' '); // same length: the data stays where it was
    };
    if (damage == QLatin1String("truncate"))
      bytes.resize(bytes.size() - 16);
    else if (damage == QLatin1String("offsets"))
      replace("[0,128]", "[0,999]");
    else if (damage == QLatin1String("dtype"))
      replace("\"F32\"", "\"F12\"");
    else if (damage == QLatin1String("shape"))
      replace("[4,8]", "[4294967296,4294967296]");
    if (damage == QLatin1String("header")) {
      bytes[3] = '\x01'; // a header length of 16 MiB and more
    } else if (damage != QLatin1String("truncate")) {
      QVERIFY(header.size() >= headerSize || damage == QLatin1String("shape"));
      bytes = bytes.substr(0, 8) + header + bytes.substr(8 + headerSize);
      if (header.size() != headerSize) { // the longer shape: the length field follows
        std::uint64_t n = header.size();
        for (int i = 0; i < 8; ++i, n >>= 8)
          bytes[static_cast<std::size_t>(i)] = static_cast<char>(n & 0xff);
      }
    }
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
    for (int reader = 0; reader < 2; ++reader) {
      try {
        if (reader == 0)
          countSafetensorsValues(file);
        else
          readSafetensors(file);
        QFAIL("a damaged file was read");
      } catch (const Error &e) {
        const QString text = QString::fromUtf8(e.what());
        QVERIFY2(text.contains(QString::fromStdString(file.string())) && text.contains(message), e.what());
      }
    }
  }

  // The memory guard: a config.json describing a model whose weights alone exceed the machine (10^6
  // layers) is refused at once, naming the file, for every family, by inspection and by loading;
  // TUNEBENCH_MAX_MODEL_MB sets another limit (here below a tiny golden model).
  void hugeConfigsAreRefusedAtOnce_data()
  {
    QTest::addColumn<QString>("family");
    QTest::addColumn<QString>("layersKey");
    QTest::newRow("bert") << "bert"
                          << "num_hidden_layers";
    QTest::newRow("gpt2") << "gpt2"
                          << "n_layer";
    QTest::newRow("t5 v1.0") << "t5_v1_0"
                             << "num_layers";
  }
  void hugeConfigsAreRefusedAtOnce()
  {
    QFETCH(QString, family);
    QFETCH(QString, layersKey);
    QTemporaryDir dir;
    const QString source = tunebench::testing::goldenDir(QStringLiteral("models/") + family);
    for (const QString &name : QDir(source).entryList(QDir::Files))
      QVERIFY(QFile::copy(source + QLatin1Char('/') + name, dir.filePath(name)));
    const std::filesystem::path folder = dir.path().toStdString();
    nlohmann::json config = nlohmann::json::parse(std::ifstream(folder / "config.json"));
    const nlohmann::json original = config;
    config[layersKey.toStdString()] = 1000000;
    config["hidden_size"] = config.contains("hidden_size") ? nlohmann::json(4096) : config["hidden_size"];
    config["d_model"] = config.contains("d_model") ? nlohmann::json(4096) : config["d_model"];
    config["n_embd"] = config.contains("n_embd") ? nlohmann::json(4096) : config["n_embd"];
    for (const char *unused : {"hidden_size", "d_model", "n_embd"})
      if (config[unused].is_null())
        config.erase(unused);
    std::ofstream(folder / "config.json", std::ios::trunc) << config.dump();
    for (int reader = 0; reader < 2; ++reader) {
      try {
        if (reader == 0)
          inspectModelFolder(folder);
        else
          randomBackbone(folder); // what a run builds before loading weights
        QFAIL("a model larger than the machine was accepted");
      } catch (const Error &e) {
        const QString text = QString::fromUtf8(e.what());
        QVERIFY2(text.contains(QLatin1String("config.json")) && text.contains(QLatin1String("weights alone")),
                 e.what());
      }
    }
    std::ofstream(folder / "config.json", std::ios::trunc) << original.dump();
    QVERIFY(inspectModelFolder(folder).checkpointNumbers > 0);
    qputenv("TUNEBENCH_MAX_MODEL_MB", "0.001");
    QVERIFY_THROWS_EXCEPTION(Error, inspectModelFolder(folder));
    qunsetenv("TUNEBENCH_MAX_MODEL_MB");
  }

  void embeddingsAreUnitVectorsForUseLite()
  {
    const auto embedder = TextEmbedder::load(tunebench::testing::assetPath(QStringLiteral("models/use-lite")).toStdString());
    const torch::Tensor e = embedder->embed({"How old are you?", "What is your age?", "The cat sat on the mat."});
    QCOMPARE(e.size(1), std::int64_t(512));
    QVERIFY((e.norm(2, 1) - 1.0).abs().max().item<double>() < 1e-5);
    // Paraphrases are closer than unrelated sentences.
    QVERIFY(torch::dot(e[0], e[1]).item<double>() > torch::dot(e[0], e[2]).item<double>());
  }
};

QTEST_GUILESS_MAIN(TestModelFolder)
#include "tst_modelfolder.moc"
