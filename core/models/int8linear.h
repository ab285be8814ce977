#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>

namespace torch::nn {
class Module;
}

namespace tunebench {

// Dynamic int8 quantisation for inference: a linear map's weight quantised to int8 per output
// channel (symmetric), the activations to uint8 per tensor as they come, the product in int32 and
// the output in fp32 — LibTorch's quantized::linear_dynamic on its oneDNN engine (QNNPACK where
// oneDNN is missing). The fp32 weight stays where it is; only forward() changes.
class Int8Linear
{
public:
  // weight [out, in], bias [out] or undefined.
  Int8Linear(const torch::Tensor &weight, const torch::Tensor &bias);
  ~Int8Linear();
  torch::Tensor forward(const torch::Tensor &x) const;
  std::int64_t bytes() const; // int8 weights, per-channel scales, fp32 bias

private:
  struct Impl;
  std::unique_ptr<Impl> d;
};

// Per output channel: int8 values [out, in] and their scales [out] (max |w| / 127, symmetric) — the
// scheme Int8Linear and the int8 ONNX export share.
std::pair<torch::Tensor, torch::Tensor> quantizePerChannel(const torch::Tensor &weight);

struct Int8Report
{
  int maps = 0;               // linear maps (and GPT-2 Conv1D maps) now computed in int8
  std::int64_t fp32Bytes = 0; // their weights in fp32
  std::int64_t int8Bytes = 0; // … and in int8 with scales
  std::string engine;         // onednn or qnnpack
};

// Every linear map of the model computes in int8 from here on (for inference: no gradients flow
// through int8 maps). Error when LibTorch has no quantized engine.
Int8Report quantizeLinearMaps(torch::nn::Module &model);

} // namespace tunebench
