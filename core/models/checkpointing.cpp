#include "core/models/checkpointing.h"

#include "core/runtime/generator.h"
#include "core/runtime/kernels.h"

#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/saved_variable.h>
#include <torch/torch.h>

#include <mutex>

namespace tunebench {

namespace {

thread_local int t_every = 0;
thread_local bool t_recomputing = false; // a checkpointed layer's forward pass runs again

class RecomputingScope
{
public:
  RecomputingScope()
    : m_was(t_recomputing)
  {
    t_recomputing = true;
  }
  ~RecomputingScope() { t_recomputing = m_was; }
  RecomputingScope(const RecomputingScope &) = delete;
  RecomputingScope &operator=(const RecomputingScope &) = delete;

private:
  bool m_was;
};

// The autocast state of the forward pass, restored for the recomputation (the backward pass runs
// with autocast off); its cast cache is dropped at the end as AutocastScope drops it.
class AutocastState
{
public:
  AutocastState(bool on, at::ScalarType type)
    : m_was(at::autocast::is_cpu_enabled())
    , m_on(on)
  {
    if (!m_on)
      return;
    m_type = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(type);
    at::autocast::increment_nesting();
  }
  ~AutocastState()
  {
    if (!m_on)
      return;
    if (at::autocast::decrement_nesting() == 0)
      at::autocast::clear_cache();
    at::autocast::set_autocast_cpu_dtype(m_type);
    at::autocast::set_cpu_enabled(m_was);
  }
  AutocastState(const AutocastState &) = delete;
  AutocastState &operator=(const AutocastState &) = delete;

private:
  bool m_was, m_on;
  at::ScalarType m_type = at::kBFloat16;
};

at::Generator copyOf(at::Generator generator)
{
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.clone();
}

// The backward pass of a checkpointed layer: the forward pass again, with gradients, from the
// saved inputs; then the gradients of the inputs and parameters (the node's next edges, in that
// order).
class CheckpointBackward final : public torch::autograd::Node
{
public:
  std::string name() const override { return m_name; }

  torch::autograd::variable_list apply(torch::autograd::variable_list &&grads) override
  {
    const std::size_t count = m_inputs.size() + m_parameters.size();
    torch::autograd::variable_list out(count);
    if (grads.empty() || !grads[0].defined()) {
      release_variables();
      return out;
    }
    std::vector<torch::Tensor> inputs, wrt;
    std::vector<std::size_t> slots;
    for (std::size_t i = 0; i < m_inputs.size(); ++i) {
      torch::Tensor saved = m_inputs[i].unpack();
      inputs.push_back(saved.defined() ? saved.detach().requires_grad_(m_needsGrad[i]) : saved);
      if (m_needsGrad[i]) {
        wrt.push_back(inputs.back());
        slots.push_back(i);
      }
    }
    for (std::size_t i = 0; i < m_parameters.size(); ++i) {
      wrt.push_back(m_parameters[i]);
      slots.push_back(m_inputs.size() + i);
    }
    torch::Tensor output;
    {
      GeneratorScope generator(copyOf(m_generator));
      KernelScope kernels(m_aten);
      AutocastState autocast(m_autocast, m_autocastType);
      RecomputingScope recomputing;
      torch::AutoGradMode grad(true);
      output = m_layer(inputs);
    }
    const torch::autograd::variable_list g =
        torch::autograd::grad({output}, wrt, {grads[0]}, /*retain_graph=*/false, /*create_graph=*/false,
                              /*allow_unused=*/true);
    for (std::size_t j = 0; j < g.size(); ++j)
      out[slots[j]] = g[j];
    release_variables();
    return out;
  }

  void release_variables() override
  {
    for (auto &v : m_inputs)
      v.reset_data();
    m_parameters.clear();
    m_layer = nullptr;
  }

  std::string m_name; // CheckpointBackward (a layer) or RecomputedPieceBackward
  LayerFunction m_layer;
  std::vector<torch::autograd::SavedVariable> m_inputs;
  std::vector<bool> m_needsGrad;
  std::vector<torch::Tensor> m_parameters;
  at::Generator m_generator;
  bool m_aten = false;
  bool m_autocast = false;
  at::ScalarType m_autocastType = at::kBFloat16;
};

} // namespace

CheckpointScope::CheckpointScope(int every)
  : m_previous(t_every)
{
  t_every = every;
}

CheckpointScope::~CheckpointScope()
{
  t_every = m_previous;
}

bool checkpointsLayer(int index, const torch::nn::Module &layer)
{
  return t_every > 0 && index % t_every == 0 && layer.is_training() && torch::GradMode::is_enabled();
}

std::vector<torch::Tensor> layerParameters(const torch::nn::Module &layer, const PrefixSlot &prefix)
{
  std::vector<torch::Tensor> out;
  for (const torch::Tensor &p : layer.parameters())
    if (p.requires_grad())
      out.push_back(p);
  if (prefix)
    if (const auto *m = dynamic_cast<const torch::nn::Module *>(prefix.source.get()))
      for (const torch::Tensor &p : m->parameters())
        if (p.requires_grad())
          out.push_back(p);
  return out;
}

std::vector<torch::Tensor> layerParameters(std::initializer_list<const torch::nn::Module *> modules)
{
  std::vector<torch::Tensor> out;
  for (const torch::nn::Module *m : modules)
    for (const torch::Tensor &p : layerParameters(*m))
      out.push_back(p);
  return out;
}

namespace {

torch::Tensor recomputedInBackward(const char *name, const LayerFunction &layer,
                                   const std::vector<torch::Tensor> &inputs,
                                   const std::vector<torch::Tensor> &parameters)
{
  bool anyGrad = !parameters.empty();
  for (const torch::Tensor &t : inputs)
    anyGrad = anyGrad || (t.defined() && t.requires_grad());
  if (!anyGrad)
    return layer(inputs);
  auto node = std::shared_ptr<CheckpointBackward>(new CheckpointBackward(), torch::autograd::deleteNode);
  node->m_name = name;
  node->m_generator = copyOf(currentGenerator());
  node->m_aten = atenKernels();
  node->m_autocast = at::autocast::is_cpu_enabled();
  node->m_autocastType = at::autocast::get_autocast_cpu_dtype();
  torch::Tensor output;
  {
    torch::NoGradGuard noGrad;
    output = layer(inputs);
  }
  std::vector<torch::Tensor> edges;
  for (const torch::Tensor &t : inputs) {
    node->m_needsGrad.push_back(t.defined() && t.requires_grad());
    node->m_inputs.emplace_back(t, /*is_output=*/false);
    edges.push_back(t);
  }
  for (const torch::Tensor &p : parameters)
    edges.push_back(p);
  node->m_parameters = parameters;
  node->m_layer = layer;
  node->set_next_edges(torch::autograd::collect_next_edges(edges));
  torch::autograd::create_gradient_edge(output, node);
  return output;
}

} // namespace

torch::Tensor checkpointed(const LayerFunction &layer, const std::vector<torch::Tensor> &inputs,
                           const std::vector<torch::Tensor> &parameters)
{
  return recomputedInBackward("CheckpointBackward", layer, inputs, parameters);
}

torch::Tensor recomputedPiece(const LayerFunction &piece, const std::vector<torch::Tensor> &inputs,
                              const std::vector<torch::Tensor> &parameters)
{
  if (t_recomputing || !torch::GradMode::is_enabled())
    return piece(inputs);
  return recomputedInBackward("RecomputedPieceBackward", piece, inputs, parameters);
}

bool recomputesFrozen(std::initializer_list<torch::Tensor> weights)
{
  for (const torch::Tensor &w : weights)
    if (w.requires_grad())
      return false;
  return !at::autocast::is_cpu_enabled();
}

} // namespace tunebench
