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
  // A node with several outputs (DynamicQuantizeLinear).
  std::vector<std::string> ops(const std::string &type, const std::vector<std::string> &inputs, int outputs);

  // int8: linear maps with int8 weights per output channel and uint8 activations quantised per
  // tensor as they come (DynamicQuantizeLinear → MatMulInteger → scales), embedding tables int8 per
  // row; the scheme of core/models/int8linear.h.
  void setInt8(bool on) { m_int8 = on; }
  bool int8() const { return m_int8; }
  // Rows of an embedding table for ids (int8 rows and scales when int8 is on); `value` receives the
  // table's fp32 value as a graph name (for a tied head).
  std::string embedding(const torch::Tensor &weight, const std::string &ids, std::string *value = nullptr);

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
  std::string int8Linear(const std::string &x, const torch::Tensor &weightOutIn, const torch::Tensor &bias);
  bool m_int8 = false;
  struct Impl;
  std::unique_ptr<Impl> d;
};

} // namespace tunebench
