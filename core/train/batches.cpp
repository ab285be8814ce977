#include "core/train/batches.h"

#include "core/data/splits.h"
#include "core/train/device.h"
#include "core/util/error.h"

#include <torch/nn/functional/loss.h>
#include <torch/torch.h>

#include <algorithm>

namespace tunebench {
namespace F = torch::nn::functional;

Batch collate(const std::vector<EncodedExample> &encoded, const std::vector<int> &rows, int padId,
              const std::string &task, int labelCount, const PretrainingNoise *noise, std::uint64_t noiseSeed)
{
  // With pre-training noise every example is a noised copy (seeded by the batch seed and its row).
  std::vector<EncodedExample> noised;
  std::vector<const EncodedExample *> examples;
  if (noise) {
    noised.reserve(rows.size());
    for (int r : rows)
      noised.push_back(noise->apply(encoded[static_cast<std::size_t>(r)],
                                    noiseSeed ^ (static_cast<std::uint64_t>(r) * 0x9e3779b97f4a7c15ULL)));
    for (const EncodedExample &e : noised)
      examples.push_back(&e);
  } else {
    for (int r : rows)
      examples.push_back(&encoded[static_cast<std::size_t>(r)]);
  }
  std::size_t width = 1, targetWidth = 1;
  for (const EncodedExample *e : examples) {
    width = std::max(width, e->ids.size());
    targetWidth = std::max(targetWidth, e->targets.size());
  }
  const auto n = static_cast<long>(rows.size());
  const auto w = static_cast<long>(width);
  Batch b;
  b.rows = rows;
  b.source = noise ? nullptr : &encoded;
  b.ids = torch::full({n, w}, padId, torch::kLong);
  b.mask = torch::zeros({n, w}, torch::kLong);
  b.types = torch::zeros({n, w}, torch::kLong);
  auto ids = b.ids.accessor<long, 2>();
  auto mask = b.mask.accessor<long, 2>();
  auto types = b.types.accessor<long, 2>();
  const bool seq2seq = task == "span_corruption" || task == "seq2seq";
  const bool perToken = task == "token_tagging" || task == "causal_lm" || task == "instruction" || task == "masked_lm";
  if (seq2seq) {
    const auto tw = static_cast<long>(targetWidth);
    b.labels = torch::full({n, tw}, -100, torch::kLong);
    b.decoderIds = torch::full({n, tw}, padId, torch::kLong); // T5 starts decoding from the pad id
    b.decoderMask = torch::zeros({n, tw}, torch::kLong);
  } else if (perToken) {
    b.labels = torch::full({n, w}, -100, torch::kLong);
  } else if (task == "multi_label") {
    b.labels = torch::zeros({n, labelCount}, torch::kFloat);
  } else {
    b.labels = torch::zeros({n}, torch::kLong);
  }
  for (long i = 0; i < n; ++i) {
    const EncodedExample &e = *examples[static_cast<std::size_t>(i)];
    for (std::size_t t = 0; t < e.ids.size(); ++t) {
      ids[i][static_cast<long>(t)] = e.ids[t];
      mask[i][static_cast<long>(t)] = 1;
      types[i][static_cast<long>(t)] = t < e.typeIds.size() ? e.typeIds[t] : 0;
    }
    b.tokens += static_cast<long>(e.ids.size() + e.targets.size());
    if (seq2seq) {
      auto labels = b.labels.accessor<long, 2>();
      auto decoder = b.decoderIds.accessor<long, 2>();
      auto decoderMask = b.decoderMask.accessor<long, 2>();
      for (std::size_t t = 0; t < e.targets.size(); ++t) {
        labels[i][static_cast<long>(t)] = e.targets[t];
        decoderMask[i][static_cast<long>(t)] = 1;
        if (t + 1 < e.targets.size())
          decoder[i][static_cast<long>(t + 1)] = e.targets[t];
      }
    } else if (perToken) {
      auto labels = b.labels.accessor<long, 2>();
      for (std::size_t t = 0; t < e.tokenLabels.size(); ++t)
        labels[i][static_cast<long>(t)] = e.tokenLabels[t];
    } else if (task == "multi_label") {
      auto labels = b.labels.accessor<float, 2>();
      for (std::size_t k = 0; k < e.multiLabel.size(); ++k)
        labels[i][static_cast<long>(k)] = e.multiLabel[k];
    } else {
      b.labels[i] = e.label;
    }
  }
  return b;
}

std::vector<std::vector<int>> epochBatches(const std::vector<int> &rows, const std::vector<EncodedExample> &encoded,
                                           int batchSize, bool bucket, std::uint64_t seed, int epoch)
{
  const std::uint64_t epochSeed = seed * 1000003ULL + static_cast<std::uint64_t>(epoch) * 7919ULL + 1;
  std::vector<int> order;
  for (int i : shuffledIndices(static_cast<int>(rows.size()), epochSeed))
    order.push_back(rows[static_cast<std::size_t>(i)]);
  if (bucket) {
    const std::size_t chunk = static_cast<std::size_t>(batchSize) * 50;
    for (std::size_t at = 0; at < order.size(); at += chunk) {
      const auto first = order.begin() + static_cast<std::ptrdiff_t>(at);
      const auto last = order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), at + chunk));
      std::stable_sort(first, last, [&](int a, int b) {
        return encoded[static_cast<std::size_t>(a)].ids.size() > encoded[static_cast<std::size_t>(b)].ids.size();
      });
    }
  }
  std::vector<std::vector<int>> batches;
  for (std::size_t at = 0; at < order.size(); at += static_cast<std::size_t>(batchSize))
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(at),
                         order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), at + static_cast<std::size_t>(batchSize))));
  if (bucket) {
    std::vector<std::vector<int>> shuffled;
    for (int i : shuffledIndices(static_cast<int>(batches.size()), epochSeed ^ 0xb0c3ULL))
      shuffled.push_back(std::move(batches[static_cast<std::size_t>(i)]));
    batches = std::move(shuffled);
  }
  return batches;
}

std::vector<std::pair<int, std::vector<int>>> taskSchedule(const std::vector<const PreparedData *> &tasks, int batchSize,
                                                        bool bucket, std::uint64_t seed, int epoch, bool roundRobin)
{
  std::vector<std::vector<std::vector<int>>> perTask;
  for (std::size_t i = 0; i < tasks.size(); ++i)
    perTask.push_back(epochBatches(tasks[i]->split.train, tasks[i]->encoded, batchSize, bucket, seed + i, epoch));
  std::vector<std::pair<int, std::vector<int>>> out;
  if (roundRobin) {
    for (std::size_t k = 0;; ++k) {
      bool any = false;
      for (std::size_t task = 0; task < perTask.size(); ++task)
        if (k < perTask[task].size()) {
          out.emplace_back(static_cast<int>(task), perTask[task][k]);
          any = true;
        }
      if (!any)
        break;
    }
    return out;
  }
  for (std::size_t task = 0; task < perTask.size(); ++task)
    for (auto &b : perTask[task])
      out.emplace_back(static_cast<int>(task), std::move(b));
  if (perTask.size() == 1)
    return out;
  std::vector<std::pair<int, std::vector<int>>> shuffled;
  for (int i : shuffledIndices(static_cast<int>(out.size()), seed * 31ULL + static_cast<std::uint64_t>(epoch) + 0x6d74ULL))
    shuffled.push_back(std::move(out[static_cast<std::size_t>(i)]));
  return shuffled;
}

torch::Device trainingDevice(const std::string &device)
{
  if (device == "cuda" && !torch::cuda::is_available())
    throw Error("training.device is cuda, but this LibTorch build has no CUDA device available "
                "(`tunebench-cli --version` shows it); use cpu or auto");
  return trainsOnCpu(device) ? torch::Device(torch::kCPU) : torch::Device(torch::kCUDA);
}

bool trainsOnCpu(const std::string &device)
{
  return device == "cpu" || (device == "auto" && !torch::cuda::is_available()) ||
         (device == "cuda" && !torch::cuda::is_available());
}

Batch onDevice(Batch b, const torch::Device &device)
{
  if (device.is_cpu())
    return b;
  for (torch::Tensor *t : {&b.ids, &b.mask, &b.types, &b.labels, &b.decoderIds, &b.decoderMask})
    if (t->defined())
      *t = t->to(device, /*non_blocking=*/true);
  return b;
}

double lossTerms(const Batch &b, const std::string &task)
{
  if (b.rows.empty() || !b.labels.defined())
    return 0.0;
  if (task == "multi_label" || b.labels.dim() == 1)
    return static_cast<double>(b.rows.size());
  if (task == "causal_lm" || task == "instruction")
    return b.labels.narrow(1, 1, b.labels.size(1) - 1).ne(-100).sum().item<double>();
  return b.labels.ne(-100).sum().item<double>();
}

torch::Tensor lossOf(const torch::Tensor &logits, const Batch &b, const std::string &task, double smoothing)
{
  const torch::Tensor x = logits.to(torch::kFloat);
  if (task == "multi_label")
    return F::binary_cross_entropy_with_logits(x, b.labels);
  auto options = F::CrossEntropyFuncOptions().label_smoothing(smoothing).ignore_index(-100);
  if (task == "causal_lm" || task == "instruction") // position t predicts token t + 1
    return F::cross_entropy(x.narrow(1, 0, x.size(1) - 1).reshape({-1, x.size(-1)}),
                            b.labels.narrow(1, 1, b.labels.size(1) - 1).reshape({-1}), options);
  if (task == "masked_lm" && x.dim() == 2) // logits of the labelled positions only
    return F::cross_entropy(x, b.labels.masked_select(b.labels.ne(-100)), options);
  if (task == "token_tagging" || task == "masked_lm" || task == "span_corruption" || task == "seq2seq")
    return F::cross_entropy(x.reshape({-1, x.size(-1)}), b.labels.reshape({-1}), options);
  return F::cross_entropy(x, b.labels, options);
}

} // namespace tunebench
