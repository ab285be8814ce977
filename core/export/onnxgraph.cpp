#include "core/export/onnxgraph.h"

#include "core/models/int8linear.h"
#include "core/util/error.h"

#include <torch/torch.h>

#include <onnx/onnx_pb.h>

#include <cmath>

namespace tunebench {

struct OnnxGraph::Impl
{
  onnx::GraphProto graph;
  std::int64_t next = 0;
};

OnnxGraph::OnnxGraph()
  : d(std::make_unique<Impl>())
{
  d->graph.set_name("tunebench");
}
OnnxGraph::~OnnxGraph() = default;

std::string OnnxGraph::fresh(const std::string &stem)
{
  return stem + "_" + std::to_string(d->next++);
}

namespace {

void setShape(onnx::ValueInfoProto *info, int elementType, const std::vector<OnnxGraph::Dim> &dims)
{
  auto *tensor = info->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(elementType);
  for (const OnnxGraph::Dim &dim : dims) {
    auto *d = tensor->mutable_shape()->add_dim();
    if (dim.symbol.empty())
      d->set_dim_value(dim.size);
    else
      d->set_dim_param(dim.symbol);
  }
}

} // namespace

void OnnxGraph::input(const std::string &name, bool int64, const std::vector<Dim> &dims)
{
  auto *info = d->graph.add_input();
  info->set_name(name);
  setShape(info, int64 ? onnx::TensorProto::INT64 : onnx::TensorProto::FLOAT, dims);
}

void OnnxGraph::output(const std::string &name, const std::vector<Dim> &dims)
{
  auto *info = d->graph.add_output();
  info->set_name(name);
  setShape(info, onnx::TensorProto::FLOAT, dims);
}

std::string OnnxGraph::weight(const std::string &stem, const torch::Tensor &t)
{
  const bool kept = t.scalar_type() == torch::kLong || t.scalar_type() == torch::kChar;
  const torch::Tensor c = (kept ? t : t.detach().to(torch::kFloat32)).contiguous().cpu();
  auto *init = d->graph.add_initializer();
  const std::string name = fresh(stem);
  init->set_name(name);
  init->set_data_type(c.scalar_type() == torch::kLong   ? onnx::TensorProto::INT64
                      : c.scalar_type() == torch::kChar ? onnx::TensorProto::INT8
                                                        : onnx::TensorProto::FLOAT);
  for (std::int64_t s : c.sizes())
    init->add_dims(s);
  init->set_raw_data(std::string(static_cast<const char *>(c.data_ptr()), c.nbytes()));
  return name;
}

std::string OnnxGraph::ints(const std::vector<std::int64_t> &values)
{
  return weight("ints", torch::tensor(values, torch::kLong));
}

std::string OnnxGraph::scalar(float value)
{
  return weight("c", torch::tensor(value));
}
std::string OnnxGraph::scalarInt(std::int64_t value)
{
  return weight("i", torch::tensor(value, torch::kLong));
}

OnnxGraph::Attribute OnnxGraph::attr(const std::string &name, std::int64_t value)
{
  Attribute a;
  a.name = name;
  a.kind = Attribute::Int;
  a.i = value;
  return a;
}

OnnxGraph::Attribute OnnxGraph::attrs(const std::string &name, std::vector<std::int64_t> values)
{
  Attribute a;
  a.name = name;
  a.kind = Attribute::Ints;
  a.is = std::move(values);
  return a;
}

OnnxGraph::Attribute OnnxGraph::attrf(const std::string &name, float value)
{
  Attribute a;
  a.name = name;
  a.kind = Attribute::Float;
  a.f = value;
  return a;
}

std::string OnnxGraph::op(const std::string &type, const std::vector<std::string> &inputs,
                          const std::vector<Attribute> &attributes, const std::string &output)
{
  auto *node = d->graph.add_node();
  node->set_op_type(type);
  node->set_name(fresh(type));
  for (const std::string &in : inputs)
    node->add_input(in);
  const std::string out = output.empty() ? fresh(type + "_out") : output;
  node->add_output(out);
  for (const Attribute &a : attributes) {
    auto *p = node->add_attribute();
    p->set_name(a.name);
    switch (a.kind) {
    case Attribute::Int:
      p->set_type(onnx::AttributeProto::INT);
      p->set_i(a.i);
      break;
    case Attribute::Ints:
      p->set_type(onnx::AttributeProto::INTS);
      for (std::int64_t v : a.is)
        p->add_ints(v);
      break;
    case Attribute::Float:
      p->set_type(onnx::AttributeProto::FLOAT);
      p->set_f(a.f);
      break;
    }
  }
  return out;
}

std::vector<std::string> OnnxGraph::ops(const std::string &type, const std::vector<std::string> &inputs,
                                        int outputs)
{
  auto *node = d->graph.add_node();
  node->set_op_type(type);
  node->set_name(fresh(type));
  for (const std::string &in : inputs)
    node->add_input(in);
  std::vector<std::string> out;
  for (int i = 0; i < outputs; ++i) {
    out.push_back(fresh(type + "_out"));
    node->add_output(out.back());
  }
  return out;
}

std::string OnnxGraph::int8Linear(const std::string &x, const torch::Tensor &weightOutIn,
                                  const torch::Tensor &bias)
{
  const auto [values, scales] = quantizePerChannel(weightOutIn);
  const std::vector<std::string> q = ops("DynamicQuantizeLinear", {x}, 3); // uint8 x, its scale, zero point
  const std::string product = op("MatMulInteger", {q[0], weight("w_int8", values.t().contiguous()), q[2],
                                                   weight("w_zero", torch::zeros({}, torch::kInt8))});
  const std::string y =
      op("Mul", {op("Cast", {product}, {attr("to", 1)}), op("Mul", {q[1], weight("w_scale", scales)})});
  return bias.defined() ? op("Add", {y, weight("b", bias)}) : y;
}

std::string OnnxGraph::embedding(const torch::Tensor &table, const std::string &ids, std::string *value)
{
  if (!m_int8) {
    const std::string t = weight("embedding", table);
    if (value)
      *value = t;
    return op("Gather", {t, ids});
  }
  const auto [values, scales] = quantizePerChannel(table); // per row
  const std::string rows = weight("embedding_int8", values), rowScales = weight("embedding_scale", scales);
  if (value)
    *value = op("Mul", {op("Cast", {rows}, {attr("to", 1)}), op("Unsqueeze", {rowScales, ints({1})})});
  const std::string gathered = op("Cast", {op("Gather", {rows, ids})}, {attr("to", 1)});
  return op("Mul", {gathered, op("Unsqueeze", {op("Gather", {rowScales, ids}), ints({-1})})});
}

std::string OnnxGraph::linear(const std::string &x, const torch::Tensor &weight, const torch::Tensor &bias,
                              bool inOut)
{
  if (m_int8)
    return int8Linear(x, inOut ? weight.t() : weight, bias);
  const std::string y = op("MatMul", {x, this->weight("w", inOut ? weight : weight.t())});
  return bias.defined() ? op("Add", {y, this->weight("b", bias)}) : y;
}

std::string OnnxGraph::layerNorm(const std::string &x, const torch::Tensor &weight, const torch::Tensor &bias,
                                 double eps)
{
  return op("LayerNormalization", {x, this->weight("ln_w", weight), this->weight("ln_b", bias)},
            {attr("axis", -1), attrf("epsilon", static_cast<float>(eps))});
}

std::string OnnxGraph::gelu(const std::string &x, bool tanhApproximation)
{
  const std::string half = op("Mul", {x, scalar(0.5f)});
  std::string inner;
  if (tanhApproximation) { // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    const std::string cube = op("Mul", {op("Mul", {x, x}), x});
    const std::string sum = op("Add", {x, op("Mul", {cube, scalar(0.044715f)})});
    inner = op("Tanh", {op("Mul", {sum, scalar(static_cast<float>(std::sqrt(2.0 / M_PI)))})});
  } else { // 0.5·x·(1 + erf(x / √2))
    inner = op("Erf", {op("Mul", {x, scalar(static_cast<float>(1.0 / std::sqrt(2.0)))})});
  }
  return op("Mul", {half, op("Add", {inner, scalar(1.0f)})});
}

std::string OnnxGraph::serialize(const std::string &producer)
{
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name(producer);
  auto *opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(17);
  model.mutable_graph()->Swap(&d->graph);
  std::string out;
  if (!model.SerializeToString(&out))
    throw Error("the ONNX model could not be serialized (over 2 GB?)");
  return out;
}

} // namespace tunebench
