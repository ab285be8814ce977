#pragma once

#include "core/models/estimate.h"

#include <torch/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace tunebench {

class Tokenizer;
struct EncoderConfig;

// What a model folder holds, read without loading the weights into a model: a Hugging Face folder
// (config.json + weights + tokenizer files) or the USE-Lite TF.js folder.
struct ModelFolderInfo
{
  std::string family;                    // bert, roberta, distilbert, gpt2, use-lite
  std::vector<std::string> architectures; // config.json "architectures" (the heads it was saved with)
  TransformerShape shape;
  std::string weightsFile;
  std::int64_t checkpointNumbers = 0;    // numbers stored in the weight files
  std::string tokenizerFamily;
  int tokenizerVocabulary = 0;
  std::vector<std::string> labels;
};

// Throws tunebench::Error naming the folder and what is missing or unknown.
ModelFolderInfo inspectModelFolder(const std::filesystem::path &folder);

// The shape of a BERT, RoBERTa or DistilBERT config (BERT's has a pooler).
TransformerShape encoderShape(const EncoderConfig &config);

// Sentence embeddings from any supported model folder: encoders give their pooled output (BERT's
// pooler, the first token for RoBERTa/DistilBERT), GPT-2 the mean of its last hidden states,
// USE-Lite its sentence embedding.
class TextEmbedder
{
public:
  virtual ~TextEmbedder() = default;
  static std::unique_ptr<TextEmbedder> load(const std::filesystem::path &folder);
  // [texts, dimension], float32, in inference mode.
  virtual torch::Tensor embed(const std::vector<std::string> &texts) = 0;
};

} // namespace tunebench
