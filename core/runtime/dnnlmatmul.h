#pragma once

#include <ATen/core/Tensor.h>

namespace tunebench {

// Whether bf16 matrix products can write fp32 results straight from oneDNN (the library LibTorch
// itself calls for bf16 products; the build found its headers, Debian's libdnnl-dev). Without it
// the product is rounded to bf16 and widened afterwards, as autocast does.
bool hasBf16FloatMatmul();

// out (fp32, [M, N], rows contiguous) = a (bf16, [M, K]) · b (bf16, [K, N]), added to what `out`
// holds when `accumulate`. a and b may be transposed views (unit stride in either dimension).
void matmulBf16IntoFloat(const at::Tensor &a, const at::Tensor &b, at::Tensor &out, bool accumulate = false);

} // namespace tunebench
