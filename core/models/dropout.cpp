#include "core/models/dropout.h"

#include "core/runtime/generator.h"
#include "core/runtime/kernels.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <mutex>

namespace tunebench {

namespace {

// SplitMix64's finaliser: derives each chunk's two 32-bit keys from the seed and the chunk's index.
std::uint64_t mix64(std::uint64_t z)
{
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A 32-bit integer hash with low bias (Wellons' "lowbias32" constants); applied twice with two keys
// to the element's index within its chunk. 32-bit lanes vectorise on every x86-64 level.
inline __attribute__((always_inline)) std::uint32_t hash32(std::uint32_t x)
{
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

// out[i] = keep(i) ? in[i] · scale : 0 for the n elements of one chunk, branch-free so that it
// vectorises; bfloat16 is widened to float and rounded back to nearest-even. The same call computes
// the forward output and, with the gradient as `in`, the backward.
template <typename Bits>
inline __attribute__((always_inline)) void maskedScaleBody(const Bits *in, Bits *out, std::int64_t n, std::uint32_t k1,
                                                         std::uint32_t k2, std::uint32_t threshold, float scale)
{
  for (std::int64_t i = 0; i < n; ++i) {
    const std::uint32_t keep = 0U - static_cast<std::uint32_t>(hash32(hash32(static_cast<std::uint32_t>(i) + k1) ^ k2) < threshold);
    if constexpr (sizeof(Bits) == 4) {
      out[i] = __builtin_bit_cast(std::uint32_t, __builtin_bit_cast(float, in[i]) * scale) & keep;
    } else {
      const std::uint32_t b =
          __builtin_bit_cast(std::uint32_t, __builtin_bit_cast(float, static_cast<std::uint32_t>(in[i]) << 16) * scale) & keep;
      out[i] = static_cast<Bits>((b + 0x7fffU + ((b >> 16) & 1U)) >> 16);
    }
  }
}

// One clone per vector width, picked at load time (the build targets plain x86-64).
__attribute__((noinline, target_clones("avx512f", "avx2", "default"))) void
maskedScale32(const std::uint32_t *in, std::uint32_t *out, std::int64_t n, std::uint32_t k1, std::uint32_t k2,
              std::uint32_t threshold, float scale)
{
  maskedScaleBody(in, out, n, k1, k2, threshold, scale);
}

__attribute__((noinline, target_clones("avx512f", "avx2", "default"))) void
maskedScale16(const std::uint16_t *in, std::uint16_t *out, std::int64_t n, std::uint32_t k1, std::uint32_t k2,
              std::uint32_t threshold, float scale)
{
  maskedScaleBody(in, out, n, k1, k2, threshold, scale);
}

torch::Tensor applyMask(const torch::Tensor &input, std::uint64_t seed, double p)
{
  const torch::Tensor in = input.contiguous();
  torch::Tensor out = torch::empty_like(in, torch::MemoryFormat::Contiguous);
  const double keep = 1.0 - p;
  const auto threshold = static_cast<std::uint32_t>(std::min(4294967295.0, std::floor(keep * 4294967296.0)));
  const auto scale = static_cast<float>(1.0 / keep);
  const std::int64_t n = in.numel();
  constexpr std::int64_t grain = 1 << 15; // fixed chunks: the mask does not depend on the thread count
  const bool wide = in.scalar_type() == torch::kFloat;
  at::parallel_for(0, (n + grain - 1) / grain, 1, [&](std::int64_t from, std::int64_t to) {
    for (std::int64_t c = from; c < to; ++c) {
      const std::uint64_t keys = mix64(seed + static_cast<std::uint64_t>(c) * 0x9e3779b97f4a7c15ULL);
      const auto k1 = static_cast<std::uint32_t>(keys), k2 = static_cast<std::uint32_t>(keys >> 32);
      const std::int64_t begin = c * grain, count = std::min(n, begin + grain) - begin;
      if (wide)
        maskedScale32(static_cast<const std::uint32_t *>(in.data_ptr()) + begin,
                      static_cast<std::uint32_t *>(out.data_ptr()) + begin, count, k1, k2, threshold, scale);
      else
        maskedScale16(static_cast<const std::uint16_t *>(in.data_ptr()) + begin,
                      static_cast<std::uint16_t *>(out.data_ptr()) + begin, count, k1, k2, threshold, scale);
    }
  });
  return out;
}

std::uint64_t drawSeed()
{
  at::Generator generator = currentGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get<at::CPUGeneratorImpl>()->random64();
}

class DropoutFunction : public torch::autograd::Function<DropoutFunction>
{
public:
  static torch::Tensor forward(torch::autograd::AutogradContext *ctx, const torch::Tensor &x, double p)
  {
    const std::uint64_t seed = drawSeed();
    ctx->saved_data["seed"] = static_cast<std::int64_t>(seed);
    ctx->saved_data["p"] = p;
    ctx->saved_data["type"] = static_cast<std::int64_t>(x.scalar_type());
    return applyMask(x, seed, p);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                 torch::autograd::variable_list grads)
  {
    const auto seed = static_cast<std::uint64_t>(ctx->saved_data["seed"].toInt());
    const double p = ctx->saved_data["p"].toDouble();
    const auto type = static_cast<torch::ScalarType>(ctx->saved_data["type"].toInt());
    return {applyMask(grads[0].to(type), seed, p), torch::Tensor()};
  }
};

bool hashDropoutApplies(const torch::Tensor &x)
{
  const auto type = x.scalar_type();
  return !atenKernels() && x.device().type() == torch::kCPU &&
         (type == torch::kFloat || type == torch::kBFloat16);
}

// dropout(probs) · v with only probs, v and the seed kept. The products are matmul's, in the
// precision autocast gives them, and the backward pass computes what matmul's and the dropout's
// would: dP = g·vᵀ and dV = dropoutᵀ·g in the product's type, dP dropped with the same mask.
class DroppedProductFunction : public torch::autograd::Function<DroppedProductFunction>
{
public:
  static torch::Tensor forward(torch::autograd::AutogradContext *ctx, const torch::Tensor &probs,
                               const torch::Tensor &v, double p)
  {
    const std::uint64_t seed = drawSeed();
    const torch::Tensor values = v.contiguous(); // the copy matmul makes anyway
    ctx->save_for_backward({probs, values});
    ctx->saved_data["seed"] = static_cast<std::int64_t>(seed);
    ctx->saved_data["p"] = p;
    return torch::matmul(applyMask(probs, seed, p), values);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                 torch::autograd::variable_list grads)
  {
    const torch::autograd::variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &probs = saved[0], &values = saved[1];
    const auto seed = static_cast<std::uint64_t>(ctx->saved_data["seed"].toInt());
    const double p = ctx->saved_data["p"].toDouble();
    const torch::Tensor &g = grads[0];
    const torch::Tensor dropped = applyMask(probs, seed, p).to(g.scalar_type());
    const torch::Tensor gradValues = torch::matmul(dropped.transpose(-1, -2), g).to(values.scalar_type());
    const torch::Tensor gradDropped = torch::matmul(g, values.to(g.scalar_type()).transpose(-1, -2));
    return {applyMask(gradDropped.to(probs.scalar_type()), seed, p), gradValues, torch::Tensor()};
  }
};

} // namespace

torch::Tensor droppedProduct(const Dropout &dropout, const torch::Tensor &probs, const torch::Tensor &v)
{
  const double p = dropout->p;
  if (!dropout->is_training() || p <= 0.0)
    return torch::matmul(probs, v);
  if (p >= 1.0 || !hashDropoutApplies(probs))
    return torch::matmul(applyDropout(probs, p, true), v);
  return DroppedProductFunction::apply(probs, v, p);
}

torch::Tensor applyDropout(const torch::Tensor &x, double p, bool training)
{
  if (!training || p <= 0.0)
    return x;
  if (p >= 1.0)
    return torch::dropout(x, p, training);
  if (!hashDropoutApplies(x)) {
    // LibTorch's own: a mask drawn by bernoulli_ (from the run's generator on the CPU).
    torch::Tensor keep = torch::empty_like(x);
    if (x.device().is_cpu())
      keep.bernoulli_(1.0 - p, currentGenerator());
    else
      keep.bernoulli_(1.0 - p);
    return x * keep.div_(1.0 - p);
  }
  return DropoutFunction::apply(x, p);
}

} // namespace tunebench
