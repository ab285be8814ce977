#include "core/train/fusedadam.h"

#include "core/models/bf16linear.h"

#include <ATen/Parallel.h>
#include <c10/util/string_utils.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdint>

namespace tunebench {

namespace {

struct Coefficients
{
  float decayFactor;  // AdamW: w ← w · (1 − lr · λ) before the update
  float l2;           // Adam: g ← g + λ · w
  float beta1, oneMinusBeta1, beta2, oneMinusBeta2;
  float rootCorrection2; // √(1 − β₂ᵗ)
  float eps;
  float stepSize; // lr / (1 − β₁ᵗ)
};

// The same arithmetic as LibTorch's sequence (mul_, add_, mul_, addcmul_, sqrt, div, add_, addcdiv_)
// element by element, so the results agree to float rounding. With a shadow, each new weight's bf16
// copy (rounded to nearest-even like LibTorch's cast) is written too, for the linear maps that
// compute from it (core/models/bf16linear.h): the cast is folded into the pass that already reads
// and writes the weight.
template <bool WithShadow>
inline __attribute__((always_inline)) void adamBody(float *__restrict w, const float *__restrict g, float *__restrict m,
                                                  float *__restrict v, std::uint16_t *__restrict shadow,
                                                  std::int64_t n, const Coefficients &coefficients)
{
  const Coefficients c = coefficients;
  for (std::int64_t i = 0; i < n; ++i) {
    float weight = w[i] * c.decayFactor;
    const float grad = g[i] + c.l2 * weight;
    const float mean = m[i] * c.beta1 + c.oneMinusBeta1 * grad;
    const float square = v[i] * c.beta2 + c.oneMinusBeta2 * (grad * grad);
    const float denom = __builtin_sqrtf(square) / c.rootCorrection2 + c.eps;
    weight = weight - c.stepSize * (mean / denom);
    m[i] = mean;
    v[i] = square;
    w[i] = weight;
    if constexpr (WithShadow) {
      const std::uint32_t bits = __builtin_bit_cast(std::uint32_t, weight);
      const std::uint32_t rounded = (bits + 0x7fffU + ((bits >> 16) & 1U)) >> 16;
      const std::uint32_t nan = 0U - static_cast<std::uint32_t>((bits & 0x7fffffffU) > 0x7f800000U);
      shadow[i] = static_cast<std::uint16_t>((rounded & ~nan) | (0x7fc0U & nan));
    }
  }
}

__attribute__((noinline, target_clones("avx512f", "avx2", "default"))) void
adamChunk(float *w, const float *g, float *m, float *v, std::int64_t n, const Coefficients &c)
{
  adamBody<false>(w, g, m, v, nullptr, n, c);
}

__attribute__((noinline, target_clones("avx512f", "avx2", "default"))) void
adamShadowChunk(float *w, const float *g, float *m, float *v, std::uint16_t *shadow, std::int64_t n,
                const Coefficients &c)
{
  adamBody<true>(w, g, m, v, shadow, n, c);
}

bool fusable(const torch::Tensor &p)
{
  return p.device().is_cpu() && p.scalar_type() == torch::kFloat && p.is_contiguous() && !p.grad().is_sparse() &&
         p.grad().scalar_type() == torch::kFloat;
}

template <typename Options> bool canFuse(const std::vector<torch::optim::OptimizerParamGroup> &groups)
{
  for (const auto &group : groups) {
    if (static_cast<const Options &>(group.options()).amsgrad())
      return false;
    for (const auto &p : group.params())
      if (p.grad().defined() && !fusable(p))
        return false;
  }
  return true;
}

template <typename Options, typename State, typename StateMap>
void fusedStep(std::vector<torch::optim::OptimizerParamGroup> &groups, StateMap &states, bool decoupled)
{
  torch::NoGradGuard noGrad;
  for (auto &group : groups) {
    const auto &options = static_cast<const Options &>(group.options());
    for (auto &p : group.params()) {
      if (!p.grad().defined())
        continue;
      const std::string key = c10::guts::to_string(p.unsafeGetTensorImpl());
      auto found = states.find(key);
      if (found == states.end()) {
        auto state = std::make_unique<State>();
        state->step(0);
        state->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        state->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        found = states.emplace(key, std::move(state)).first;
      }
      auto &state = static_cast<State &>(*found->second);
      state.step(state.step() + 1);
      const double beta1 = std::get<0>(options.betas()), beta2 = std::get<1>(options.betas());
      const double lr = options.lr(), decay = options.weight_decay();
      Coefficients c;
      c.decayFactor = decoupled ? static_cast<float>(1.0 - lr * decay) : 1.0f;
      c.l2 = decoupled ? 0.0f : static_cast<float>(decay);
      c.beta1 = static_cast<float>(beta1);
      c.oneMinusBeta1 = static_cast<float>(1.0 - beta1);
      c.beta2 = static_cast<float>(beta2);
      c.oneMinusBeta2 = static_cast<float>(1.0 - beta2);
      c.rootCorrection2 = static_cast<float>(std::sqrt(1.0 - std::pow(beta2, static_cast<double>(state.step()))));
      c.eps = static_cast<float>(options.eps());
      c.stepSize = static_cast<float>(lr / (1.0 - std::pow(beta1, static_cast<double>(state.step()))));
      const torch::Tensor grad = p.grad().contiguous();
      float *w = p.data_ptr<float>();
      const float *g = grad.data_ptr<float>();
      float *m = state.exp_avg().template data_ptr<float>();
      float *v = state.exp_avg_sq().template data_ptr<float>();
      std::uint16_t *shadow = currentBf16Shadow(p);
      at::parallel_for(0, p.numel(), 1 << 14, [&](std::int64_t begin, std::int64_t end) {
        if (shadow)
          adamShadowChunk(w + begin, g + begin, m + begin, v + begin, shadow + begin, end - begin, c);
        else
          adamChunk(w + begin, g + begin, m + begin, v + begin, end - begin, c);
      });
      parameterWritten(p, shadow != nullptr);
    }
  }
}

torch::Tensor evaluateClosure(const torch::optim::Optimizer::LossClosure &closure)
{
  if (!closure)
    return {};
  at::AutoGradMode enable(true);
  return closure();
}

} // namespace

void dropGradients(torch::optim::Optimizer &optimizer)
{
  for (auto &group : optimizer.param_groups())
    for (auto &p : group.params())
      p.mutable_grad() = torch::Tensor();
}

torch::Tensor FusedAdamW::step(LossClosure closure)
{
  if (!canFuse<torch::optim::AdamWOptions>(param_groups_))
    return torch::optim::AdamW::step(std::move(closure));
  torch::Tensor loss = evaluateClosure(closure);
  fusedStep<torch::optim::AdamWOptions, torch::optim::AdamWParamState>(param_groups_, state_, true);
  return loss;
}

torch::Tensor FusedAdam::step(LossClosure closure)
{
  if (!canFuse<torch::optim::AdamOptions>(param_groups_))
    return torch::optim::Adam::step(std::move(closure));
  torch::Tensor loss = evaluateClosure(closure);
  fusedStep<torch::optim::AdamOptions, torch::optim::AdamParamState>(param_groups_, state_, false);
  return loss;
}

} // namespace tunebench
