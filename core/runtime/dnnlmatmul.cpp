#include "core/runtime/dnnlmatmul.h"

#include <ATen/ATen.h>
#include <ATen/record_function.h>
#include <c10/util/Exception.h>

#ifdef TUNEBENCH_HAVE_DNNL
#include <oneapi/dnnl/dnnl.hpp>

#include <array>
#include <map>
#include <mutex>
#endif

namespace tunebench {

#ifdef TUNEBENCH_HAVE_DNNL

namespace {

// One primitive per shape, strides and accumulation: oneDNN's own cache would find it too, but
// building the descriptor to ask costs more than a small product.
using Key = std::array<std::int64_t, 8>;

struct Prepared
{
  dnnl::matmul primitive;
  dnnl::memory::desc a, b, out;
};

struct Matmuls
{
  std::mutex mutex;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  std::map<Key, Prepared> cache;
};

Matmuls &matmuls()
{
  static Matmuls m;
  return m;
}

} // namespace

bool hasBf16FloatMatmul() { return true; }

void matmulBf16IntoFloat(const at::Tensor &a, const at::Tensor &b, at::Tensor &out, bool accumulate)
{
  TORCH_CHECK(a.dim() == 2 && b.dim() == 2 && out.dim() == 2, "matmulBf16IntoFloat: 2-D operands");
  TORCH_CHECK(a.scalar_type() == at::kBFloat16 && b.scalar_type() == at::kBFloat16 && out.scalar_type() == at::kFloat,
              "matmulBf16IntoFloat: bf16 · bf16 → fp32");
  const std::int64_t m = a.size(0), k = a.size(1), n = b.size(1);
  TORCH_CHECK(b.size(0) == k && out.size(0) == m && out.size(1) == n, "matmulBf16IntoFloat: shapes");
  TORCH_CHECK(out.stride(1) == 1, "matmulBf16IntoFloat: out rows contiguous");
  auto unitStride = [](const at::Tensor &t) { return t.stride(0) == 1 || t.stride(1) == 1; };
  const at::Tensor ca = unitStride(a) ? a : a.contiguous(), cb = unitStride(b) ? b : b.contiguous();
  if (m == 0 || n == 0)
    return;
  if (k == 0) {
    if (!accumulate)
      out.zero_();
    return;
  }
  // Named in LibTorch's profiler like its own products (bench/reference/opprofile.py counts it as one).
  RECORD_FUNCTION("tunebench::matmul_bf16_fp32", std::vector<c10::IValue>());
  const Key key{m, k, n, ca.stride(0), ca.stride(1), cb.stride(0), cb.stride(1), out.stride(0) * 2 + (accumulate ? 1 : 0)};
  Matmuls &mm = matmuls();
  Prepared prepared;
  {
    std::lock_guard<std::mutex> lock(mm.mutex);
    auto found = mm.cache.find(key);
    if (found == mm.cache.end()) {
      using dt = dnnl::memory::data_type;
      const dnnl::memory::desc ad({m, k}, dt::bf16, {ca.stride(0), ca.stride(1)});
      const dnnl::memory::desc bd({k, n}, dt::bf16, {cb.stride(0), cb.stride(1)});
      const dnnl::memory::desc cd({m, n}, dt::f32, {out.stride(0), 1});
      dnnl::primitive_attr attr;
      if (accumulate) {
        dnnl::post_ops ops;
        ops.append_sum(1.0f);
        attr.set_post_ops(ops);
      }
      const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(ad, bd, cd), attr, mm.engine);
      if (mm.cache.size() > 512)
        mm.cache.clear();
      found = mm.cache.emplace(key, Prepared{dnnl::matmul(pd), ad, bd, cd}).first;
    }
    prepared = found->second;
  }
  thread_local dnnl::stream stream(mm.engine);
  prepared.primitive.execute(stream, {{DNNL_ARG_SRC, dnnl::memory(prepared.a, mm.engine, ca.data_ptr())},
                                      {DNNL_ARG_WEIGHTS, dnnl::memory(prepared.b, mm.engine, cb.data_ptr())},
                                      {DNNL_ARG_DST, dnnl::memory(prepared.out, mm.engine, out.data_ptr())}});
  stream.wait();
}

#else

bool hasBf16FloatMatmul() { return false; }

void matmulBf16IntoFloat(const at::Tensor &a, const at::Tensor &b, at::Tensor &out, bool accumulate)
{
  const at::Tensor product = at::mm(a, b).to(at::kFloat);
  if (accumulate)
    out.add_(product);
  else
    out.copy_(product);
}

#endif

} // namespace tunebench
