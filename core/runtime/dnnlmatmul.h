#pragma once

#include <ATen/core/Tensor.h>

namespace tunebench {

// Whether bf16 matrix products go straight to oneDNN (the library LibTorch itself calls for them;
// the build found its headers, Debian's libdnnl-dev): fp32 results without a bf16 rounding, and no
// per-call set-up in LibTorch's wrapper. Without it they go through LibTorch's ops, and an fp32
// result is the bf16 one widened, as autocast gives it.
bool hasDirectBf16Matmul();

// out ([M, N], bf16 or fp32, rows contiguous) = a (bf16, [M, K]) · b (bf16, [K, N]), plus bias (bf16,
// [N], added to every row) where defined, plus what `out` holds when `accumulate`. a and b may be
// transposed views (unit stride in either dimension).
void matmulBf16(const at::Tensor &a, const at::Tensor &b, const at::Tensor &bias, at::Tensor &out,
                bool accumulate = false);

} // namespace tunebench
