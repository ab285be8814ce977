#include "core/train/gradsync.h"

#include "core/runtime/distributed.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/torch.h>

#include <chrono>
#include <mutex>

namespace tunebench {

struct GradientSync::Impl
{
  struct Bucket
  {
    std::vector<std::size_t> members; // indices into params
    std::int64_t elements = 0;        // gradient elements (then one has-gradient flag per member)
    torch::Tensor buffer;
    std::unique_ptr<PendingCollective> pending;
    std::size_t waiting = 0; // members whose gradient is not ready yet in this backward pass
  };
  struct Slot
  {
    std::size_t bucket = 0;
    std::int64_t offset = 0;
  };

  ProcessGroup &group;
  std::vector<torch::Tensor> params;
  std::vector<Slot> slots;
  std::vector<Bucket> buckets;
  std::size_t next = 0; // the first bucket not started in this step
  bool reducing = false;
  std::mutex mutex;
  std::vector<std::pair<std::shared_ptr<torch::autograd::Node>, std::uintptr_t>> hooks;

  Impl(ProcessGroup &g, const std::vector<torch::Tensor> &parameters, std::size_t bucketBytes)
    : group(g)
    , params(parameters.rbegin(), parameters.rend())
  {
    const std::int64_t cap =
        std::max<std::int64_t>(1, static_cast<std::int64_t>(bucketBytes / sizeof(float)));
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (buckets.empty() ||
          (buckets.back().elements > 0 && buckets.back().elements + params[i].numel() > cap))
        buckets.emplace_back();
      Bucket &b = buckets.back();
      slots.push_back({buckets.size() - 1, b.elements});
      b.members.push_back(i);
      b.elements += params[i].numel();
    }
    for (Bucket &b : buckets) {
      b.buffer = torch::zeros({b.elements + static_cast<std::int64_t>(b.members.size())}, torch::kFloat);
      b.waiting = b.members.size();
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      std::shared_ptr<torch::autograd::Node> accumulator = torch::autograd::impl::grad_accumulator(params[i]);
      hooks.emplace_back(accumulator, accumulator->add_post_hook(std::make_unique<Ready>(this, i)));
    }
  }

  ~Impl()
  {
    for (auto &[node, key] : hooks)
      node->del_post_hook(key);
  }

  // After a parameter's gradient was accumulated.
  struct Ready final : torch::autograd::FunctionPostHook
  {
    Ready(Impl *impl, std::size_t index)
      : m_impl(impl)
      , m_index(index)
    {}
    torch::autograd::variable_list operator()(const torch::autograd::variable_list &outputs,
                                              const torch::autograd::variable_list &) override
    {
      m_impl->ready(m_index);
      return outputs;
    }
    Impl *m_impl;
    std::size_t m_index;
  };

  void ready(std::size_t index)
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!reducing)
      return;
    Bucket &b = buckets[slots[index].bucket];
    if (b.waiting > 0)
      --b.waiting;
    while (next < buckets.size() && buckets[next].waiting == 0)
      start(buckets[next++]);
  }

  // The bucket's gradients (zeros and a 0 flag where a member has none) flattened and reduced.
  void start(Bucket &b)
  {
    torch::NoGradGuard noGrad;
    for (std::size_t k = 0; k < b.members.size(); ++k) {
      const torch::Tensor &p = params[b.members[k]];
      const Slot &s = slots[b.members[k]];
      torch::Tensor part = b.buffer.narrow(0, s.offset, p.numel());
      const bool has = p.grad().defined();
      if (has)
        part.copy_(p.grad().reshape({-1}));
      else
        part.zero_();
      b.buffer[b.elements + static_cast<std::int64_t>(k)] = has ? 1.0f : 0.0f;
    }
    b.pending = group.allReduceAsync(b.buffer);
  }

  void finish()
  {
    {
      std::lock_guard<std::mutex> lock(mutex);
      while (next < buckets.size())
        start(buckets[next++]);
      reducing = false;
    }
    torch::NoGradGuard noGrad;
    const double world = static_cast<double>(group.worldSize());
    for (Bucket &b : buckets) {
      b.pending->wait();
      b.pending.reset();
      b.waiting = b.members.size();
      for (std::size_t k = 0; k < b.members.size(); ++k) {
        torch::Tensor &p = params[b.members[k]];
        if (b.buffer[b.elements + static_cast<std::int64_t>(k)].item<float>() == 0.0f)
          continue; // no rank has a gradient for it
        const torch::Tensor mean =
            b.buffer.narrow(0, slots[b.members[k]].offset, p.numel()).view(p.sizes()) / world;
        if (p.grad().defined())
          p.mutable_grad().copy_(mean);
        else
          p.mutable_grad() = mean.to(p.options(), /*non_blocking=*/false, /*copy=*/true);
      }
    }
    next = 0;
  }
};

GradientSync::GradientSync(ProcessGroup &group, const std::vector<torch::Tensor> &parameters,
                           std::size_t bucketBytes)
  : d(std::make_unique<Impl>(group, parameters, bucketBytes))
{}

GradientSync::~GradientSync() = default;

void GradientSync::setReducing(bool reducing)
{
  std::lock_guard<std::mutex> lock(d->mutex);
  d->reducing = reducing;
}

void GradientSync::finish()
{
  const auto t0 = std::chrono::steady_clock::now();
  d->finish();
  m_waitSeconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::int64_t GradientSync::bytesPerStep() const
{
  std::int64_t n = 0;
  for (const auto &b : d->buckets)
    n += b.buffer.numel() * static_cast<std::int64_t>(sizeof(float));
  return n;
}

std::size_t GradientSync::buckets() const
{
  return d->buckets.size();
}

} // namespace tunebench
