#pragma once

#include <torch/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace tunebench {

class ProcessGroup;

// Data-parallel gradient averaging, overlapped with the backward pass. c10d's own Reducer
// (reducer.hpp) cannot be built against Debian's LibTorch: its header includes
// torch/csrc/distributed/autograd/context/context.h, which libtorch-dev does not ship. So this is
// the same scheme on the same ProcessGroup API: the trainable parameters in reverse order (about
// the order the backward pass finishes them) cut into buckets of `bucketBytes`; a hook after each
// parameter's gradient accumulation counts it ready, and a bucket whose gradients are all ready is
// flattened and its all-reduce started while the backward pass goes on. Buckets start strictly in
// order, so every rank issues the same collectives in the same order. finish() starts what the
// backward pass did not (a rank with no rows in the batch, parameters without a gradient), waits,
// and leaves each gradient the mean over ranks as a view of its bucket (each rank's share is divided
// by the world size as it is flattened; nothing is copied back), valid until the next step's
// reduction refills the bucket; a parameter that has no gradient on any rank keeps none (the
// optimizer skips it, as it would in one process).
//
// Embedding tables (`rowSparse`, a subset of `parameters`) are not bucketed: a batch touches few of
// their rows, so finish() all-reduces a mask of the rows with a gradient on some rank and then only
// those rows (the whole table when more than half are touched: a tied output layer's dense
// gradient). Rows no rank touched are zero in the sum either way, so the mean is the same.
class GradientSync
{
public:
  GradientSync(ProcessGroup &group, const std::vector<torch::Tensor> &parameters, std::size_t bucketBytes,
               const std::vector<torch::Tensor> &rowSparse = {});
  ~GradientSync();
  GradientSync(const GradientSync &) = delete;
  GradientSync &operator=(const GradientSync &) = delete;

  // Whether the coming backward pass ends the step (its gradients are then reduced as they become
  // ready); the non-final micro-batches of gradient accumulation only accumulate.
  void setReducing(bool reducing);
  // After the step's last backward pass: every gradient averaged over the ranks.
  void finish();

  std::int64_t bytesPerStep() const; // what one step all-reduces (the mean over the steps so far)
  std::size_t buckets() const;
  double waitSeconds() const { return m_waitSeconds; } // time finish() waited (not overlapped), in all

private:
  struct Impl;
  std::unique_ptr<Impl> d;
  double m_waitSeconds = 0;
};

} // namespace tunebench
