// Task heads on every backbone: classification (native, first-token and mean pooling), regression,
// token classification, and several heads sharing one encoder.
#include "core/models/checkpoint.h"
#include "core/models/taskmodel.h"
#include "core/util/error.h"

#include "support/golden.h"

#include <torch/torch.h>

#include <QtTest/QtTest>

using namespace tunebench;

namespace {

std::filesystem::path golden(const char *name)
{
  return tunebench::testing::goldenDir(QStringLiteral("models/") + QLatin1String(name)).toStdString();
}

} // namespace

class TestTaskModel : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }

  // A classification checkpoint's encoder loads as a backbone; its head is reported as unused.
  void backboneFromClassifierCheckpoint()
  {
    std::string report;
    TaskModel model(loadBackbone(golden("bert"), &report));
    QVERIFY2(report.find("classifier.weight") != std::string::npos, report.c_str());
    model->eval();
    const TensorMap expected = readSafetensors(golden("bert") / "expected.safetensors");
    torch::NoGradGuard noGrad;
    const BackboneOutput out = model->encode(expected.at("input_ids"), expected.at("attention_mask"),
                                             expected.at("token_type_ids"));
    QVERIFY((out.hidden - expected.at("last_hidden_state")).abs().max().item<double>() < 1e-4);
    QVERIFY((out.pooled - expected.at("pooled")).abs().max().item<double>() < 1e-4);
  }

  void headsAndPooling()
  {
    TaskModel model(loadBackbone(golden("roberta")));
    model->addHead({"sentiment", HeadKind::Classification, 3, Pooling::Mean, 0.1});
    model->addHead({"score", HeadKind::Regression, 1, Pooling::First, 0.1});
    model->addHead({"ner", HeadKind::TokenClassification, 5, Pooling::Native, 0.1});
    QVERIFY_THROWS_EXCEPTION(Error, model->addHead({"ner", HeadKind::TokenClassification, 5}));
    model->eval();
    const TensorMap expected = readSafetensors(golden("roberta") / "expected.safetensors");
    const torch::Tensor ids = expected.at("input_ids"), mask = expected.at("attention_mask");
    torch::NoGradGuard noGrad;
    const BackboneOutput x = model->encode(ids, mask);
    const torch::Tensor m = mask.to(torch::kFloat32).unsqueeze(-1);
    const torch::Tensor mean = (x.hidden * m).sum(1) / m.sum(1);
    const torch::Tensor sentiment = model->forward("sentiment", ids, mask);
    QCOMPARE(sentiment.sizes().vec(), (std::vector<std::int64_t>{3, 3}));
    QVERIFY((sentiment - model->head("sentiment")->linear(mean)).abs().max().item<double>() < 1e-5);
    const torch::Tensor score = model->forward("score", ids, mask);
    QCOMPARE(score.sizes().vec(), (std::vector<std::int64_t>{3, 1}));
    QVERIFY((score - model->head("score")->linear(x.hidden.select(1, 0))).abs().max().item<double>() < 1e-5);
    QCOMPARE(model->forward("ner", ids, mask).sizes().vec(), (std::vector<std::int64_t>{3, 9, 5}));
    QVERIFY_THROWS_EXCEPTION(Error, model->forward("missing", ids, mask));
  }

  // Multi-task: a loss on one head trains the shared encoder and that head, not the other head.
  void headsShareTheEncoder()
  {
    TaskModel model(loadBackbone(golden("distilbert")));
    model->addHead({"a", HeadKind::Classification, 2});
    model->addHead({"b", HeadKind::TokenClassification, 4});
    const TensorMap expected = readSafetensors(golden("distilbert") / "expected.safetensors");
    const torch::Tensor loss = model->forward("a", expected.at("input_ids"), expected.at("attention_mask")).pow(2).sum();
    loss.backward();
    int checkedB = 0, checkedA = 0;
    for (const auto &p : model->named_parameters()) {
      const bool hasGrad = p.value().grad().defined() && p.value().grad().abs().sum().item<double>() > 0;
      if (p.key().rfind("heads.b.", 0) == 0) {
        QVERIFY2(!hasGrad, p.key().c_str());
        ++checkedB;
      }
      if (p.key().rfind("heads.a.", 0) == 0 || p.key().find("word_embeddings") != std::string::npos) {
        QVERIFY2(hasGrad, p.key().c_str());
        ++checkedA;
      }
    }
    QVERIFY(checkedA >= 2 && checkedB >= 1); // the names matched: both heads and the embeddings were checked
  }

  void otherBackbones()
  {
    torch::NoGradGuard noGrad;
    // GPT-2: the pooled vector is the last real token's hidden state.
    auto gpt2 = loadBackbone(golden("gpt2"));
    gpt2->module()->eval();
    const TensorMap g = readSafetensors(golden("gpt2") / "expected.safetensors");
    const BackboneOutput out = gpt2->forward(g.at("input_ids"), g.at("attention_mask"), {});
    QVERIFY((out.pooled[1] - out.hidden[1][3]).abs().max().item<double>() == 0.0); // row 1 has 4 tokens
    // T5: its encoder's output.
    auto t5 = loadBackbone(golden("t5_v1_0"));
    t5->module()->eval();
    const TensorMap t = readSafetensors(golden("t5_v1_0") / "expected.safetensors");
    const torch::Tensor ids = t.at("encoder_ids");
    const BackboneOutput enc = t5->forward(ids, ids.ne(0).to(torch::kLong), {});
    QVERIFY((enc.hidden[0] - t.at("encoder_output")[0]).abs().max().item<double>() < 1e-4);
    // USE-Lite: the sentence embedding; a random backbone of the same shape differs.
    const auto folder = tunebench::testing::assetPath(QStringLiteral("models/use-lite")).toStdString();
    auto use = loadBackbone(folder);
    auto random = randomBackbone(folder);
    use->module()->eval();
    random->module()->eval();
    const torch::Tensor tokens = torch::tensor({{100, 200, 300}}, torch::kLong), mask = torch::ones({1, 3}, torch::kLong);
    const BackboneOutput a = use->forward(tokens, mask, {}), b = random->forward(tokens, mask, {});
    QCOMPARE(a.pooled.size(1), std::int64_t(512));
    QVERIFY((a.pooled.norm() - 1.0).abs().item<double>() < 1e-5);
    QVERIFY((a.pooled - b.pooled).abs().max().item<double>() > 1e-3);
  }
};

QTEST_GUILESS_MAIN(TestTaskModel)
#include "tst_taskmodel.moc"
