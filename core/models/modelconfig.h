#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace tunebench {

// The architecture of an encoder (BERT, RoBERTa, DistilBERT) as config.json describes it, under one
// set of names whatever the family calls them (DistilBERT: dim, n_layers, n_heads, hidden_dim).
struct EncoderConfig
{
  std::string modelType;       // "bert", "roberta", "distilbert"
  int vocabSize = 0;
  int hiddenSize = 0;
  int numLayers = 0;
  int numHeads = 0;
  int intermediateSize = 0;
  int maxPositions = 512;
  int typeVocabSize = 2;       // 0: no token types (DistilBERT)
  int padTokenId = 0;
  double layerNormEps = 1e-12;
  std::string activation = "gelu"; // gelu (erf), gelu_new / gelu_pytorch_tanh (tanh), relu
  double hiddenDropout = 0.1;
  double attentionDropout = 0.1;
  double classifierDropout = 0.1;
  std::vector<std::string> labels; // id2label, in id order
  nlohmann::json raw;             // config.json as read; written back with the labels updated

  // Throws tunebench::Error naming the file and the missing or invalid field.
  static EncoderConfig fromJson(const nlohmann::json &json, const std::string &source);
  static EncoderConfig fromFile(const std::filesystem::path &configJson);
  nlohmann::json toJson() const;
  int headSize() const { return hiddenSize / numHeads; }
};

// The model_type of a config.json, or "" when the file has none.
std::string readModelType(const std::filesystem::path &configJson);

struct Gpt2Config
{
  int vocabSize = 50257;
  int hiddenSize = 768;    // n_embd
  int numLayers = 12;      // n_layer
  int numHeads = 12;       // n_head
  int maxPositions = 1024; // n_positions
  int innerSize = 0;       // n_inner; 0 = 4 × hidden
  double layerNormEps = 1e-5;
  std::string activation = "gelu_new";
  double residDropout = 0.1, embdDropout = 0.1, attnDropout = 0.1;
  int bosTokenId = 50256, eosTokenId = 50256;
  nlohmann::json raw;

  static Gpt2Config fromJson(const nlohmann::json &json, const std::string &source);
  static Gpt2Config fromFile(const std::filesystem::path &configJson);
};

// T5 v1.0 (ReLU FFN, LM head tied to the shared embeddings with d_model^-0.5 rescaling) and v1.1
// (gated GELU, untied head), from config.json's names.
struct T5Config
{
  int vocabSize = 32128;
  int dModel = 512;
  int dKv = 64;
  int dFf = 2048;
  int numLayers = 6;
  int numDecoderLayers = 6;
  int numHeads = 8;
  int buckets = 32;
  int maxDistance = 128;
  double layerNormEps = 1e-6;
  double dropout = 0.1;
  bool gated = false; // feed_forward_proj "gated-gelu"/"gated-relu"
  std::string activation = "relu";
  bool tieEmbeddings = true;
  int padTokenId = 0, eosTokenId = 1, decoderStartTokenId = 0;
  nlohmann::json raw;

  static T5Config fromJson(const nlohmann::json &json, const std::string &source);
  static T5Config fromFile(const std::filesystem::path &configJson);
};

} // namespace tunebench
