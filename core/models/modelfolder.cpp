#include "core/models/modelfolder.h"

#include "core/models/checkpoint.h"
#include "core/models/encoder.h"
#include "core/models/gpt2.h"
#include "core/models/modelconfig.h"
#include "core/models/t5.h"
#include "core/models/taskmodel.h"
#include "core/models/uselite.h"
#include "core/tokenize/tokenizerloader.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"

#include <set>

#include <torch/torch.h>

namespace tunebench {
namespace fs = std::filesystem;

namespace {

bool isTfjs(const fs::path &folder) { return fileExists(folder / "model.json") && !fileExists(folder / "config.json"); }

// Token ids and mask of a batch, right-padded.
std::pair<torch::Tensor, torch::Tensor> batchOf(const Tokenizer &tokenizer, const std::vector<std::string> &texts,
                                                bool specials, int maxLength)
{
  EncodeOptions o;
  o.addSpecialTokens = specials;
  o.padding = PaddingStrategy::Longest;
  o.maxLength = maxLength;
  const std::vector<Encoding> batch = tokenizer.encodeBatch(texts, o);
  std::vector<std::int64_t> ids, mask;
  for (const Encoding &e : batch) {
    ids.insert(ids.end(), e.ids.begin(), e.ids.end());
    mask.insert(mask.end(), e.attentionMask.begin(), e.attentionMask.end());
  }
  const auto rows = static_cast<std::int64_t>(texts.size());
  return {torch::tensor(ids).view({rows, -1}), torch::tensor(mask).view({rows, -1})};
}

// Any Hugging Face folder: the backbone's pooled vector, or the mean of a decoder's hidden states.
class BackboneEmbedder final : public TextEmbedder
{
public:
  explicit BackboneEmbedder(const fs::path &folder) : m_tokenizer(loadTokenizer(folder)), m_backbone(loadBackbone(folder))
  {
    m_backbone->module()->eval();
  }
  torch::Tensor embed(const std::vector<std::string> &texts) override
  {
    torch::NoGradGuard noGrad;
    const bool decoder = m_backbone->family() == "gpt2";
    const auto [ids, mask] = batchOf(*m_tokenizer, texts, !decoder, m_tokenizer->modelMaxLength());
    const BackboneOutput out = m_backbone->forward(ids, mask, {});
    if (!decoder)
      return out.pooled;
    const torch::Tensor m = mask.to(torch::kFloat32).unsqueeze(-1);
    return (out.hidden * m).sum(1) / m.sum(1).clamp_min(1.0);
  }

private:
  std::unique_ptr<Tokenizer> m_tokenizer;
  std::unique_ptr<Backbone> m_backbone;
};

class UseLiteEmbedder final : public TextEmbedder
{
public:
  explicit UseLiteEmbedder(const fs::path &folder)
    : m_tokenizer(loadTokenizer(folder)), m_model(UseLiteEncoderImpl::fromTfjs(folder))
  {
    m_model->eval();
  }
  torch::Tensor embed(const std::vector<std::string> &texts) override
  {
    torch::NoGradGuard noGrad;
    const auto [ids, mask] = batchOf(*m_tokenizer, texts, false, 0);
    return m_model(ids, mask).embedding;
  }

private:
  std::unique_ptr<Tokenizer> m_tokenizer;
  UseLiteEncoder m_model;
};

} // namespace

TransformerShape encoderShape(const EncoderConfig &c)
{
  return {c.modelType,        c.vocabSize,    c.hiddenSize,    c.numLayers,          c.numHeads,
          c.intermediateSize, c.maxPositions, c.typeVocabSize, c.modelType == "bert"};
}

ModelFolderInfo inspectModelFolder(const fs::path &folder)
{
  std::error_code ec;
  if (!fs::is_directory(folder, ec))
    throw Error(folder.string() + ": not a folder");
  ModelFolderInfo info;
  if (isTfjs(folder)) {
    const auto model = UseLiteEncoderImpl::fromTfjs(folder);
    const UseLiteConfig &c = model->config();
    info.family = "use-lite";
    info.architectures = {"UseLiteEncoder"};
    info.shape = {"use-lite", c.vocabSize, c.hiddenSize, c.numLayers, c.numHeads, c.ffnSize, c.maxLength, 0, false,
                  c.embeddingSize};
    info.weightsFile = "model.json";
    for (const auto &p : model->parameters())
      info.checkpointNumbers += p.numel();
  } else {
    const fs::path config = folder / "config.json";
    if (!fileExists(config))
      throw Error(folder.string() + ": no config.json (a Hugging Face model folder needs one)");
    const std::string type = readModelType(config);
    if (type == "t5" || type == "mt5") {
      const T5Config c = T5Config::fromFile(config);
      info.shape = {"t5", c.vocabSize, c.dModel, c.numLayers, c.numHeads, c.dFf, 0, 0, false, 0,
                    c.numDecoderLayers, c.dKv, c.buckets, c.gated, c.tieEmbeddings};
      info.architectures = c.raw.value("architectures", std::vector<std::string>{});
    } else if (type == "gpt2") {
      const Gpt2Config c = Gpt2Config::fromFile(config);
      info.shape = {"gpt2", c.vocabSize, c.hiddenSize, c.numLayers, c.numHeads, c.innerSize, c.maxPositions, 0, false};
      info.architectures = c.raw.value("architectures", std::vector<std::string>{});
    } else {
      const EncoderConfig c = EncoderConfig::fromFile(config);
      info.shape = encoderShape(c);
      info.architectures = c.raw.value("architectures", std::vector<std::string>{});
      info.labels = c.labels;
    }
    info.family = type;
    for (const char *name : {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"})
      if (fileExists(folder / name)) {
        info.weightsFile = name;
        break;
      }
    if (info.weightsFile.empty())
      throw Error(folder.string() + ": no weights (model.safetensors, model.safetensors.index.json, pytorch_model.bin)");
    if (info.weightsFile == "model.safetensors") {
      info.checkpointNumbers = countSafetensorsValues(folder / info.weightsFile);
    } else if (info.weightsFile == "model.safetensors.index.json") {
      std::set<std::string> shards;
      const nlohmann::json index = readJsonFile(folder / info.weightsFile);
      for (const auto &[tensor, shard] : index.at("weight_map").items())
        shards.insert(shard.get<std::string>());
      for (const std::string &shard : shards)
        info.checkpointNumbers += countSafetensorsValues(folder / shard);
    } else {
      for (const auto &[name, t] : readCheckpoint(folder)) // pytorch_model.bin has no header to read
        info.checkpointNumbers += t.numel();
    }
  }
  try {
    const auto tokenizer = loadTokenizer(folder);
    info.tokenizerFamily = tokenizer->family();
    info.tokenizerVocabulary = tokenizer->vocabSize();
  } catch (const Error &e) {
    info.tokenizerFamily = std::string("none (") + e.what() + ")";
  }
  return info;
}

std::unique_ptr<TextEmbedder> TextEmbedder::load(const fs::path &folder)
{
  if (isTfjs(folder))
    return std::make_unique<UseLiteEmbedder>(folder);
  const fs::path config = folder / "config.json";
  if (!fileExists(config))
    throw Error(folder.string() + ": no config.json and no TF.js model.json: not a model folder");
  return std::make_unique<BackboneEmbedder>(folder);
}

} // namespace tunebench
