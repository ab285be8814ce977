// bench_trainstep: training-step throughput of a BERT-shaped sequence classifier (random weights,
// random token ids, every sequence the full length) — the C++ side of bench/trainstep.sh, which
// runs bench/reference/trainstep.py on the same shapes in the same invocation. Prints one JSON
// line: tokens/s (median over the timed steps), step time, model FLOPs per step, peak resident
// memory and tunebench's own estimate of the step's memory (strategies: full, lora, prefix).
//   bench_trainstep --layers 4 --hidden 256 --precision bf16 --strategy lora --batch 16 --seq 128
// --checkpoint K: activation checkpointing of every K-th layer (training.activation_checkpointing).
// The JSON has the resident memory before the model was built (baseline_rss_mib).
// --mode infer: forward passes only, as `eval` and `predict` run them (core/train/trainedrun.cpp:
// eval mode, inference mode, bf16 autocast when asked); the JSON's tokens/s is then inference's.
// --mode infer-no-grad: the same under NoGradGuard instead of inference mode (as the validation
// passes inside training run), for an A/B of the two.
#include "bench/benchclock.h"
#include "core/models/bf16linear.h"
#include "core/models/checkpointing.h"
#include "core/models/encoder.h"
#include "core/models/estimate.h"
#include "core/runtime/blascore.h"
#include "core/runtime/cpuallocator.h"
#include "core/runtime/gemmprobe.h"
#include "core/runtime/runtime.h"
#include "core/strategies/basicstrategies.h"
#include "core/strategies/lora.h"
#include "core/strategies/prefix.h"
#include "core/train/builtmodel.h"
#include "core/train/fusedadam.h"
#include "core/train/planning.h"

#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adamw.h>
#include <torch/torch.h>

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace tunebench;

namespace {

// The bytes malloc has handed out and not had back, over all arenas and mmapped blocks (what
// malloc_stats() prints as "Total (incl. mmap)" in use), and the blocks tunebench's allocator has
// handed out (core/runtime/cpuallocator.h): the live tensors and the libraries' heap, without what
// either keeps free.
std::size_t heapInUseBytes()
{
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd + cpuAllocatorStats().liveBytes;
}

double heapInUseMiB()
{
  return static_cast<double>(heapInUseBytes()) / 1048576.0;
}

// Resident memory now: /proc/self/statm's second field, in pages.
double residentMiB()
{
  std::ifstream statm("/proc/self/statm");
  double size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

} // namespace

int main(int argc, char **argv)
{
  reexecWithTunedRuntime(argv);
  int layers = 4, hidden = 256, batch = 16, seq = 128, steps = 8, warmup = 2, threads = 0, checkpoint = 0;
  std::string precision = "fp32", strategy = "full", profile, mode = "train";
  // --peak-between 1: a GEMM peak sample of the step's precision (best of 512² and 1,024², 0.1 s
  // each) before every timed step and after the last; each step's MFU is taken against the higher of
  // the two samples beside it (this VM's rate moves up to 3× within minutes), and the JSON has their
  // median, lowest and highest.
  bool peakBetween = false;
  // --compare-shadows 1: two copies of the model in one process, stepped alternately, one with the
  // kept bf16 weight copies (core/models/bf16linear.h) and one with autocast's casts: an A/B that
  // this VM's minute-to-minute swings hit alike. Prints the two medians.
  bool compareShadows = false;
  // --heap 1: the JSON also has the heap in use sampled after each forward and each backward pass
  // (the highest sample) less the heap before the model was built — the step's live tensors, which
  // the estimate models — beside the resident memory, which also counts what the allocator keeps.
  // --heap 2: besides, a thread polls mallinfo2 (bytes in use in the arenas and in mmapped blocks)
  // every 0.2 ms through all the steps: the highest, less the same before the model, is the live
  // peak wherever in the step it falls ("heap_polled_peak_mib"; polling slows the steps).
  bool heapTrace = false, heapPoll = false;
  // --allocator blocks (tunebench's default: large tensors from core/runtime/cpuallocator.h), heap
  // (malloc with freed memory kept: TUNEBENCH_MALLOC=heap) or default (glibc's own settings:
  // TUNEBENCH_MALLOC=default).
  std::string allocator = "blocks";
  // --seq-min M: the steps' sequence length cycles from --seq down to M in steps of 8, as batches
  // padded to their longest (bucketing, dynamic padding) vary; tokens/s is then the timed steps'
  // tokens over their time.
  int seqMin = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--layers")
      layers = std::stoi(v);
    else if (k == "--hidden")
      hidden = std::stoi(v);
    else if (k == "--batch")
      batch = std::stoi(v);
    else if (k == "--seq")
      seq = std::stoi(v);
    else if (k == "--steps")
      steps = std::stoi(v);
    else if (k == "--warmup")
      warmup = std::stoi(v);
    else if (k == "--threads")
      threads = std::stoi(v);
    else if (k == "--precision")
      precision = v;
    else if (k == "--strategy")
      strategy = v;
    else if (k == "--profile")
      profile = v;
    else if (k == "--peak-between")
      peakBetween = v == "1";
    else if (k == "--compare-shadows")
      compareShadows = v == "1";
    else if (k == "--mode")
      mode = v;
    else if (k == "--checkpoint")
      checkpoint = std::stoi(v);
    else if (k == "--allocator")
      allocator = v;
    else if (k == "--seq-min")
      seqMin = std::stoi(v);
    else if (k == "--heap")
      heapTrace = v == "1" || v == "2", heapPoll = v == "2";
    else {
      std::fprintf(stderr, "bench_trainstep: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  RuntimeOptions options = runtimeOptionsFromEnvironment();
  if (threads > 0)
    options.threads = threads;
  setenv("TUNEBENCH_MALLOC", allocator.c_str(), 1);
  configureRuntime(options);
  if (seqMin <= 0 || seqMin > seq)
    seqMin = seq;
  const int lengths = (seq - seqMin) / 8 + 1;
  std::int64_t length = seq; // of the step running now
  const double baselineMiB = residentMiB(), baselineHeapMiB = heapTrace ? heapInUseMiB() : 0.0;
  const std::size_t polledBaseline = heapPoll ? heapInUseBytes() : 0;
  double heapSampled = 0;
  torch::manual_seed(0);
  const nlohmann::json j = {{"model_type", "bert"},
                            {"vocab_size", 30522},
                            {"hidden_size", hidden},
                            {"num_hidden_layers", layers},
                            {"num_attention_heads", hidden / 64},
                            {"intermediate_size", 4 * hidden},
                            {"max_position_embeddings", 512},
                            {"type_vocab_size", 2},
                            {"hidden_act", "gelu"},
                            {"layer_norm_eps", 1e-12}};
  auto build = [&] {
    torch::manual_seed(0);
    SequenceClassifier m(EncoderConfig::fromJson(j, "bench"), 2);
    if (strategy == "lora") {
      LoraOptions o;
      o.r = 8;
      o.alpha = 16;
      LoraStrategy(o).apply(*m);
    } else if (strategy == "prefix") {
      PrefixTuning({20, false, 0}).apply(*m);
    } else {
      FullFineTuning().apply(*m);
    }
    return m;
  };
  const auto adamW = torch::optim::AdamWOptions(2e-5).weight_decay(0.01);
  auto trainableOf = [](SequenceClassifier &m) {
    std::vector<torch::Tensor> params;
    for (const auto &p : m->parameters())
      if (p.requires_grad())
        params.push_back(p);
    return params;
  };
  SequenceClassifier model = build();
  std::int64_t trainable = 0, nonEmbedding = 0;
  for (const auto &p : model->named_parameters()) {
    if (p.value().requires_grad())
      trainable += p.value().numel();
    if (p.key().find("embeddings") == std::string::npos)
      nonEmbedding += p.value().numel();
  }
  FusedAdamW optimizer(trainableOf(model), adamW);
  const torch::Tensor ids = torch::randint(1000, 30000, {batch, seq}, torch::kLong);
  const torch::Tensor mask = torch::ones({batch, seq}, torch::kLong);
  const torch::Tensor types = torch::zeros({batch, seq}, torch::kLong);
  const torch::Tensor labels = torch::randint(0, 2, {batch}, torch::kLong);
  model->train();
  const auto gemmPeak = [&] {
    double best = 0;
    for (int n : {512, 1024})
      best = std::max(best, measureGemm(precision == "bf16", n, 0.1).gflops);
    return best;
  };
  using bench::Clock;
  using bench::secondsBetween;
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  // One training step; returns the seconds of forward + loss, backward and the optimizer step.
  auto step = [&](SequenceClassifier &m, torch::optim::Optimizer &o) {
    const auto start = Clock::now();
    dropGradients(o);
    torch::Tensor loss;
    {
      AutocastScope autocast(precision == "bf16");
      CheckpointScope checkpointing(checkpoint);
      loss = torch::nn::functional::cross_entropy(
          m(ids.narrow(1, 0, length), mask.narrow(1, 0, length), types.narrow(1, 0, length))
              .logits.to(torch::kFloat),
          labels);
    }
    const auto forward = Clock::now();
    if (heapTrace) // the heap with the step's activations alive (outside the phases' clocks)
      heapSampled = std::max(heapSampled, heapInUseMiB());
    const auto backwardStart = Clock::now();
    loss.backward();
    const auto backward = Clock::now();
    if (heapTrace) // gradients allocated, activations freed
      heapSampled = std::max(heapSampled, heapInUseMiB());
    const auto optimizerStart = Clock::now();
    o.step();
    return std::array<double, 3>{secondsBetween(start, forward), secondsBetween(backwardStart, backward),
                                 secondsBetween(optimizerStart, Clock::now())};
  };
  if (mode == "infer" || mode == "infer-no-grad") {
    model->eval();
    std::vector<double> forwards;
    for (int s = 0; s < warmup + steps; ++s) {
      const auto start = Clock::now();
      std::optional<c10::InferenceMode> inference;
      std::optional<torch::NoGradGuard> noGrad;
      if (mode == "infer")
        inference.emplace();
      else
        noGrad.emplace();
      AutocastScope autocast(precision == "bf16");
      const torch::Tensor logits = model(ids, mask, types).logits.to(torch::kFloat);
      if (s >= warmup)
        forwards.push_back(secondsBetween(start, Clock::now()));
    }
    std::printf("%s\n",
                nlohmann::json({{"engine", "tunebench"},
                                {"mode", mode},
                                {"layers", layers},
                                {"hidden", hidden},
                                {"precision", precision},
                                {"batch", batch},
                                {"seq", seq},
                                {"threads", runtimeInfo().intraOpThreads},
                                {"tokens_per_s", static_cast<double>(batch) * seq / median(forwards)}})
                    .dump()
                    .c_str());
    return 0;
  }
  if (compareShadows) {
    SequenceClassifier other = build();
    other->train();
    FusedAdamW otherOptimizer(trainableOf(other), adamW);
    std::vector<double> on, off;
    for (int s = 0; s < warmup + steps; ++s)
      for (const bool shadows : {s % 2 == 0, s % 2 != 0}) {
        setBf16ShadowsEnabled(shadows);
        const auto phases = shadows ? step(model, optimizer) : step(other, otherOptimizer);
        if (s >= warmup)
          (shadows ? on : off).push_back(phases[0] + phases[1] + phases[2]);
      }
    const double tokens = static_cast<double>(batch) * seq;
    std::printf("%s\n", nlohmann::json({{"layers", layers},
                                        {"hidden", hidden},
                                        {"precision", precision},
                                        {"strategy", strategy},
                                        {"batch", batch},
                                        {"steps", steps},
                                        {"shadows_tokens_per_s", tokens / median(on)},
                                        {"autocast_tokens_per_s", tokens / median(off)},
                                        {"ratio", median(off) / median(on)}})
                            .dump()
                            .c_str());
    return 0;
  }
  std::vector<double> times, phases[3], samples;
  double timedTokens = 0;
  // --profile FILE: one more step after the timed ones, under LibTorch's profiler (a Chrome trace;
  // bench/reference/opprofile.py sums it op by op beside the reference's).
  const int total = warmup + steps + (profile.empty() ? 0 : 1);
  std::atomic<bool> polling{heapPoll};
  std::atomic<std::size_t> polledPeak{0};
  std::thread poller;
  if (heapPoll)
    poller = std::thread([&] {
      while (polling.load()) {
        polledPeak = std::max(polledPeak.load(), heapInUseBytes());
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
  for (int s = 0; s < total; ++s) {
    std::unique_ptr<torch::autograd::profiler::RecordProfile> recording;
    if (s == warmup + steps)
      recording = std::make_unique<torch::autograd::profiler::RecordProfile>(profile);
    const bool timed = s >= warmup && s < warmup + steps;
    if (peakBetween && timed)
      samples.push_back(gemmPeak());
    length = seq - 8 * (s % lengths);
    const auto taken = step(model, optimizer);
    if (timed) {
      timedTokens += static_cast<double>(batch * length);
      times.push_back(taken[0] + taken[1] + taken[2]);
      for (int i = 0; i < 3; ++i)
        phases[i].push_back(taken[i]);
    }
  }
  polling = false;
  if (poller.joinable())
    poller.join();
  if (peakBetween)
    samples.push_back(gemmPeak());
  const double stepSeconds = median(times);
  const double tokens = static_cast<double>(batch) * seq;
  // Model FLOPs per token: forward 2·N (non-embedding weights) + attention A (QKᵀ and PV:
  // 4·seq·hidden per layer). Full fine-tuning: backward = gradients of the activations (2·N + 2·A)
  // and of the weights (2·N): 6·N + 3·A. LoRA and prefix tuning compute no gradients for the frozen
  // weights: 4·N + 3·A (their own small matrices left out).
  const double attention = 4.0 * layers * seq * hidden;
  const double perWeight = strategy == "full" ? 6.0 : 4.0;
  const double flops = tokens * (perWeight * static_cast<double>(nonEmbedding) + 3.0 * attention);
  TransformerShape shape;
  shape.family = "bert";
  shape.vocabSize = 30522;
  shape.hiddenSize = hidden;
  shape.numLayers = layers;
  shape.numHeads = hidden / 64;
  shape.intermediateSize = 4 * hidden;
  shape.maxPositions = 512;
  shape.typeVocabSize = 2;
  shape.pooler = true;
  ExperimentConfig asConfigured; // the strategy as a run names it, for the estimate's activation model
  asConfigured.strategy.name = strategy;
  asConfigured.strategy.prefixTokens = 20;
  const TrainingEstimate estimate = estimateTraining(
      shape, trainable, batch, seq, precision == "bf16" ? Precision::BFloat16 : Precision::Float32, 2,
      checkpoint, layerTrainingOf(asConfigured, shape));
  const CpuAllocatorStats blocks = cpuAllocatorStats();
  nlohmann::json between = nullptr;
  if (peakBetween) {
    std::vector<double> mfu;
    for (std::size_t i = 0; i < times.size(); ++i)
      mfu.push_back(flops / times[i] / 1e9 / std::max(samples[i], samples[i + 1]));
    between = {{"median", median(mfu)},
               {"min", *std::min_element(mfu.begin(), mfu.end())},
               {"max", *std::max_element(mfu.begin(), mfu.end())},
               {"peak_samples", samples}};
  }
  std::printf(
      "%s\n",
      nlohmann::json(
          {{"engine", "tunebench"},
           {"mfu_between", between},
           {"peak_rss_mib", peakResidentMiB()},
           {"baseline_rss_mib", baselineMiB},
           {"heap_sampled_mib", heapTrace ? heapSampled - baselineHeapMiB : 0.0},
           {"heap_polled_peak_mib",
            heapPoll ? static_cast<double>(polledPeak.load() - polledBaseline) / 1048576.0 : 0.0},
           {"checkpoint", checkpoint},
           {"allocator", allocator},
           {"estimate_mib", estimate.totalBytes / (1024.0 * 1024.0)},
           {"layers", layers},
           {"hidden", hidden},
           {"precision", precision},
           {"strategy", strategy},
           {"batch", batch},
           {"seq", seq},
           {"threads", runtimeInfo().intraOpThreads},
           {"step_s", stepSeconds},
           {"seq_min", seqMin},
           {"blocks_reused", blocks.reused},
           {"blocks_carved", blocks.carved},
           {"blocks_assembled", blocks.assembled},
           {"blocks_moved_mib", static_cast<double>(blocks.movedBytes) / 1048576.0},
           {"blocks_mapped", blocks.mapped},
           {"tokens_per_s", lengths > 1 ? timedTokens / std::accumulate(times.begin(), times.end(), 0.0)
                                        : tokens / stepSeconds},
           {"flops_per_step", flops},
           {"forward_s", median(phases[0])},
           {"backward_s", median(phases[1])},
           {"optimizer_s", median(phases[2])},
           {"trainable", trainable}})
          .dump()
          .c_str());
  return 0;
}
