#include "core/models/bf16linear.h"

#include "core/runtime/dnnlmatmul.h"
#include "core/runtime/kernels.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <c10/util/intrusive_ptr.h>
#include <torch/autograd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>

namespace tunebench {

namespace {

// The shadows of parameters used together (query, key and value) are consecutive slices of one
// buffer, so that their product reads them as one matrix.
struct Group
{
  at::Tensor buffer; // bf16, 1-D
  std::vector<const c10::TensorImpl *> members;
};

struct Slot
{
  c10::weak_intrusive_ptr<c10::TensorImpl> owner{c10::intrusive_ptr<c10::TensorImpl>()};
  std::shared_ptr<Group> group;
  at::Tensor view;            // the parameter's slice of the group's buffer, flat
  std::uint32_t version = 0;  // the parameter's version when the slice was written
  const void *data = nullptr; // and its storage then
};

struct Shadows
{
  std::mutex mutex;
  std::unordered_map<const c10::TensorImpl *, Slot> slots;
};

Shadows &shadows()
{
  static Shadows s;
  return s;
}

bool current(const Slot &slot, const at::Tensor &p)
{
  return !slot.owner.expired() && slot.version == p._version() && slot.data == p.data_ptr() &&
         slot.view.numel() == p.numel();
}

// Drops the copies of parameters that no longer exist (a model freed): done whenever copies are
// made for new parameters, so that at most the last freed model's copies wait for the next model.
void sweep(Shadows &s)
{
  for (auto it = s.slots.begin(); it != s.slots.end();)
    it = it->second.owner.expired() ? s.slots.erase(it) : std::next(it);
}

// The stacked bf16 shadow of `parts` (fp32, contiguous, equal trailing sizes): [Σ size(0), ...].
at::Tensor stackedShadow(const std::vector<at::Tensor> &parts)
{
  Shadows &s = shadows();
  std::lock_guard<std::mutex> lock(s.mutex);
  std::vector<const c10::TensorImpl *> impls;
  for (const auto &p : parts)
    impls.push_back(p.unsafeGetTensorImpl());
  std::shared_ptr<Group> group;
  if (auto found = s.slots.find(impls[0]); found != s.slots.end() && found->second.group->members == impls)
    group = found->second.group;
  for (const auto *impl : impls) { // every part still in that group, alive
    const auto found = s.slots.find(impl);
    if (!group || found == s.slots.end() || found->second.group != group || found->second.owner.expired())
      group.reset();
  }
  if (!group) {
    sweep(s);
    std::int64_t total = 0;
    for (const auto &p : parts)
      total += p.numel();
    group = std::make_shared<Group>();
    group->buffer = at::empty({total}, parts[0].options().dtype(at::kBFloat16).requires_grad(false));
    group->members = impls;
    std::int64_t offset = 0;
    for (const auto &p : parts) {
      Slot slot;
      slot.owner = c10::weak_intrusive_ptr<c10::TensorImpl>(p.getIntrusivePtr());
      slot.group = group;
      slot.view = group->buffer.narrow(0, offset, p.numel());
      slot.version = p._version() + 1; // never current: written below
      offset += p.numel();
      s.slots[p.unsafeGetTensorImpl()] = std::move(slot);
    }
  }
  for (const auto &p : parts) {
    Slot &slot = s.slots[p.unsafeGetTensorImpl()];
    if (current(slot, p))
      continue;
    slot.view.copy_(p.detach().reshape({-1}));
    slot.version = p._version();
    slot.data = p.data_ptr();
  }
  std::vector<std::int64_t> shape = parts[0].sizes().vec();
  shape[0] = 0;
  for (const auto &p : parts)
    shape[0] += p.size(0);
  return group->buffer.view(shape);
}

using Optional = c10::optional<at::Tensor>;

// The autograd node: x, up to three weights and their biases (arguments 1–3 and 4–6, absent where
// unused), and whether the weights are stored [in, out] (GPT-2's Conv1D; then one weight). Its graph
// edges are those of the present tensors, in order: x, the weights, the biases.
struct Bf16LinearFunction : public torch::autograd::Function<Bf16LinearFunction>
{
  static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &x, const Optional &w0,
                            const Optional &w1, const Optional &w2, const Optional &b0, const Optional &b1,
                            const Optional &b2, bool inputMajor)
  {
    c10::impl::ExcludeDispatchKeyGuard noAutocast(c10::DispatchKey::AutocastCPU);
    std::vector<at::Tensor> weights, biases;
    for (const Optional *w : {&w0, &w1, &w2})
      if (w->has_value())
        weights.push_back(**w);
    for (const Optional *b : {&b0, &b1, &b2})
      if (b->has_value())
        biases.push_back(**b);
    const at::Tensor w16 = stackedShadow(weights);
    const std::int64_t in = w16.size(inputMajor ? 0 : 1), out = w16.size(inputMajor ? 1 : 0);
    const at::Tensor x2 = x.reshape({-1, in}).to(at::kBFloat16);
    at::Tensor y = at::empty({x2.size(0), out}, x2.options());
    matmulBf16(x2, inputMajor ? w16 : w16.t(), biases.empty() ? at::Tensor() : stackedShadow(biases), y);
    // The input only where a weight gradient needs it: a frozen map (LoRA's, prefix tuning's
    // base weights) passes gradients on with the weight alone.
    bool weightGradient = false;
    for (const auto &w : weights)
      weightGradient = weightGradient || w.requires_grad();
    ctx->save_for_backward({weightGradient ? x2 : at::Tensor(), w16});
    ctx->saved_data["x_dtype"] = static_cast<std::int64_t>(x.scalar_type());
    std::vector<std::int64_t> rows; // each map's outputs
    for (const auto &w : weights)
      rows.push_back(w.size(inputMajor ? 1 : 0));
    ctx->saved_data["rows"] = rows;
    ctx->saved_data["biases"] = !biases.empty();
    ctx->saved_data["input_major"] = inputMajor;
    ctx->saved_data["x_shape"] = x.sizes().vec();
    std::vector<std::int64_t> shape = x.sizes().vec();
    shape.back() = out;
    return y.view(shape);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                 torch::autograd::variable_list grads)
  {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x2 = saved[0], &w16 = saved[1];
    const std::vector<std::int64_t> rows = ctx->saved_data["rows"].toIntVector();
    const bool withBiases = ctx->saved_data["biases"].toBool(),
               inputMajor = ctx->saved_data["input_major"].toBool();
    const std::int64_t in = w16.size(inputMajor ? 0 : 1), out = w16.size(inputMajor ? 1 : 0);
    const std::int64_t parts = static_cast<std::int64_t>(rows.size());
    // Graph edges: x, then the weights, then the biases; results: by argument position.
    auto weightNeeded = [&](std::int64_t i) {
      return ctx->needs_input_grad(static_cast<std::size_t>(1 + i));
    };
    auto biasNeeded = [&](std::int64_t i) {
      return withBiases && ctx->needs_input_grad(static_cast<std::size_t>(1 + parts + i));
    };
    const at::Tensor dy = grads[0].reshape({-1, out}).to(at::kBFloat16);
    torch::autograd::variable_list result(8); // one per argument
    if (ctx->needs_input_grad(0)) {
      at::Tensor dx = at::empty({dy.size(0), in}, dy.options());
      matmulBf16(dy, inputMajor ? w16.t() : w16, at::Tensor(), dx);
      result[0] = dx.view(ctx->saved_data["x_shape"].toIntVector())
                      .to(static_cast<at::ScalarType>(ctx->saved_data["x_dtype"].toInt()));
    }
    bool weightGrads = false, biasGrads = false;
    for (std::int64_t i = 0; i < parts; ++i) {
      weightGrads = weightGrads || weightNeeded(i);
      biasGrads = biasGrads || biasNeeded(i);
    }
    if (weightGrads) {
      at::Tensor dw = at::empty(w16.sizes(), dy.options().dtype(at::kFloat));
      if (inputMajor)
        matmulBf16(x2.t(), dy, at::Tensor(), dw);
      else
        matmulBf16(dy.t(), x2, at::Tensor(), dw);
      std::int64_t offset = 0; // each map's outputs: rows of dw, or its columns stored [in, out]
      for (std::int64_t i = 0; i < parts; ++i) {
        if (weightNeeded(i))
          result[1 + i] = dw.narrow(inputMajor ? 1 : 0, offset, rows[i]);
        offset += rows[i];
      }
    }
    if (biasGrads) {
      const at::Tensor db = at::sum(dy, {0}, false, at::kFloat);
      std::int64_t offset = 0;
      for (std::int64_t i = 0; i < parts; ++i) {
        if (biasNeeded(i))
          result[4 + i] = db.narrow(0, offset, rows[i]);
        offset += rows[i];
      }
    }
    return result;
  }
};

} // namespace

bool bf16AutocastActive()
{
  return at::autocast::is_cpu_enabled() && at::autocast::get_autocast_cpu_dtype() == at::kBFloat16;
}

namespace {
// A precondition of the caller (a bug when it fails). Not TORCH_CHECK: that embeds the source
// file's path in the binary.
void requireArguments(bool ok, const char *what)
{
  if (!ok)
    throw std::invalid_argument(what);
}
} // namespace

at::Tensor bf16Linear(const at::Tensor &x, const std::vector<at::Tensor> &weights,
                      const std::vector<at::Tensor> &biases, bool weightsInputMajor)
{
  std::vector<at::Tensor> present; // undefined biases: none
  for (const auto &b : biases)
    if (b.defined())
      present.push_back(b);
  requireArguments(!weights.empty() && weights.size() <= 3 &&
                       (present.empty() || present.size() == weights.size()),
                   "bf16Linear: one to three weights, with a bias each or none");
  requireArguments(!weightsInputMajor || weights.size() == 1, "bf16Linear: one weight stored [in, out]");
  auto nth = [](const std::vector<at::Tensor> &v, std::size_t i) {
    return i < v.size() ? Optional(v[i]) : Optional();
  };
  return Bf16LinearFunction::apply(x, nth(weights, 0), nth(weights, 1), nth(weights, 2), nth(present, 0),
                                   nth(present, 1), nth(present, 2), weightsInputMajor);
}

bool bf16LinearApplies(const at::Tensor &weight, const at::Tensor &bias, const at::Tensor &x)
{
  return bf16ShadowsEnabled() && !atenKernels() && bf16AutocastActive() && x.device().is_cpu() &&
         weight.scalar_type() == at::kFloat && weight.is_contiguous() &&
         (!bias.defined() || bias.scalar_type() == at::kFloat);
}

std::uint16_t *currentBf16Shadow(const at::Tensor &parameter)
{
  Shadows &s = shadows();
  std::lock_guard<std::mutex> lock(s.mutex);
  const auto found = s.slots.find(parameter.unsafeGetTensorImpl());
  if (found == s.slots.end() || !current(found->second, parameter))
    return nullptr;
  return reinterpret_cast<std::uint16_t *>(found->second.view.data_ptr());
}

void parameterWritten(const at::Tensor &parameter, bool shadowWritten)
{
  parameter.unsafeGetTensorImpl()->bump_version();
  if (!shadowWritten)
    return;
  Shadows &s = shadows();
  std::lock_guard<std::mutex> lock(s.mutex);
  const auto found = s.slots.find(parameter.unsafeGetTensorImpl());
  if (found == s.slots.end())
    return;
  found->second.version = parameter._version();
  // Anything that saved the shadow for a backward pass now sees it changed.
  found->second.group->buffer.unsafeGetTensorImpl()->bump_version();
}

std::int64_t bf16ShadowBytes()
{
  Shadows &s = shadows();
  std::lock_guard<std::mutex> lock(s.mutex);
  std::int64_t bytes = 0;
  std::vector<const Group *> seen;
  for (const auto &[impl, slot] : s.slots)
    if (!slot.owner.expired() && std::find(seen.begin(), seen.end(), slot.group.get()) == seen.end()) {
      seen.push_back(slot.group.get());
      bytes += slot.group->buffer.numel() * 2;
    }
  return bytes;
}

void releaseBf16Shadows()
{
  Shadows &s = shadows();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.slots.clear();
}

void releaseBf16Shadows(const std::vector<at::Tensor> &parameters)
{
  Shadows &s = shadows();
  std::lock_guard<std::mutex> lock(s.mutex);
  for (const at::Tensor &p : parameters)
    s.slots.erase(p.unsafeGetTensorImpl());
  sweep(s);
}

Bf16ShadowOwner &Bf16ShadowOwner::operator=(Bf16ShadowOwner &&other) noexcept
{
  if (this != &other) {
    releaseBf16Shadows(m_parameters);
    m_parameters = std::move(other.m_parameters);
    other.m_parameters.clear();
  }
  return *this;
}

Bf16ShadowOwner::~Bf16ShadowOwner()
{
  if (!m_parameters.empty())
    releaseBf16Shadows(m_parameters);
}

} // namespace tunebench
