#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tunebench {

// An ONNX graph written through ONNX's own protobuf classes (Debian's libonnx-dev), one node at a
// time: every helper adds the node(s) and returns the name of the output. Weights become float32
// initializers; names are made unique. The model is opset 17 (LayerNormalization), IR version 8.
class OnnxGraph
{
public:
  OnnxGraph();
  ~OnnxGraph();
  OnnxGraph(const OnnxGraph &) = delete;
  OnnxGraph &operator=(const OnnxGraph &) = delete;

  // Graph inputs/outputs with symbolic dimensions ("batch", "sequence") or fixed ones (> 0).
  struct Dim
  {
    std::string symbol; // empty: `size`
    std::int64_t size = 0;
  };
  void input(const std::string &name, bool int64, const std::vector<Dim> &dims);
  void output(const std::string &name, const std::vector<Dim> &dims);

  std::string weight(const std::string &name, const torch::Tensor &t); // float32 or int64 initializer
  std::string ints(const std::vector<std::int64_t> &values);           // an int64 constant
  std::string scalar(float value);                                     // a float32 scalar constant
  std::string scalarInt(std::int64_t value);                           // an int64 scalar constant

  struct Attribute
  {
    std::string name;
    enum Kind { Int, Ints, Float } kind = Int;
    std::int64_t i = 0;
    std::vector<std::int64_t> is;
    float f = 0;
  };
  static Attribute attr(const std::string &name, std::int64_t value);
  static Attribute attrs(const std::string &name, std::vector<std::int64_t> values);
  static Attribute attrf(const std::string &name, float value);
  std::string op(const std::string &type, const std::vector<std::string> &inputs,
                 const std::vector<Attribute> &attributes = {}, const std::string &output = {});

  // x·Wᵀ + b for a torch Linear's weight [out, in] (transposed: true for GPT-2's Conv1D [in, out]).
  std::string linear(const std::string &x, const torch::Tensor &weight, const torch::Tensor &bias,
                     bool inOut = false);
  std::string layerNorm(const std::string &x, const torch::Tensor &weight, const torch::Tensor &bias,
                        double eps);
  std::string gelu(const std::string &x, bool tanhApproximation);

  // The serialized ModelProto (the graph is moved into it: call once, last).
  std::string serialize(const std::string &producer);

private:
  std::string fresh(const std::string &stem);
  struct Impl;
  std::unique_ptr<Impl> d;
};

} // namespace tunebench
