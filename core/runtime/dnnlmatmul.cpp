#include "core/runtime/dnnlmatmul.h"

#include <ATen/ATen.h>
#include <ATen/record_function.h>

#ifdef TUNEBENCH_HAVE_DNNL
#include <array>
#include <map>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <stdexcept>
#include <unordered_map>
#endif

namespace tunebench {

namespace {

// A precondition of the caller (a bug when it fails). Not TORCH_CHECK: that embeds the source
// file's path in the binary.
void requireOperands(bool ok, const char *what)
{
  if (!ok)
    throw std::invalid_argument(what);
}

void checkOperands(const at::Tensor &a, const at::Tensor &b, const at::Tensor &bias, const at::Tensor &out)
{
  requireOperands(a.dim() == 2 && b.dim() == 2 && out.dim() == 2, "matmulBf16: 2-D operands");
  requireOperands(a.scalar_type() == at::kBFloat16 && b.scalar_type() == at::kBFloat16 &&
                      (out.scalar_type() == at::kFloat || out.scalar_type() == at::kBFloat16),
                  "matmulBf16: bf16 · bf16 → bf16 or fp32");
  requireOperands(b.size(0) == a.size(1) && out.size(0) == a.size(0) && out.size(1) == b.size(1),
                  "matmulBf16: shapes");
  requireOperands(!bias.defined() || (bias.scalar_type() == at::kBFloat16 && bias.numel() == b.size(1)),
                  "matmulBf16: bias");
  requireOperands(out.stride(1) == 1, "matmulBf16: out rows contiguous");
}

} // namespace

#ifdef TUNEBENCH_HAVE_DNNL

namespace {

// One primitive per shape, strides, result type, bias and accumulation: oneDNN's own cache would
// find it too, but building the descriptor to ask costs more than a small product.
using Key = std::array<std::int64_t, 9>;

struct Prepared
{
  dnnl::matmul primitive;
  dnnl::memory::desc a, b, bias, out;
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

bool hasDirectBf16Matmul()
{
  return true;
}

void matmulBf16(const at::Tensor &a, const at::Tensor &b, const at::Tensor &bias, at::Tensor &out,
                bool accumulate)
{
  checkOperands(a, b, bias, out);
  // Named in LibTorch's profiler like its own products (bench/reference/opprofile.py counts it as one).
  RECORD_FUNCTION("tunebench::matmul_bf16", std::vector<c10::IValue>());
  const std::int64_t m = a.size(0), k = a.size(1), n = b.size(1);
  auto unitStride = [](const at::Tensor &t) { return t.stride(0) == 1 || t.stride(1) == 1; };
  const at::Tensor ca = unitStride(a) ? a : a.contiguous(), cb = unitStride(b) ? b : b.contiguous();
  const at::Tensor cbias = bias.defined() ? bias.contiguous() : bias;
  if (m == 0 || n == 0)
    return;
  if (k == 0) {
    if (!accumulate)
      out.zero_();
    if (cbias.defined())
      out.add_(cbias);
    return;
  }
  const bool fp32 = out.scalar_type() == at::kFloat;
  const Key key{m,
                k,
                n,
                ca.stride(0),
                ca.stride(1),
                cb.stride(0),
                cb.stride(1),
                out.stride(0),
                (accumulate ? 1 : 0) + (fp32 ? 2 : 0) + (cbias.defined() ? 4 : 0)};
  Matmuls &mm = matmuls();
  Prepared prepared;
  {
    std::lock_guard<std::mutex> lock(mm.mutex);
    auto found = mm.cache.find(key);
    if (found == mm.cache.end()) {
      using dt = dnnl::memory::data_type;
      Prepared p;
      p.a = dnnl::memory::desc({m, k}, dt::bf16, {ca.stride(0), ca.stride(1)});
      p.b = dnnl::memory::desc({k, n}, dt::bf16, {cb.stride(0), cb.stride(1)});
      p.out = dnnl::memory::desc({m, n}, fp32 ? dt::f32 : dt::bf16, {out.stride(0), 1});
      if (cbias.defined())
        p.bias = dnnl::memory::desc({1, n}, dt::bf16, {n, 1});
      dnnl::primitive_attr attr;
      if (accumulate) {
        dnnl::post_ops ops;
        ops.append_sum(1.0f);
        attr.set_post_ops(ops);
      }
      const auto desc =
          cbias.defined() ? dnnl::matmul::desc(p.a, p.b, p.bias, p.out) : dnnl::matmul::desc(p.a, p.b, p.out);
      p.primitive = dnnl::matmul(dnnl::matmul::primitive_desc(desc, attr, mm.engine));
      if (mm.cache.size() > 1024)
        mm.cache.clear();
      found = mm.cache.emplace(key, std::move(p)).first;
    }
    prepared = found->second;
  }
  thread_local dnnl::stream stream(mm.engine);
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, dnnl::memory(prepared.a, mm.engine, ca.data_ptr())},
      {DNNL_ARG_WEIGHTS, dnnl::memory(prepared.b, mm.engine, cb.data_ptr())},
      {DNNL_ARG_DST, dnnl::memory(prepared.out, mm.engine, out.data_ptr())}};
  if (cbias.defined())
    args.emplace(DNNL_ARG_BIAS, dnnl::memory(prepared.bias, mm.engine, cbias.data_ptr()));
  prepared.primitive.execute(stream, args);
  stream.wait();
}

#else

bool hasDirectBf16Matmul()
{
  return false;
}

void matmulBf16(const at::Tensor &a, const at::Tensor &b, const at::Tensor &bias, at::Tensor &out,
                bool accumulate)
{
  checkOperands(a, b, bias, out);
  const at::Tensor product = bias.defined() ? at::addmm(bias, a, b) : at::mm(a, b);
  if (accumulate)
    out.add_(product);
  else
    out.copy_(product);
}

#endif

} // namespace tunebench
