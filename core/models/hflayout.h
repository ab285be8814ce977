#pragma once

#include "core/models/safetensors.h"
#include "core/models/taskmodel.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace tunebench {

// Where a task model's tensors go in a Hugging Face folder, and back. A single head whose
// computation a Hugging Face class reproduces gets that class's layout (reference = true):
//   sequence heads  BertForSequenceClassification (classifier on the pooler),
//                   RobertaForSequenceClassification (classifier.dense, classifier.out_proj),
//                   DistilBertForSequenceClassification (pre_classifier, classifier),
//                   GPT2ForSequenceClassification (score, bias-free, on the last real token);
//   taggers         {Bert,Roberta,DistilBert,GPT2,T5}ForTokenClassification (classifier; BERT's
//                   pooler left out as the class has none).
// Everything else — USE-Lite, T5 mean-pooled sequence heads, first/mean pooling on an encoder,
// multi-task models — gets tunebench's own layout (reference = false): the backbone under the
// family's Hugging Face names, each head under "tunebench_head.<name>.", and config.json's
// "tunebench_heads" describing them (architectures names the base model class).
struct HfLayout
{
  std::string architecture;
  bool reference = true;
  std::string why;                  // own layout: why no Hugging Face class fits
  std::string backbonePrefix;       // put before the backbone's own key names ("bert.", "transformer.", ...)
  std::vector<std::string> dropped; // backbone key prefixes an export leaves out (a pooler, T5's decoder)
  // Per head: its parameter names (within the head: "linear.weight") → the folder's key.
  struct Head
  {
    HeadSpec spec;
    std::vector<std::pair<std::string, std::string>> keys;
  };
  std::vector<Head> heads;

  // The model's tensors under the folder's names (strategy tensors — lora_*, ia3_l, prompt and
  // prefix encoders, adapters — are not the layout's and must be merged or left out by the caller).
  TensorMap toFolder(const TensorMap &taskModel) const;
  // One task-model name (a strategy's tensors on the backbone included) under the folder's names;
  // empty when the layout leaves it out (a pooler the class has none of, T5's decoder). Error for a
  // head tensor the layout has no place for.
  std::string folderName(const std::string &name) const;
  // config.json: `base` (the model folder's own, or {} for USE-Lite) with the architecture,
  // labels, problem type and, for own layouts, the heads' description.
  nlohmann::json config(nlohmann::json base, const std::vector<std::string> &labels) const;
};

// heads: the task model's heads, styles resolved (TaskHead::spec()).
HfLayout hfLayoutFor(const std::string &family, const std::vector<HeadSpec> &heads);

// Reading a folder back: the heads config.json describes (a *For{Sequence,Token}Classification
// architecture, or tunebench's own "tunebench_heads"), with the layout to read them by; empty when
// it describes none.
struct FolderHeads
{
  std::vector<HeadSpec> heads;
  std::vector<std::string> labels; // id2label, in id order
};
FolderHeads headsInFolder(const nlohmann::json &config, const std::string &family, const std::string &source);

// Loads the model's heads from a model folder whose config.json describes heads of the same name,
// kind, width and style (an export, or a Hugging Face classifier fine-tuned elsewhere); heads the
// folder does not hold keep their initialisation. Returns what it did, for the load report.
// `checkpoint`: the folder's weights (readCheckpoint).
std::string loadFolderHeads(TaskModelImpl &model, const std::filesystem::path &folder,
                            const TensorMap &checkpoint);

// Tensors a fine-tuning strategy adds (lora_A/B, ia3_l, adapters, prompt and prefix encoders).
bool isStrategyTensor(const std::string &name);

} // namespace tunebench
