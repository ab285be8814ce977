// BERT, RoBERTa and DistilBERT against the reference computation (tests/golden/models, made by
// make_golden.py with Python torch): hidden states of every layer, pooled output and logits on a
// padded batch; checkpoint reading (safetensors, .bin), saving, and the errors bad files give.
#include "core/models/checkpoint.h"
#include "core/models/encoder.h"
#include "core/models/maskedlm.h"
#include "core/util/error.h"

#include "support/golden.h"
#include "support/tensors.h"

#include <torch/torch.h>

#include <QtTest/QtTest>

#include <fstream>

#include <nlohmann/json.hpp>

using namespace tunebench;
using tunebench::testing::maxDiff;
using tunebench::testing::toIntVector;

namespace {

QString folderOf(const QString &family) { return tunebench::testing::goldenDir(QStringLiteral("models/") + family); }

std::vector<std::string> headsOf(const std::string &type)
{
  return type == "distilbert" ? std::vector<std::string>{"pre_classifier.", "classifier."}
                              : std::vector<std::string>{"classifier."};
}

SequenceClassifier loadModel(const std::filesystem::path &folder, LoadReport *report = nullptr)
{
  const EncoderConfig config = EncoderConfig::fromFile(folder / "config.json");
  SequenceClassifier model(config, static_cast<int>(config.labels.size()));
  const LoadReport r = loadStateDict(*model, readCheckpoint(folder), folder.string(), model->encoderPrefix(),
                                     headsOf(config.modelType));
  if (report)
    *report = r;
  model->eval();
  return model;
}

void copyFile(const QString &from, const QString &to) { QVERIFY(QFile::copy(from, to)); }

} // namespace

class TestEncoderGolden : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }

  void matchesReference_data()
  {
    QTest::addColumn<QString>("family");
    QTest::newRow("bert") << QStringLiteral("bert");
    QTest::newRow("roberta") << QStringLiteral("roberta");
    QTest::newRow("distilbert") << QStringLiteral("distilbert");
  }

  void matchesReference()
  {
    QFETCH(QString, family);
    const std::filesystem::path folder = folderOf(family).toStdString();
    LoadReport report;
    SequenceClassifier model = loadModel(folder, &report);
    QVERIFY2(report.missing.empty() && report.unexpected.empty(), report.summary().c_str());
    const TensorMap expected = readSafetensors(folder / "expected.safetensors");
    torch::NoGradGuard noGrad;
    const ClassifierOutput out = model(expected.at("input_ids"), expected.at("attention_mask"),
                                       expected.at("token_type_ids"), true);
    QCOMPARE(static_cast<int>(out.encoder.hidden.size()), model->config().numLayers + 1);
    for (std::size_t i = 0; i < out.encoder.hidden.size(); ++i) {
      const double d = maxDiff(out.encoder.hidden[i], expected.at("hidden_states." + std::to_string(i)));
      QVERIFY2(d <= 1e-4, qPrintable(QStringLiteral("hidden state %1: max |diff| %2").arg(i).arg(d)));
    }
    QVERIFY(maxDiff(out.encoder.pooled, expected.at("pooled")) <= 1e-4);
    const double d = maxDiff(out.logits, expected.at("logits"));
    QVERIFY2(d <= 1e-4, qPrintable(QStringLiteral("logits: max |diff| %1").arg(d)));
  }

  // *ForMaskedLM: the family's encoder weights plus its prediction head under Hugging Face's names
  // (tests/golden/models/mlm/make_golden.py) give the reference's logits at every position.
  void maskedLmMatchesReference_data() { matchesReference_data(); }
  void maskedLmMatchesReference()
  {
    QFETCH(QString, family);
    const std::filesystem::path folder = folderOf(family).toStdString();
    const std::filesystem::path mlm = tunebench::testing::goldenDir(QStringLiteral("models/mlm")).toStdString();
    MaskedLanguageModel model(EncoderConfig::fromFile(folder / "config.json"));
    TensorMap weights = readCheckpoint(folder);
    for (auto &[name, t] : readSafetensors(mlm / (family.toStdString() + "_head.safetensors")))
      weights.insert_or_assign(name, t);
    const LoadReport report = loadStateDict(*model, weights, folder.string(), "", {});
    QVERIFY2(report.missing.empty(), report.summary().c_str());
    // What the model does not hold: the sequence classifier's head and the tied decoder copy.
    for (const std::string &key : report.unexpected)
      QVERIFY2(key.find("classifier") != std::string::npos || key.find("pooler") != std::string::npos ||
                   key.find("decoder.weight") != std::string::npos || key.find("vocab_projector.weight") != std::string::npos,
               key.c_str());
    model->eval();
    const TensorMap input = readSafetensors(folder / "expected.safetensors");
    const TensorMap expected = readSafetensors(mlm / (family.toStdString() + "_expected.safetensors"));
    torch::NoGradGuard noGrad;
    const torch::Tensor logits = model(input.at("input_ids"), input.at("attention_mask"), input.at("token_type_ids"));
    const double d = maxDiff(logits, expected.at("logits"));
    QVERIFY2(d <= 1e-4, qPrintable(QStringLiteral("MLM logits: max |diff| %1").arg(d)));
  }

  // pytorch_model.bin (torch.save's zip format) gives the same model as model.safetensors.
  void readsPytorchBin()
  {
    QTemporaryDir dir;
    copyFile(folderOf(QStringLiteral("bert")) + "/config.json", dir.filePath(QStringLiteral("config.json")));
    copyFile(folderOf(QStringLiteral("bert")) + "/pytorch_model.bin", dir.filePath(QStringLiteral("pytorch_model.bin")));
    const TensorMap fromBin = readCheckpoint(dir.path().toStdString());
    const TensorMap fromSafetensors = readCheckpoint(folderOf(QStringLiteral("bert")).toStdString());
    QCOMPARE(fromBin.size(), fromSafetensors.size());
    for (const auto &[name, t] : fromSafetensors)
      QVERIFY2(torch::equal(fromBin.at(name), t), name.c_str());
  }

  // Sharded safetensors (model.safetensors.index.json) and f16/bf16 weights.
  void shardsAndHalfPrecision_data()
  {
    QTest::addColumn<int>("dtype"); // 0: f32 in two shards, 1: f16, 2: bf16
    QTest::newRow("two shards") << 0;
    QTest::newRow("float16") << 1;
    QTest::newRow("bfloat16") << 2;
  }

  void shardsAndHalfPrecision()
  {
    QFETCH(int, dtype);
    const QString source = folderOf(QStringLiteral("bert"));
    QTemporaryDir dir;
    copyFile(source + "/config.json", dir.filePath(QStringLiteral("config.json")));
    const TensorMap all = readCheckpoint(source.toStdString());
    const torch::Dtype type = dtype == 1 ? torch::kFloat16 : dtype == 2 ? torch::kBFloat16 : torch::kFloat32;
    TensorMap shard[2];
    nlohmann::json index;
    int i = 0;
    for (const auto &[name, t] : all) {
      const int which = i++ % 2;
      shard[which].emplace(name, t.to(type));
      index["weight_map"][name] = "model-0000" + std::to_string(which + 1) + "-of-00002.safetensors";
    }
    for (int k = 0; k < 2; ++k)
      writeSafetensors(dir.filePath(QStringLiteral("model-0000%1-of-00002.safetensors").arg(k + 1)).toStdString(), shard[k]);
    QFile indexFile(dir.filePath(QStringLiteral("model.safetensors.index.json")));
    QVERIFY(indexFile.open(QIODevice::WriteOnly));
    indexFile.write(QByteArray::fromStdString(index.dump()));
    indexFile.close();
    SequenceClassifier model = loadModel(dir.path().toStdString());
    // Each weight is exactly the float32 value of the stored one.
    const TensorMap loaded = stateDict(*model);
    for (const auto &[name, t] : all)
      QVERIFY2(torch::equal(loaded.at(name), t.to(type).to(torch::kFloat32)), name.c_str());
    const TensorMap expected = readSafetensors(source.toStdString() + "/expected.safetensors");
    torch::NoGradGuard noGrad;
    const torch::Tensor logits = model(expected.at("input_ids"), expected.at("attention_mask"), expected.at("token_type_ids")).logits;
    const double tolerance = dtype == 0 ? 1e-4 : dtype == 1 ? 2e-2 : 1e-1;
    QVERIFY2(maxDiff(logits, expected.at("logits")) <= tolerance, qPrintable(QString::number(maxDiff(logits, expected.at("logits")))));
  }

  // Save → load is bit-exact, and the saved keys are exactly BertForSequenceClassification's.
  void saveLoadRoundTrip()
  {
    SequenceClassifier model = loadModel(folderOf(QStringLiteral("bert")).toStdString());
    QTemporaryDir dir;
    saveHuggingFaceFolder(dir.path().toStdString(), *model, model->config().toJson().dump(2));
    const TensorMap saved = readSafetensors(dir.filePath(QStringLiteral("model.safetensors")).toStdString());
    std::vector<std::string> keys;
    for (const auto &[k, t] : saved)
      keys.push_back(k);
    const auto expectedKeys = tunebench::testing::readLines(folderOf(QStringLiteral("bert")) + "/keys.txt");
    QCOMPARE(keys, expectedKeys);
    LoadReport report;
    SequenceClassifier again = loadModel(dir.path().toStdString(), &report);
    QVERIFY(report.missing.empty() && report.unexpected.empty());
    const TensorMap a = stateDict(*model), b = stateDict(*again);
    for (const auto &[name, t] : a)
      QVERIFY2(torch::equal(t, b.at(name)), name.c_str());
  }

  // A base-model checkpoint (no "bert." prefix, no classifier): the head is reported and initialised.
  void baseCheckpointReportsTheHead()
  {
    TensorMap base;
    for (const auto &[name, t] : readCheckpoint(folderOf(QStringLiteral("bert")).toStdString()))
      if (name.rfind("bert.", 0) == 0)
        base.emplace(name.substr(5), t);
    base.emplace("cls.predictions.bias", torch::zeros({97}));
    const EncoderConfig config = EncoderConfig::fromFile(folderOf(QStringLiteral("bert")).toStdString() + "/config.json");
    SequenceClassifier model(config, 5);
    const LoadReport report = loadStateDict(*model, base, "base", "bert.", {"classifier."});
    QCOMPARE(report.missing, (std::vector<std::string>{"classifier.weight", "classifier.bias"}));
    QCOMPARE(report.unexpected, std::vector<std::string>{"cls.predictions.bias"});
    QVERIFY(report.summary().find("expected for a task head") != std::string::npos);
  }

  void badFilesGiveClearErrors_data()
  {
    QTest::addColumn<QString>("damage");
    QTest::addColumn<QString>("message");
    QTest::newRow("truncated") << "truncate" << "lie outside the";
    QTest::newRow("header cut") << "header" << "truncated: the header says";
    QTest::newRow("wrong dtype") << "dtype" << "has dtype Long, expected a floating-point tensor";
    QTest::newRow("unknown model_type") << "model_type" << "\"model_type\": \"gpt-j\" is not an encoder";
    QTest::newRow("shape mismatch") << "shape" << "has shape";
  }

  void badFilesGiveClearErrors()
  {
    QFETCH(QString, damage);
    QFETCH(QString, message);
    QTemporaryDir dir;
    const QString source = folderOf(QStringLiteral("bert"));
    QFile configIn(source + "/config.json");
    QVERIFY(configIn.open(QIODevice::ReadOnly));
    QByteArray config = configIn.readAll();
    QFile modelIn(source + "/model.safetensors");
    QVERIFY(modelIn.open(QIODevice::ReadOnly));
    QByteArray weights = modelIn.readAll();
    if (damage == QLatin1String("truncate"))
      weights.chop(1000);
    if (damage == QLatin1String("header"))
      weights.truncate(100);
    if (damage == QLatin1String("model_type"))
      config.replace("\"bert\"", "\"gpt-j\"");
    if (damage == QLatin1String("shape"))
      config.replace("\"intermediate_size\": 64", "\"intermediate_size\": 48");
    if (damage == QLatin1String("dtype")) {
      TensorMap t = readSafetensors(source.toStdString() + "/model.safetensors");
      t["bert.pooler.dense.bias"] = t["bert.pooler.dense.bias"].to(torch::kLong);
      writeSafetensors(dir.filePath(QStringLiteral("model.safetensors")).toStdString(), t);
    } else {
      QFile out(dir.filePath(QStringLiteral("model.safetensors")));
      QVERIFY(out.open(QIODevice::WriteOnly));
      out.write(weights);
    }
    QFile out(dir.filePath(QStringLiteral("config.json")));
    QVERIFY(out.open(QIODevice::WriteOnly));
    out.write(config);
    out.close();
    try {
      loadModel(dir.path().toStdString());
      QFAIL("a damaged model folder loaded");
    } catch (const Error &e) {
      const QString what = QString::fromUtf8(e.what());
      QVERIFY2(what.contains(message), e.what());
      QVERIFY2(what.contains(dir.path()), e.what()); // names the file
    }
  }
};

QTEST_GUILESS_MAIN(TestEncoderGolden)
#include "tst_encodergolden.moc"
