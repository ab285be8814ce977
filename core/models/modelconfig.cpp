#include "core/models/modelconfig.h"

#include "core/models/estimate.h"
#include "core/util/error.h"
#include "core/util/jsonfile.h"

#include <algorithm>
#include <fstream>

namespace tunebench {

namespace {

// Reads the first of several names an integer field goes by.
int intField(const nlohmann::json &j, const std::string &source, std::initializer_list<const char *> names,
             std::optional<int> fallback = std::nullopt, int minimum = 1)
{
  for (const char *name : names)
    if (j.contains(name))
      return tunebench::intField(j, source, name, fallback, minimum); // range-checked: no wrap past int
  if (fallback)
    return *fallback;
  throw Error(source + ": field \"" + *names.begin() + "\" is missing");
}

} // namespace

EncoderConfig EncoderConfig::fromJson(const nlohmann::json &j, const std::string &source)
{
  if (!j.is_object())
    throw Error(source + ": expected a JSON object");
  EncoderConfig c;
  c.raw = j;
  c.modelType = j.value("model_type", std::string());
  if (c.modelType != "bert" && c.modelType != "roberta" && c.modelType != "distilbert")
    throw Error(source + ": field \"model_type\": \"" + c.modelType +
                "\" is not an encoder tunebench knows (bert, roberta, distilbert)");
  const bool distil = c.modelType == "distilbert";
  c.vocabSize = intField(j, source, {"vocab_size"});
  c.hiddenSize = intField(j, source, distil ? std::initializer_list<const char *>{"dim"} : std::initializer_list<const char *>{"hidden_size"});
  c.numLayers = intField(j, source, distil ? std::initializer_list<const char *>{"n_layers"} : std::initializer_list<const char *>{"num_hidden_layers"});
  c.numHeads = intField(j, source, distil ? std::initializer_list<const char *>{"n_heads"} : std::initializer_list<const char *>{"num_attention_heads"});
  c.intermediateSize = intField(j, source, distil ? std::initializer_list<const char *>{"hidden_dim"} : std::initializer_list<const char *>{"intermediate_size"});
  c.maxPositions = intField(j, source, {"max_position_embeddings"}, 512);
  c.typeVocabSize = distil ? 0 : intField(j, source, {"type_vocab_size"}, 2, 0);
  c.padTokenId = intField(j, source, {"pad_token_id"}, c.modelType == "roberta" ? 1 : 0, 0);
  c.layerNormEps = j.value("layer_norm_eps", 1e-12);
  c.activation = j.value(distil ? "activation" : "hidden_act", std::string("gelu"));
  if (c.activation != "gelu" && c.activation != "gelu_new" && c.activation != "gelu_pytorch_tanh" && c.activation != "relu")
    throw Error(source + ": field \"" + std::string(distil ? "activation" : "hidden_act") + "\": \"" + c.activation +
                "\" is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu)");
  c.hiddenDropout = j.value(distil ? "dropout" : "hidden_dropout_prob", 0.1);
  c.attentionDropout = j.value(distil ? "attention_dropout" : "attention_probs_dropout_prob", 0.1);
  c.classifierDropout = j.contains("classifier_dropout") && j["classifier_dropout"].is_number()
                            ? j["classifier_dropout"].get<double>()
                            : (distil ? j.value("seq_classif_dropout", 0.2) : c.hiddenDropout);
  if (c.hiddenSize == 0 || c.numHeads == 0 || c.hiddenSize % c.numHeads != 0)
    throw Error(source + ": the hidden size " + std::to_string(c.hiddenSize) + " is not a multiple of the " +
                std::to_string(c.numHeads) + " attention heads");
  if (j.contains("id2label") && j["id2label"].is_object()) {
    c.labels.resize(j["id2label"].size());
    for (const auto &[id, name] : j["id2label"].items()) {
      const int index = std::atoi(id.c_str());
      if (index < 0 || index >= static_cast<int>(c.labels.size()) || !name.is_string())
        throw Error(source + ": field \"id2label\": entry \"" + id + "\" is not an id below " +
                    std::to_string(c.labels.size()) + " with a name");
      c.labels[static_cast<std::size_t>(index)] = name.get<std::string>();
    }
  }
  return c;
}

EncoderConfig EncoderConfig::fromFile(const std::filesystem::path &path)
{
  EncoderConfig c =
      withJsonTypeErrors(path.string(), [&] { return fromJson(readJsonFile(path), path.string()); });
  requireWeightsFit(path,
                    denseShape(c.vocabSize, c.hiddenSize, c.numLayers, c.intermediateSize, c.maxPositions));
  return c;
}

nlohmann::json EncoderConfig::toJson() const
{
  nlohmann::json j = raw;
  if (!labels.empty()) {
    nlohmann::json id2label = nlohmann::json::object(), label2id = nlohmann::json::object();
    for (std::size_t i = 0; i < labels.size(); ++i) {
      id2label[std::to_string(i)] = labels[i];
      label2id[labels[i]] = i;
    }
    j["id2label"] = id2label;
    j["label2id"] = label2id;
  }
  return j;
}

std::string readModelType(const std::filesystem::path &configJson)
{
  const nlohmann::json j = readJsonFile(configJson);
  if (!j.is_object())
    throw Error(configJson.string() + ": expected a JSON object (a model's config.json), found " +
                j.type_name());
  if (j.contains("model_type") && !j["model_type"].is_string())
    throw Error(configJson.string() + ": field \"model_type\" must be a string, found " +
                j["model_type"].dump());
  return j.value("model_type", std::string());
}

Gpt2Config Gpt2Config::fromJson(const nlohmann::json &j, const std::string &source)
{
  if (j.value("model_type", std::string()) != "gpt2")
    throw Error(source + ": field \"model_type\": \"" + j.value("model_type", std::string()) +
                "\" is not gpt2");
  Gpt2Config c;
  c.raw = j;
  auto integer = [&](const char *name, int fallback) { return intField(j, source, name, fallback, 1); };
  c.vocabSize = integer("vocab_size", c.vocabSize);
  c.hiddenSize = integer("n_embd", c.hiddenSize);
  c.numLayers = integer("n_layer", c.numLayers);
  c.numHeads = integer("n_head", c.numHeads);
  c.maxPositions = integer("n_positions", c.maxPositions);
  c.innerSize = integer("n_inner", static_cast<int>(std::min<long long>(4LL * c.hiddenSize, 0x7fffffff)));
  c.layerNormEps = j.value("layer_norm_epsilon", c.layerNormEps);
  c.activation = j.value("activation_function", c.activation);
  c.residDropout = j.value("resid_pdrop", c.residDropout);
  c.embdDropout = j.value("embd_pdrop", c.embdDropout);
  c.attnDropout = j.value("attn_pdrop", c.attnDropout);
  c.bosTokenId = integer("bos_token_id", c.bosTokenId);
  c.eosTokenId = integer("eos_token_id", c.eosTokenId);
  if (c.hiddenSize % c.numHeads != 0)
    throw Error(source + ": n_embd " + std::to_string(c.hiddenSize) + " is not a multiple of n_head " +
                std::to_string(c.numHeads));
  return c;
}

Gpt2Config Gpt2Config::fromFile(const std::filesystem::path &path)
{
  Gpt2Config c =
      withJsonTypeErrors(path.string(), [&] { return fromJson(readJsonFile(path), path.string()); });
  requireWeightsFit(path, denseShape(c.vocabSize, c.hiddenSize, c.numLayers, c.innerSize, c.maxPositions));
  return c;
}

T5Config T5Config::fromJson(const nlohmann::json &j, const std::string &source)
{
  if (j.value("model_type", std::string()) != "t5" && j.value("model_type", std::string()) != "mt5")
    throw Error(source + ": field \"model_type\": \"" + j.value("model_type", std::string()) +
                "\" is not t5");
  T5Config c;
  c.raw = j;
  // Sizes are at least 1; token ids at least 0.
  auto integer = [&](const char *name, int fallback, int minimum = 1) {
    return intField(j, source, name, fallback, minimum);
  };
  c.vocabSize = integer("vocab_size", c.vocabSize);
  c.dModel = integer("d_model", c.dModel);
  c.dKv = integer("d_kv", c.dKv);
  c.dFf = integer("d_ff", c.dFf);
  c.numLayers = integer("num_layers", c.numLayers);
  c.numDecoderLayers = integer("num_decoder_layers", c.numLayers);
  c.numHeads = integer("num_heads", c.numHeads);
  c.buckets = integer("relative_attention_num_buckets", c.buckets);
  c.maxDistance = integer("relative_attention_max_distance", c.maxDistance);
  c.layerNormEps = j.value("layer_norm_epsilon", c.layerNormEps);
  c.dropout = j.value("dropout_rate", c.dropout);
  const std::string proj = j.value("feed_forward_proj", std::string("relu"));
  c.gated = proj.rfind("gated-", 0) == 0;
  c.activation = c.gated ? proj.substr(6) : proj;
  if (c.activation == "gelu" && c.gated)
    c.activation = "gelu_new"; // Hugging Face maps gated-gelu to the tanh approximation
  if (c.activation != "relu" && c.activation != "gelu" && c.activation != "gelu_new")
    throw Error(source + ": field \"feed_forward_proj\": \"" + proj +
                "\" is not supported (relu, gated-gelu, gated-relu)");
  c.tieEmbeddings = j.value("tie_word_embeddings", !c.gated);
  c.padTokenId = integer("pad_token_id", 0, 0);
  c.eosTokenId = integer("eos_token_id", 1, 0);
  c.decoderStartTokenId = integer("decoder_start_token_id", 0, 0);
  return c;
}

T5Config T5Config::fromFile(const std::filesystem::path &path)
{
  T5Config c = withJsonTypeErrors(path.string(), [&] { return fromJson(readJsonFile(path), path.string()); });
  requireWeightsFit(path, denseShape(c.vocabSize, c.dModel, c.numLayers, c.dFf, 0, c.numDecoderLayers));
  return c;
}

} // namespace tunebench
