#pragma once

#include "core/models/dropout.h"
#include "core/models/prefix.h"

#include <torch/nn/module.h>
#include <torch/types.h>

#include <functional>
#include <initializer_list>
#include <vector>

namespace tunebench {

// Activation checkpointing (Chen et al., 2016; Hugging Face's gradient_checkpointing): a
// checkpointed transformer layer keeps only its inputs for the backward pass, not the activations
// inside it, and computes its forward pass again when the gradient reaches it. The recomputation
// draws exactly what the forward pass drew: it runs on a copy of the run's generator as it was
// before the layer (the hash dropout's seeds, LoRA's dropout), in the same autocast and kernel
// mode, so gradients equal the plain step's.

// Which layers the forward passes on this thread checkpoint while the scope lasts: 0 none, k every
// k-th layer (0, k, 2k, …). Scopes nest.
class CheckpointScope
{
public:
  explicit CheckpointScope(int every);
  ~CheckpointScope();
  CheckpointScope(const CheckpointScope &) = delete;
  CheckpointScope &operator=(const CheckpointScope &) = delete;

private:
  int m_previous;
};

// Whether layer `index` runs checkpointed now: a scope asks for it, gradients are being recorded
// and the layer trains.
bool checkpointsLayer(int index, const torch::nn::Module &layer);

using LayerFunction = std::function<torch::Tensor(const std::vector<torch::Tensor> &)>;

// layer(inputs) without its activations kept. `parameters`: the trainable tensors the layer reads
// that are not among `inputs` (gradients flow to inputs and parameters as if the layer had run
// plainly). Runs the layer plainly when nothing needs a gradient.
torch::Tensor checkpointed(const LayerFunction &layer, const std::vector<torch::Tensor> &inputs,
                           const std::vector<torch::Tensor> &parameters);

// A piece of a layer computed again in the backward pass instead of keeping the tensors inside it
// (checkpointed() at a finer grain, with the same draws): where the recomputation is cheap against
// what it saves. Runs plainly when no gradient is being recorded, or inside a checkpointed layer's
// recomputation (which keeps nothing past its own backward pass anyway).
torch::Tensor recomputedPiece(const LayerFunction &piece, const std::vector<torch::Tensor> &inputs,
                              const std::vector<torch::Tensor> &parameters);

// Whether a block of a layer (the attention from the layer's input, the feed-forward block from the
// attention norm's input) whose linear maps have these weights is computed again in the backward
// pass (recomputedPiece) instead of keeping the tensors inside it: when every weight is frozen (the
// maps' inputs are not needed for a weight gradient, so the block keeps its own input only) and
// the step runs in fp32. In bf16 the kept tensors are half the size and the recomputation costs
// more than it saves (BERT-base LoRA, batch 8, the feed-forward block: −55 MiB for +23% step
// time; in fp32 −129 MiB for +12%).
bool recomputesFrozen(std::initializer_list<torch::Tensor> weights);

// The trainable parameters a layer reads: its own and, with prefix tuning, the prefix's.
std::vector<torch::Tensor> layerParameters(const torch::nn::Module &layer, const PrefixSlot &prefix = {});
// The trainable parameters of several modules (a block's maps and norms, with their strategies').
std::vector<torch::Tensor> layerParameters(std::initializer_list<const torch::nn::Module *> modules);

// Layer `index` of an encoder stack (forward(x, additiveMask), a prefix slot), checkpointed when
// checkpointsLayer() says so, else run plainly.
template <typename Layer>
torch::Tensor runEncoderLayer(int index, Layer *layer, const torch::Tensor &x, const torch::Tensor &additive)
{
  if (!checkpointsLayer(index, *layer))
    return layer->forward(x, additive);
  return checkpointed([layer](const std::vector<torch::Tensor> &in) { return layer->forward(in[0], in[1]); },
                      {x, additive}, layerParameters(*layer, layer->prefix));
}

} // namespace tunebench
