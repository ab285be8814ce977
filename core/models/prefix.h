#pragma once

#include <torch/types.h>

#include <memory>
#include <utility>

namespace tunebench {

// Prefix tuning's key/value prefixes (Li & Liang, 2021): for every attention layer, P trainable
// keys and values that the layer prepends to its own; every query may attend to them.
class KeyValuePrefix
{
public:
  virtual ~KeyValuePrefix() = default;
  virtual int length() const = 0;
  // Layer `layer`'s prefix keys and values, each [P, width].
  virtual std::pair<torch::Tensor, torch::Tensor> keyValue(int layer) = 0;
};

// Prompt tuning's soft prompt (Lester et al., 2021): P trainable vectors in front of the input
// embeddings; masks widen to match and the model's outputs keep only the real positions.
class SoftPrompt
{
public:
  virtual ~SoftPrompt() = default;
  virtual torch::Tensor embeddings() = 0; // [P, width]
};

// Where an attention layer finds its prefix (unset: none).
struct PrefixSlot
{
  std::shared_ptr<KeyValuePrefix> source;
  int layer = -1;
  explicit operator bool() const { return static_cast<bool>(source); }
};

// When the slot is set: its layer's prefix in front of keys and values [B, heads, T, d], and the
// additive mask widened to match. Does nothing otherwise.
void applyPrefix(const PrefixSlot &slot, torch::Tensor &keys, torch::Tensor &values, torch::Tensor &additiveMask);

// keys/values [B, heads, T, d] with a [P, heads·d] prefix in front: [B, heads, P + T, d].
torch::Tensor prependPrefix(const torch::Tensor &prefix, const torch::Tensor &heads);
// An additive attention mask [..., T] widened to [..., P + T]: the prefix is always attended.
torch::Tensor maskWithPrefix(const torch::Tensor &additive, std::int64_t length);

} // namespace tunebench
