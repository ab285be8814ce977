#pragma once

#include "core/models/dropout.h"
#include "core/models/encoder.h"
#include "core/models/safetensors.h"

#include <torch/nn/module.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tunebench {

// What an encoder gives its task heads.
struct BackboneOutput
{
  torch::Tensor hidden; // [batch, time, hidden]
  torch::Tensor pooled; // [batch, hidden]: the family's own sentence vector
  torch::Tensor mask;   // [batch, time] 1 for real tokens (as seen by the backbone)
};

// A pre-trained network that turns token ids into vectors: BERT/RoBERTa/DistilBERT, USE-Lite, GPT-2
// or T5's encoder. Owns its torch module; heads sit on top.
class Backbone
{
public:
  virtual ~Backbone() = default;
  virtual std::string family() const = 0;
  virtual int hiddenSize() const = 0;
  virtual std::shared_ptr<torch::nn::Module> module() = 0;
  virtual BackboneOutput forward(const torch::Tensor &ids, const torch::Tensor &mask, const torch::Tensor &typeIds) = 0;

  // Caching frozen bottom layers (strategy.cache_frozen). How many layers from the bottom have,
  // with the embeddings, no trainable parameter: what may be computed once per example (0 where
  // the backbone cannot be split: GPT-2, T5, a soft prompt).
  virtual int frozenBottomLayers() { return 0; }
  // forward() in two parts: the embeddings and layers [0, k) → [batch, time', hidden], where
  // time' = cachedWidth(time) ≤ time; then layers [k, n) and the pooling, on hidden states of
  // that width and a mask [batch, time'] (right padding: 1 for the real positions).
  virtual std::int64_t cachedWidth(std::int64_t time) const { return time; }
  virtual torch::Tensor forwardBottom(int k, const torch::Tensor &ids, const torch::Tensor &mask, const torch::Tensor &typeIds);
  virtual BackboneOutput forwardTop(int k, const torch::Tensor &hidden, const torch::Tensor &mask);
};

// The number of bottom layers that are, with the embeddings, frozen (no parameter requires a
// gradient) — a helper for Backbone::frozenBottomLayers.
int countFrozenBottomLayers(torch::nn::Module &embeddings, torch::nn::ModuleList &layers);

// Loads the backbone of any supported model folder (its task heads, if any, are not loaded;
// loadReport says what was left out). `weights`: the folder's checkpoint when the caller has read it
// already (readCheckpoint), else it is read here. Throws tunebench::Error naming the folder.
std::unique_ptr<Backbone> loadBackbone(const std::filesystem::path &folder, std::string *loadReport = nullptr,
                                       const TensorMap *weights = nullptr);
// A randomly initialised backbone of the same architecture (for "does pre-training pay" runs).
std::unique_ptr<Backbone> randomBackbone(const std::filesystem::path &folder);

enum class HeadKind { Classification, MultiLabel, Regression, TokenClassification };
enum class Pooling { Native, First, Mean }; // Native: the backbone's pooled vector
// How a sequence head maps the pooled vector to its outputs. Each family's own Hugging Face head,
// so that an export carries the reference architecture:
//   Linear:    dropout → linear (BERT on its pooler, every tagger, USE-Lite, T5, other poolings)
//   DenseTanh: dropout → dense → tanh → dropout → linear (RobertaClassificationHead on <s>)
//   DenseRelu: dense → ReLU → dropout → linear (DistilBERT's pre_classifier + classifier on [CLS])
//   Score:     one bias-free linear map, no dropout (GPT2ForSequenceClassification's score on the
//              last real token)
// Auto picks the family's own when the pooling is native, else Linear.
enum class HeadStyle { Auto, Linear, DenseTanh, DenseRelu, Score };

struct HeadSpec
{
  std::string name = "classifier";
  HeadKind kind = HeadKind::Classification;
  int outputs = 2;        // classes, labels, tags, or regression targets
  Pooling pooling = Pooling::Native;
  double dropout = 0.1;
  HeadStyle style = HeadStyle::Auto;
};

// The style a head gets on a backbone of this family (HeadStyle::Auto resolved).
HeadStyle headStyleFor(const std::string &family, const HeadSpec &spec);

// A linear head (with dropout) on pooled vectors or on every token.
class TaskHeadImpl : public torch::nn::Module
{
public:
  TaskHeadImpl(const HeadSpec &spec, int hiddenSize);
  // [batch, outputs] for sequence heads, [batch, time, outputs] for token classification.
  torch::Tensor forward(const BackboneOutput &x);
  const HeadSpec &spec() const { return m_spec; }

  Linear dense{nullptr}; // DenseTanh, DenseRelu
  Linear linear{nullptr};

private:
  HeadSpec m_spec;
  Dropout m_dropout{nullptr};
};
TORCH_MODULE(TaskHead);

// One backbone and any number of named heads (multi-task learning shares the backbone). Module
// names: "backbone.*" and "heads.<name>.*".
class TaskModelImpl : public torch::nn::Module
{
public:
  explicit TaskModelImpl(std::unique_ptr<Backbone> backbone);
  TaskHead addHead(const HeadSpec &spec);
  BackboneOutput encode(const torch::Tensor &ids, const torch::Tensor &mask, const torch::Tensor &typeIds = {});
  torch::Tensor forward(const std::string &head, const torch::Tensor &ids, const torch::Tensor &mask,
                        const torch::Tensor &typeIds = {});
  // A head on an already computed backbone output (frozen-layer caching).
  torch::Tensor forward(const std::string &head, const BackboneOutput &encoded);
  TaskHead head(const std::string &name) const;
  // The heads' specs (styles resolved), in the order they were added.
  std::vector<HeadSpec> headSpecs() const;
  Backbone &backbone() { return *m_backbone; }

private:
  std::unique_ptr<Backbone> m_backbone;
  std::shared_ptr<torch::nn::Module> m_heads;
  std::map<std::string, TaskHead> m_byName;
  std::vector<std::string> m_order;
};
TORCH_MODULE(TaskModel);

} // namespace tunebench
