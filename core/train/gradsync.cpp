#include "core/train/gradsync.h"

#include "core/runtime/distributed.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/torch.h>

#include <algorithm>
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

  // An embedding table reduced by rows (see the header).
  struct Table
  {
    torch::Tensor param;
    torch::Tensor mask; // per row 1 where this rank has a gradient there, then a has-gradient flag
    std::unique_ptr<PendingCollective> pending;
  };

  ProcessGroup &group;
  std::vector<torch::Tensor> params;
  std::vector<Table> tables;
  std::int64_t tableBytes = 0; // what the tables all-reduced, over `steps` steps
  std::int64_t steps = 0;
  std::vector<Slot> slots;
  std::vector<Bucket> buckets;
  std::size_t next = 0; // the first bucket not started in this step
  bool reducing = false;
  std::mutex mutex;
  std::vector<std::pair<std::shared_ptr<torch::autograd::Node>, std::uintptr_t>> hooks;

  Impl(ProcessGroup &g, const std::vector<torch::Tensor> &parameters, std::size_t bucketBytes,
       const std::vector<torch::Tensor> &rowSparse)
    : group(g)
  {
    for (auto p = parameters.rbegin(); p != parameters.rend(); ++p) {
      const bool table = std::any_of(rowSparse.begin(), rowSparse.end(),
                                     [&](const torch::Tensor &t) { return t.is_same(*p); });
      if (table)
        tables.push_back({*p, torch::zeros({p->size(0) + 1}, torch::kFloat), nullptr});
      else
        params.push_back(*p);
    }
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

  // The bucket's gradients divided by the world size (zeros and a 0 flag where a member has none)
  // flattened and reduced: the sum is then the mean, in the pass that copies them (exact for a world
  // of 2, 4 …: a power of two).
  void start(Bucket &b)
  {
    torch::NoGradGuard noGrad;
    const torch::Tensor share = torch::scalar_tensor(1.0 / static_cast<double>(group.worldSize()));
    for (std::size_t k = 0; k < b.members.size(); ++k) {
      const torch::Tensor &p = params[b.members[k]];
      const Slot &s = slots[b.members[k]];
      torch::Tensor part = b.buffer.narrow(0, s.offset, p.numel());
      const bool has = p.grad().defined();
      if (has)
        torch::mul_out(part, p.grad().reshape({-1}), share);
      else
        part.zero_();
      flags(b)[k] = has ? 1.0f : 0.0f;
    }
    b.pending = group.allReduceAsync(b.buffer);
  }

  // The has-gradient flags after a bucket's gradient elements.
  static float *flags(Bucket &b) { return b.buffer.data_ptr<float>() + b.elements; }

  // Which rows of the table have a gradient here, summed over ranks (started).
  void startMask(Table &t)
  {
    const std::int64_t rows = t.param.size(0);
    const torch::Tensor &grad = t.param.grad();
    if (grad.defined()) {
      t.mask.narrow(0, 0, rows).copy_(grad.ne(0).any(1));
      t.mask[rows] = 1.0f;
    } else {
      t.mask.zero_();
    }
    t.pending = group.allReduceAsync(t.mask);
  }

  // The table's gradient averaged: the touched rows only, or all when most are.
  void reduceTable(Table &t, double world)
  {
    t.pending->wait();
    t.pending.reset();
    const std::int64_t rows = t.param.size(0);
    if (t.mask[rows].item<float>() == 0.0f)
      return; // no rank has a gradient for it
    torch::Tensor &grad = t.param.mutable_grad();
    if (!grad.defined())
      grad = torch::zeros_like(t.param);
    const torch::Tensor touched = t.mask.narrow(0, 0, rows).nonzero().reshape({-1});
    if (touched.numel() * 2 > rows) { // the same choice on every rank: the mask is theirs too
      torch::Tensor all = grad.contiguous();
      group.allReduce(all);
      grad.copy_(all.div_(world));
      tableBytes += all.numel() * static_cast<std::int64_t>(sizeof(float));
      return;
    }
    torch::Tensor part = grad.index_select(0, touched);
    group.allReduce(part);
    tableBytes += part.numel() * static_cast<std::int64_t>(sizeof(float));
    grad.zero_();
    grad.index_copy_(0, touched, part.div_(world));
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
    for (Table &t : tables)
      startMask(t);
    const double world = static_cast<double>(group.worldSize());
    for (Bucket &b : buckets) {
      b.pending->wait();
      b.pending.reset();
      b.waiting = b.members.size();
      for (std::size_t k = 0; k < b.members.size(); ++k) {
        torch::Tensor &p = params[b.members[k]];
        if (flags(b)[k] == 0.0f)
          continue; // no rank has a gradient for it
        const torch::Tensor mean = b.buffer.narrow(0, slots[b.members[k]].offset, p.numel()).view(p.sizes());
        // The gradient becomes a view of the bucket (no copy back): the trainer drops the gradients
        // before the next step refills the bucket.
        p.mutable_grad() = p.scalar_type() == torch::kFloat ? mean : mean.to(p.options());
      }
    }
    for (Table &t : tables)
      reduceTable(t, world);
    ++steps;
    next = 0;
  }
};

GradientSync::GradientSync(ProcessGroup &group, const std::vector<torch::Tensor> &parameters,
                           std::size_t bucketBytes, const std::vector<torch::Tensor> &rowSparse)
  : d(std::make_unique<Impl>(group, parameters, bucketBytes, rowSparse))
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
  for (const auto &t : d->tables) // the masks, and before any step the whole tables
    n += (t.mask.numel() + (d->steps > 0 ? 0 : t.param.numel())) * static_cast<std::int64_t>(sizeof(float));
  if (d->steps > 0)
    n += d->tableBytes / d->steps;
  return n;
}

std::size_t GradientSync::buckets() const
{
  return d->buckets.size();
}

} // namespace tunebench
