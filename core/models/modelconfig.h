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

} // namespace tunebench
