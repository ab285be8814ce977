// The Universal Sentence Encoder Lite read from its TF.js folder against the TF.js reference
// (tests/golden/models/use-lite/embeddings.json): token ids, and cosine ≥ 0.9999 for every sentence,
// in one padded batch.
#include "core/models/uselite.h"
#include "core/tokenize/useunigram.h"

#include "support/golden.h"

#include <torch/torch.h>

#include <QtTest/QtTest>

#include <nlohmann/json.hpp>

#include <fstream>

using namespace tunebench;

class TestUseLite : public QObject
{
  Q_OBJECT

private Q_SLOTS:
  void matchesTfjs()
  {
    torch::set_num_threads(2);
    std::ifstream in(tunebench::testing::goldenDir(QStringLiteral("models/use-lite/embeddings.json")).toStdString());
    QVERIFY(in);
    const nlohmann::json golden = nlohmann::json::parse(in);
    const auto folder = tunebench::testing::assetPath(QStringLiteral("models/use-lite")).toStdString();
    const auto tokenizer = UseUnigramTokenizer::fromVocabJson(folder + "/vocab.json");
    UseLiteEncoder model(UseLiteEncoderImpl::fromTfjs(folder));
    model->eval();
    QCOMPARE(model->config().numLayers, 2);
    QCOMPARE(model->config().hiddenSize, 512);
    std::int64_t parameters = 0;
    for (const auto &p : model->parameters())
      parameters += p.numel();
    // The manifest holds 6,975,914 numbers: 6,975,744 trainable weights, 128 timescales, 42 constants.
    QCOMPARE(parameters, std::int64_t(6975744));

    const auto sentences = golden["sentences"].get<std::vector<std::string>>();
    QVERIFY(sentences.size() >= 50);
    EncodeOptions options;
    options.addSpecialTokens = false;
    options.padding = PaddingStrategy::Longest;
    const std::vector<Encoding> batch = tokenizer->encodeBatch(sentences, options);
    std::vector<std::int64_t> ids, mask;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      std::vector<int> real;
      for (std::size_t t = 0; t < batch[i].size(); ++t)
        if (batch[i].attentionMask[t])
          real.push_back(batch[i].ids[t]);
      QCOMPARE(real, golden["ids"][i].get<std::vector<int>>());
      ids.insert(ids.end(), batch[i].ids.begin(), batch[i].ids.end());
      mask.insert(mask.end(), batch[i].attentionMask.begin(), batch[i].attentionMask.end());
    }
    const auto rows = static_cast<std::int64_t>(batch.size());
    torch::NoGradGuard noGrad;
    const torch::Tensor embeddings = model(torch::tensor(ids).view({rows, -1}), torch::tensor(mask).view({rows, -1})).embedding;
    const torch::Tensor expected = torch::tensor(golden["embeddings"].get<std::vector<std::vector<float>>>().front()).unsqueeze(0);
    double worst = 1.0;
    for (std::int64_t i = 0; i < rows; ++i) {
      const torch::Tensor reference = torch::tensor(golden["embeddings"][static_cast<std::size_t>(i)].get<std::vector<float>>());
      const double cosine = torch::cosine_similarity(embeddings[i], reference, 0).item<double>();
      worst = std::min(worst, cosine);
      QVERIFY2(cosine >= 0.9999, qPrintable(QStringLiteral("sentence %1 (%2): cosine %3")
                                                .arg(i).arg(QString::fromStdString(sentences[static_cast<std::size_t>(i)])).arg(cosine)));
    }
    qInfo("worst cosine with TF.js: %.7f over %lld sentences", worst, static_cast<long long>(rows));
    // Padding does not change a sentence's embedding.
    const Encoding alone = tokenizer->encode(sentences[0], options);
    const torch::Tensor single = model(torch::tensor(std::vector<std::int64_t>(alone.ids.begin(), alone.ids.end())).unsqueeze(0),
                                       torch::ones({1, static_cast<std::int64_t>(alone.size())}, torch::kLong)).embedding;
    QVERIFY((single[0] - embeddings[0]).abs().max().item<double>() < 1e-5);
  }
};

QTEST_GUILESS_MAIN(TestUseLite)
#include "tst_uselite.moc"
