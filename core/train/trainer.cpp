#include "core/train/trainer.h"

#include "core/data/splits.h"
#include "core/eval/metrics.h"
#include "core/models/checkpoint.h"
#include "core/models/generation.h"
#include "core/models/gpt2.h"
#include "core/models/modelconfig.h"
#include "core/models/taskmodel.h"
#include "core/data/instruction.h"
#include "core/runtime/runtime.h"
#include "core/strategies/adapters.h"
#include "core/strategies/basicstrategies.h"
#include "core/strategies/lora.h"
#include "core/strategies/prefix.h"
#include "core/tokenize/tokenizer.h"
#include "core/tokenize/tokenizerloader.h"
#include "core/train/dataprep.h"
#include "core/train/schedule.h"
#include "core/util/error.h"
#include "core/util/files.h"

#include <ATen/autocast_mode.h>
#include <nlohmann/json.hpp>
#include <torch/cuda.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/serialize.h>

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;
namespace F = torch::nn::functional;

namespace {

constexpr const char *kHead = "main";

double peakMemoryMiB()
{
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// bf16 autocast on the CPU for the scope (nothing when off).
class AutocastScope
{
public:
  explicit AutocastScope(bool on) : m_on(on)
  {
    if (!m_on)
      return;
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~AutocastScope()
  {
    if (!m_on)
      return;
    if (at::autocast::decrement_nesting() == 0)
      at::autocast::clear_cache();
    at::autocast::set_cpu_enabled(false);
  }

private:
  bool m_on;
};

std::vector<std::string> defaultLoraTargets(const std::string &family)
{
  if (family == "use-lite")
    return {"qkv"};
  if (family == "gpt2")
    return {"c_attn"};
  if (family == "t5")
    return {"q", "v"};
  if (family == "distilbert")
    return {"q_lin", "v_lin"};
  return {"query", "value"};
}

std::unique_ptr<Strategy> makeStrategy(const ExperimentConfig &c, const std::string &family, const Tokenizer &tokenizer)
{
  const auto &s = c.strategy;
  if (s.name == "full")
    return std::make_unique<FullFineTuning>();
  if (s.name == "linear_probe")
    return std::make_unique<LinearProbe>();
  if (s.name == "bitfit")
    return std::make_unique<BitFit>();
  if (s.name == "ia3")
    return std::make_unique<Ia3Strategy>();
  if (s.name == "partial") {
    PartialOptions o;
    o.freezeEmbeddings = s.freezeEmbeddings;
    o.freezeBottomLayers = s.freezeBottomLayers;
    o.freezeLayers = std::set<int>(s.freezeLayers.begin(), s.freezeLayers.end());
    o.layerDecay = s.layerDecay;
    if (s.headLrScale > 0)
      o.headLearningRateScale = s.headLrScale;
    return std::make_unique<PartialFineTuning>(o);
  }
  if (s.name == "lora") {
    LoraOptions o;
    o.r = s.loraR;
    o.alpha = s.loraAlpha;
    o.dropout = s.loraDropout;
    o.targets = s.loraTargets.empty() ? defaultLoraTargets(family) : s.loraTargets;
    o.rsLora = s.rsLora;
    o.bias = s.loraBias;
    o.seed = c.seed;
    return std::make_unique<LoraStrategy>(o);
  }
  if (s.name == "prompt") {
    PromptOptions o;
    o.virtualTokens = s.promptTokens;
    for (const Token &t : tokenizer.tokenize(s.promptInitText))
      o.initIds.push_back(t.id);
    return std::make_unique<PromptTuning>(o);
  }
  if (s.name == "prefix")
    return std::make_unique<PrefixTuning>(PrefixOptions{s.prefixTokens, s.prefixReparameterize, s.prefixHidden});
  if (s.name == "adapters")
    return std::make_unique<AdapterStrategy>(AdapterOptions{s.adapterKind, s.adapterReduction, s.adapterActivation});
  throw Error("strategy \"" + s.name + "\" is not known");
}

HeadKind headKind(const ExperimentConfig &c)
{
  if (c.task.kind == "multi_label")
    return HeadKind::MultiLabel;
  if (c.task.kind == "token_tagging")
    return HeadKind::TokenClassification;
  return HeadKind::Classification;
}

// The model of an experiment: a backbone (pre-trained or random) with one task head, or a causal
// language model (GPT-2, loaded or made from scratch); the strategy applied to it.
struct BuiltModel
{
  std::shared_ptr<torch::nn::Module> model; // what strategies, the optimizer and checkpoints see
  TaskModel task{nullptr};
  Gpt2LMHeadModel lm{nullptr};
  std::unique_ptr<Strategy> strategy;
  std::string loadReport;
  std::string configJson; // language models: config.json for export

  torch::Tensor forward(const torch::Tensor &ids, const torch::Tensor &mask, const torch::Tensor &types)
  {
    return lm ? lm->forward(ids, mask) : task->forward(kHead, ids, mask, types);
  }
};

Gpt2Config languageModelConfig(const ExperimentConfig &c, const Tokenizer &tokenizer, const fs::path &folder)
{
  if (fileExists(folder / "config.json")) {
    const std::string type = readModelType(folder / "config.json");
    if (type != "gpt2")
      throw Error((folder / "config.json").string() + ": model_type \"" + type +
                  "\": causal language modelling runs on GPT-2 models here");
    return Gpt2Config::fromFile(folder / "config.json");
  }
  if (c.model.init != "random")
    throw Error(folder.string() + ": no config.json; set model.init: random to train a GPT-2 from scratch with the "
                                  "tokenizer in this folder");
  const int eos = endOfTextId(tokenizer);
  const json config = {{"model_type", "gpt2"}, {"architectures", {"GPT2LMHeadModel"}},
                       {"vocab_size", tokenizer.vocabSize()}, {"n_embd", c.model.scratchHidden},
                       {"n_layer", c.model.scratchLayers}, {"n_head", c.model.scratchHeads},
                       {"n_positions", std::max(c.model.maxLength, 512)}, {"n_ctx", std::max(c.model.maxLength, 512)},
                       {"bos_token_id", eos}, {"eos_token_id", eos}, {"activation_function", "gelu_new"},
                       {"layer_norm_epsilon", 1e-5}, {"resid_pdrop", 0.1}, {"embd_pdrop", 0.1}, {"attn_pdrop", 0.1}};
  return Gpt2Config::fromJson(config, "model.scratch");
}

BuiltModel buildModel(const ExperimentConfig &c, int outputs, const Tokenizer &tokenizer)
{
  BuiltModel b;
  const fs::path folder = c.resolve(c.model.path);
  std::string family;
  if (c.isLanguageModelling()) {
    const Gpt2Config config = languageModelConfig(c, tokenizer, folder);
    b.lm = Gpt2LMHeadModel(config);
    if (c.model.init == "random")
      b.lm->initialiseWeights();
    else {
      const LoadReport r = loadStateDict(*b.lm, readCheckpoint(folder), folder.string(), "", {});
      b.loadReport = r.summary();
    }
    json raw = config.raw.is_object() ? config.raw : json::object();
    b.configJson = raw.dump(2);
    b.model = b.lm.ptr();
    family = "gpt2";
  } else {
    std::unique_ptr<Backbone> backbone =
        c.model.init == "random" ? randomBackbone(folder) : loadBackbone(folder, &b.loadReport);
    family = backbone->family();
    b.task = TaskModel(std::move(backbone));
    HeadSpec spec;
    spec.name = kHead;
    spec.kind = headKind(c);
    spec.outputs = outputs;
    spec.pooling =
        c.task.pooling == "first" ? Pooling::First : c.task.pooling == "mean" ? Pooling::Mean : Pooling::Native;
    spec.dropout = c.task.headDropout;
    b.task->addHead(spec);
    b.model = b.task.ptr();
  }
  if (c.training.dropout >= 0)
    for (const auto &m : b.model->modules(false))
      if (auto *d = dynamic_cast<torch::nn::DropoutImpl *>(m.get()))
        d->options.p(c.training.dropout);
  b.strategy = makeStrategy(c, family, tokenizer);
  b.strategy->apply(*b.model);
  return b;
}

// Every parameter and buffer by name, written through a temporary file.
void saveModel(torch::nn::Module &model, const fs::path &file)
{
  torch::serialize::OutputArchive archive;
  torch::NoGradGuard noGrad;
  for (const auto &p : model.named_parameters())
    archive.write(p.key(), p.value());
  for (const auto &b : model.named_buffers())
    archive.write(b.key(), b.value(), true);
  fs::create_directories(file.parent_path());
  archive.save_to(file.string() + ".tmp");
  fs::rename(file.string() + ".tmp", file);
}

void loadModel(torch::nn::Module &model, const fs::path &file)
{
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(file.string());
  } catch (const c10::Error &e) {
    throw Error(file.string() + ": cannot be read (" + std::string(e.what_without_backtrace()) + ")");
  }
  torch::NoGradGuard noGrad;
  for (auto &p : model.named_parameters()) {
    torch::Tensor t;
    if (!archive.try_read(p.key(), t))
      throw Error(file.string() + ": has no tensor \"" + p.key() + "\" (was the config changed?)");
    p.value().copy_(t);
  }
  for (auto &b : model.named_buffers()) {
    torch::Tensor t;
    if (archive.try_read(b.key(), t, true))
      b.value().copy_(t);
  }
}

// A batch as tensors.
struct Batch
{
  torch::Tensor ids, mask, types, labels;
  std::vector<int> rows;
  long tokens = 0;
};

Batch collate(const std::vector<EncodedExample> &encoded, const std::vector<int> &rows, int padId,
              const std::string &task, int labelCount)
{
  std::size_t width = 1;
  for (int r : rows)
    width = std::max(width, encoded[static_cast<std::size_t>(r)].ids.size());
  const auto n = static_cast<long>(rows.size());
  const auto w = static_cast<long>(width);
  Batch b;
  b.rows = rows;
  b.ids = torch::full({n, w}, padId, torch::kLong);
  b.mask = torch::zeros({n, w}, torch::kLong);
  b.types = torch::zeros({n, w}, torch::kLong);
  auto ids = b.ids.accessor<long, 2>();
  auto mask = b.mask.accessor<long, 2>();
  auto types = b.types.accessor<long, 2>();
  const bool perToken = task == "token_tagging" || task == "causal_lm" || task == "instruction";
  if (perToken)
    b.labels = torch::full({n, w}, -100, torch::kLong);
  else if (task == "multi_label")
    b.labels = torch::zeros({n, labelCount}, torch::kFloat);
  else
    b.labels = torch::zeros({n}, torch::kLong);
  for (long i = 0; i < n; ++i) {
    const EncodedExample &e = encoded[static_cast<std::size_t>(rows[static_cast<std::size_t>(i)])];
    for (std::size_t t = 0; t < e.ids.size(); ++t) {
      ids[i][static_cast<long>(t)] = e.ids[t];
      mask[i][static_cast<long>(t)] = 1;
      types[i][static_cast<long>(t)] = t < e.typeIds.size() ? e.typeIds[t] : 0;
    }
    b.tokens += static_cast<long>(e.ids.size());
    if (perToken) {
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

// Batches of one epoch: a seeded shuffle; with bucketing, chunks of 50 batches are sorted by
// length before they are cut (less padding), and the batch order is shuffled again.
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

// Loss of a batch's logits.
torch::Tensor lossOf(const torch::Tensor &logits, const Batch &b, const std::string &task, double smoothing)
{
  const torch::Tensor x = logits.to(torch::kFloat);
  if (task == "multi_label")
    return F::binary_cross_entropy_with_logits(x, b.labels);
  auto options = F::CrossEntropyFuncOptions().label_smoothing(smoothing).ignore_index(-100);
  if (task == "causal_lm" || task == "instruction") // position t predicts token t + 1
    return F::cross_entropy(x.narrow(1, 0, x.size(1) - 1).reshape({-1, x.size(-1)}),
                            b.labels.narrow(1, 1, b.labels.size(1) - 1).reshape({-1}), options);
  if (task == "token_tagging")
    return F::cross_entropy(x.reshape({-1, x.size(-1)}), b.labels.reshape({-1}), options);
  return F::cross_entropy(x, b.labels, options);
}

bool noDecay(const std::string &name)
{
  return name.find("bias") != std::string::npos || name.find("norm") != std::string::npos ||
         name.find("LayerNorm") != std::string::npos || name.find("ln_") != std::string::npos ||
         name.find("layer_norm") != std::string::npos;
}

json eventJson(const StepEvent &e)
{
  return {{"type", "step"}, {"step", e.step}, {"epoch", e.epoch}, {"loss", e.loss}, {"lr", e.learningRate},
          {"grad_norm", e.gradNorm}, {"tokens_per_s", e.tokensPerSecond}, {"elapsed_s", e.elapsedSeconds}};
}

json eventJson(const EvalEvent &e)
{
  return {{"type", "eval"}, {"step", e.step}, {"epoch", e.epoch}, {"split", e.split}, {"loss", e.loss},
          {"metrics", e.metrics}, {"best", e.best}};
}

json diagnosisJson(const Diagnosis &d)
{
  return {{"kind", diagnosisKindName(d.kind)}, {"step", d.step}, {"title", d.title}, {"evidence", d.evidence},
          {"remedies", d.remedies}, {"critical", d.critical}};
}

// Evaluation of a model on some rows: loss and the metrics of the task.
struct Evaluation
{
  EvalEvent event;
  struct Sample
  {
    std::string prompt, generated, reference;
  };
  std::vector<Sample> samples; // instruction tuning: a few generated answers
  std::vector<std::vector<double>> probabilities; // classification: per row, per label
  std::vector<std::vector<std::string>> predictedTags;
};

// Language models: token-weighted loss, perplexity, next-token accuracy; for instruction tuning
// also greedy answers to the first `evaluation.generate` rows scored with BLEU, ROUGE-L and exact
// match against the reference outputs.
Evaluation evaluateLanguageModel(BuiltModel &model, const PreparedData &data, const std::vector<int> &rows,
                                 const ExperimentConfig &c, int padId, bool bf16, const Tokenizer *tokenizer)
{
  Evaluation out;
  model.model->eval();
  torch::NoGradGuard noGrad;
  double nll = 0;
  long count = 0, right = 0;
  {
    AutocastScope autocast(bf16);
    const std::size_t bs = static_cast<std::size_t>(std::max(c.training.batchSize, 8));
    for (std::size_t at = 0; at < rows.size(); at += bs) {
      const std::vector<int> chunk(rows.begin() + static_cast<std::ptrdiff_t>(at),
                                   rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), at + bs)));
      const Batch b = collate(data.encoded, chunk, padId, c.task.kind, 0);
      const torch::Tensor logits = model.forward(b.ids, b.mask, b.types).to(torch::kFloat);
      const torch::Tensor x = logits.narrow(1, 0, logits.size(1) - 1).reshape({-1, logits.size(-1)});
      const torch::Tensor y = b.labels.narrow(1, 1, b.labels.size(1) - 1).reshape({-1});
      const torch::Tensor valid = y.ne(-100);
      nll += F::cross_entropy(x, y, F::CrossEntropyFuncOptions().ignore_index(-100).reduction(torch::kSum)).item<double>();
      count += valid.sum().item<long>();
      right += (x.argmax(-1).eq(y) & valid).sum().item<long>();
    }
  }
  EvalEvent &e = out.event;
  e.loss = count ? nll / static_cast<double>(count) : 0.0;
  e.metrics["loss"] = e.loss;
  e.metrics["perplexity"] = perplexity(e.loss);
  e.metrics["token_accuracy"] = count ? static_cast<double>(right) / static_cast<double>(count) : 0.0;
  if (c.task.kind == "instruction" && tokenizer && c.evaluation.generate > 0) {
    const auto templ = promptTemplate(c.task.promptTemplate);
    GenerationOptions g;
    g.maxNewTokens = c.evaluation.maxNewTokens;
    if (const int eos = endOfTextId(*tokenizer); eos >= 0)
      g.stopTokens = {eos};
    std::vector<std::vector<std::string>> hyps;
    std::vector<std::vector<std::vector<std::string>>> refs;
    std::vector<std::string> hypText, refText;
    double rouge = 0;
    const std::size_t n = std::min(rows.size(), static_cast<std::size_t>(c.evaluation.generate));
    for (std::size_t i = 0; i < n; ++i) {
      const Example &x = data.dataset.examples[static_cast<std::size_t>(data.encoded[static_cast<std::size_t>(rows[i])].row)];
      std::vector<int> prompt;
      for (const Token &t : tokenizer->tokenize(renderPrompt(x, *templ)))
        prompt.push_back(t.id);
      std::vector<int> answer = generate(*model.lm, prompt, g);
      if (!answer.empty() && !g.stopTokens.empty() && answer.back() == g.stopTokens.front())
        answer.pop_back();
      const std::string text = tokenizer->decode(answer);
      hypText.push_back(text);
      refText.push_back(x.output);
      hyps.push_back(splitWords(text));
      refs.push_back({splitWords(x.output)});
      rouge += rougeL(hyps.back(), refs.back().front()) / static_cast<double>(n);
      if (i < 3)
        out.samples.push_back({renderPrompt(x, *templ), text, x.output});
    }
    if (n > 0) {
      e.metrics["bleu"] = corpusBleu(hyps, refs);
      e.metrics["rouge_l"] = rouge;
      e.metrics["exact_match"] = exactMatch(hypText, refText);
    }
  }
  model.model->train();
  return out;
}

Evaluation evaluateRows(BuiltModel &built, const PreparedData &data, const std::vector<int> &rows,
                        const ExperimentConfig &c, int padId, bool bf16, const Tokenizer *tokenizer = nullptr)
{
  if (c.isLanguageModelling())
    return evaluateLanguageModel(built, data, rows, c, padId, bf16, tokenizer);
  Evaluation out;
  torch::nn::Module *model = built.model.get();
  model->eval();
  torch::NoGradGuard noGrad;
  AutocastScope autocast(bf16);
  const std::string &task = c.task.kind;
  const int labelCount = static_cast<int>(data.labels.size());
  double lossSum = 0;
  long lossCount = 0;
  std::vector<int> truth, predicted;
  std::vector<std::vector<int>> truthSets, predictedSets;
  std::vector<std::vector<std::string>> truthTags, predictedTags;
  // Sorted by length for evaluation: less padding.
  std::vector<int> order = rows;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return data.encoded[static_cast<std::size_t>(a)].ids.size() > data.encoded[static_cast<std::size_t>(b)].ids.size();
  });
  const std::size_t bs = static_cast<std::size_t>(std::max(c.training.batchSize, 32));
  std::map<int, std::size_t> position;
  for (std::size_t i = 0; i < rows.size(); ++i)
    position[rows[i]] = i;
  out.probabilities.assign(rows.size(), {});
  out.predictedTags.assign(rows.size(), {});
  truth.assign(rows.size(), -1);
  predicted.assign(rows.size(), -1);
  truthSets.assign(rows.size(), {});
  predictedSets.assign(rows.size(), {});
  truthTags.assign(rows.size(), {});
  for (std::size_t at = 0; at < order.size(); at += bs) {
    const std::vector<int> chunk(order.begin() + static_cast<std::ptrdiff_t>(at),
                                 order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), at + bs)));
    const Batch b = collate(data.encoded, chunk, padId, task, labelCount);
    const torch::Tensor logits = built.forward(b.ids, b.mask, b.types).to(torch::kFloat);
    const torch::Tensor loss = lossOf(logits, b, task, 0.0);
    lossSum += loss.item<double>() * static_cast<double>(chunk.size());
    lossCount += static_cast<long>(chunk.size());
    if (task == "token_tagging") {
      const torch::Tensor argmax = logits.argmax(-1);
      auto am = argmax.accessor<long, 2>();
      for (std::size_t i = 0; i < chunk.size(); ++i) {
        const std::size_t pos = position[chunk[i]];
        const Example &x = data.dataset.examples[static_cast<std::size_t>(chunk[i])];
        const EncodedExample &e = data.encoded[static_cast<std::size_t>(chunk[i])];
        std::vector<std::string> tags(x.tokens.size(), "O");
        std::vector<bool> seen(x.tokens.size(), false);
        for (std::size_t t = 0; t < e.wordIds.size(); ++t) {
          const int word = e.wordIds[t];
          if (word < 0 || static_cast<std::size_t>(word) >= tags.size() || seen[static_cast<std::size_t>(word)])
            continue;
          seen[static_cast<std::size_t>(word)] = true;
          tags[static_cast<std::size_t>(word)] = data.labels[static_cast<std::size_t>(am[static_cast<long>(i)][static_cast<long>(t)])];
        }
        truthTags[pos] = x.tags;
        out.predictedTags[pos] = tags;
      }
    } else if (task == "multi_label") {
      const torch::Tensor probs = torch::sigmoid(logits);
      for (std::size_t i = 0; i < chunk.size(); ++i) {
        const std::size_t pos = position[chunk[i]];
        const EncodedExample &e = data.encoded[static_cast<std::size_t>(chunk[i])];
        for (int k = 0; k < labelCount; ++k) {
          const double p = probs[static_cast<long>(i)][k].item<double>();
          out.probabilities[pos].push_back(p);
          if (p >= 0.5)
            predictedSets[pos].push_back(k);
          if (e.multiLabel[static_cast<std::size_t>(k)] > 0.5f)
            truthSets[pos].push_back(k);
        }
      }
    } else {
      const torch::Tensor probs = torch::softmax(logits, -1).contiguous();
      auto pa = probs.accessor<float, 2>();
      for (std::size_t i = 0; i < chunk.size(); ++i) {
        const std::size_t pos = position[chunk[i]];
        int best = 0;
        for (int k = 0; k < labelCount; ++k) {
          out.probabilities[pos].push_back(pa[static_cast<long>(i)][k]);
          if (pa[static_cast<long>(i)][k] > pa[static_cast<long>(i)][best])
            best = k;
        }
        predicted[pos] = best;
        truth[pos] = data.encoded[static_cast<std::size_t>(chunk[i])].label;
      }
    }
  }
  EvalEvent &e = out.event;
  e.loss = lossCount ? lossSum / static_cast<double>(lossCount) : 0.0;
  e.metrics["loss"] = e.loss;
  if (task == "token_tagging") {
    if (c.data.tagScheme != "plain" && detectTagScheme(truthTags) != TagScheme::Plain) { // POS tags have no entities
      const EntityMetrics em = entityMetrics(truthTags, out.predictedTags);
      e.metrics["entity_f1"] = em.micro.f1;
      e.metrics["entity_precision"] = em.micro.precision;
      e.metrics["entity_recall"] = em.micro.recall;
    }
    e.metrics["token_accuracy"] = tokenAccuracy(truthTags, out.predictedTags);
    e.metrics["accuracy"] = e.metrics["token_accuracy"];
  } else {
    const ClassificationMetrics m = task == "multi_label" ? multiLabelMetrics(truthSets, predictedSets, data.labels)
                                                          : classificationMetrics(truth, predicted, data.labels);
    e.metrics["accuracy"] = m.accuracy;
    e.metrics["macro_f1"] = m.macro.f1;
    e.metrics["micro_f1"] = m.micro.f1;
    e.metrics["weighted_f1"] = m.weighted.f1;
  }
  model->train();
  return out;
}

std::string timestamp()
{
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%d-%H%M%S", &tm);
  return buffer;
}

void writeJson(const fs::path &file, const json &j) { writeFileAtomically(file, j.dump(2) + "\n"); }

json readJson(const fs::path &file)
{
  std::ifstream in(file);
  if (!in)
    throw Error(file.string() + ": cannot be read");
  try {
    return json::parse(in);
  } catch (const json::exception &e) {
    throw Error(file.string() + ": not valid JSON (" + e.what() + ")");
  }
}

} // namespace

fs::path newRunDir(const ExperimentConfig &config)
{
  const fs::path root = config.resolve(config.output.runs);
  std::string base = config.name.empty() ? std::string("run") : config.name;
  for (char &ch : base)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.')
      ch = '_';
  fs::path dir = root / (base + "-" + timestamp());
  for (int i = 2; fs::exists(dir); ++i)
    dir = root / (base + "-" + timestamp() + "-" + std::to_string(i));
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Trainer

struct Trainer::Impl
{
  ExperimentConfig config;
  fs::path runDir;
  TrainingObserver defaultObserver;
  TrainingObserver *observer = &defaultObserver;
  std::atomic<bool> stop{false};
  std::atomic<bool> paused{false};

  std::unique_ptr<Tokenizer> tokenizer;
  PreparedData data;
  BuiltModel built;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::vector<double> groupLr; // base LR of each optimizer group (before the schedule)
  int padId = 0;
  bool bf16 = false;
  bool prepared = false;

  long step = 0;
  int epoch = 0;
  long batchInEpoch = 0;
  long stepsPerEpoch = 1;
  long totalSteps = 1;
  long warmup = 0;
  double best = std::nan("");
  long bestStep = -1;
  int badEvals = 0;
  double plateauScale = 1.0;
  double plateauBest = std::nan("");
  int plateauBad = 0;
  double elapsedBefore = 0;
  std::set<std::string> raised; // diagnosis kinds already reported
  TrainingCurves curves;
  std::vector<Diagnosis> diagnoses;
  std::ofstream events;

  void log(const std::string &message) { observer->onLog(message); }

  bool better(double value, double reference) const
  {
    if (std::isnan(reference))
      return true;
    const double t = config.evaluation.threshold;
    return config.higherIsBetter() ? value > reference + t : value < reference - t;
  }

  void prepare()
  {
    if (prepared)
      return;
    if (config.training.threads > 0)
      torch::set_num_threads(config.training.threads);
    const fs::path modelDir = config.resolve(config.model.path);
    tokenizer = loadTokenizer(modelDir);
    DataReport report;
    data = prepareData(config, *tokenizer, report);
    for (const std::string &line : data.log)
      log(line);
    if (!config.isLanguageModelling() &&
        static_cast<int>(data.labels.size()) < (config.task.kind == "single_label" ? 2 : 1))
      throw Error(config.resolve(config.data.path).string() + ": the training data has " +
                  std::to_string(data.labels.size()) + " label(s); classification needs at least 2");
    padId = std::max(0, tokenizer->specialTokens().pad);
    torch::manual_seed(config.seed);
    built = buildModel(config, static_cast<int>(data.labels.size()), *tokenizer);
    if (!built.loadReport.empty())
      log(built.loadReport);
    const TrainableReport tr = trainableReport(*built.model);
    log(tr.summary());
    if (tr.trainable == 0)
      throw Error("strategy \"" + config.strategy.name + "\" leaves no parameter to train");
    // Devices: Debian's LibTorch is built without CUDA; a CUDA request says so instead of
    // silently training on the CPU.
    if (config.training.device == "cuda" && !torch::cuda::is_available())
      throw Error("training.device is cuda, but this LibTorch build has no CUDA device available "
                  "(`tunebench-cli --version` shows it); use cpu or auto");
    if (config.training.precision == "fp16")
      throw Error("training.precision fp16 needs CUDA (loss scaling on a GPU); on this CPU use bf16 or fp32");
    const std::string precision = config.training.precision;
    bf16 = precision == "bf16" || (precision == "auto" && cpuSupportsBf16());
    if (bf16)
      log("mixed precision: bf16 autocast on the CPU");

    const long batches = static_cast<long>((data.split.train.size() + static_cast<std::size_t>(config.training.batchSize) - 1) /
                                           static_cast<std::size_t>(config.training.batchSize));
    stepsPerEpoch = std::max(1L, (batches + config.training.gradientAccumulation - 1) / config.training.gradientAccumulation);
    totalSteps = config.training.maxSteps > 0 ? config.training.maxSteps : stepsPerEpoch * config.training.epochs;
    warmup = config.training.warmupSteps > 0 ? config.training.warmupSteps
                                             : std::lround(config.training.warmupRatio * static_cast<double>(totalSteps));
    curves.stepsPerEpoch = stepsPerEpoch;
    buildOptimizer();
    prepared = true;
  }

  void buildOptimizer()
  {
    const auto &t = config.training;
    double lr = t.learningRate;
    if (t.scaleLrWithBatch)
      lr *= static_cast<double>(t.batchSize * t.gradientAccumulation) / 32.0;
    std::map<const void *, std::string> names;
    for (const auto &p : built.model->named_parameters())
      names[p.value().unsafeGetTensorImpl()] = p.key();
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groupLr.clear();
    auto options = [&](double groupLrValue, double decay) -> std::unique_ptr<torch::optim::OptimizerOptions> {
      if (t.optimizer == "sgd")
        return std::make_unique<torch::optim::SGDOptions>(
            torch::optim::SGDOptions(groupLrValue).momentum(t.momentum).nesterov(t.nesterov && t.momentum > 0).weight_decay(decay));
      if (t.optimizer == "adam")
        return std::make_unique<torch::optim::AdamOptions>(
            torch::optim::AdamOptions(groupLrValue).betas({t.beta1, t.beta2}).eps(t.eps).weight_decay(decay));
      return std::make_unique<torch::optim::AdamWOptions>(
          torch::optim::AdamWOptions(groupLrValue).betas({t.beta1, t.beta2}).eps(t.eps).weight_decay(decay));
    };
    for (const ParameterGroup &g : built.strategy->parameterGroups(*built.model)) {
      std::vector<torch::Tensor> decayed, plain;
      for (const torch::Tensor &p : g.parameters)
        (noDecay(names[p.unsafeGetTensorImpl()]) ? plain : decayed).push_back(p);
      for (auto *list : {&decayed, &plain}) {
        if (list->empty())
          continue;
        const double groupLrValue = lr * g.learningRateScale;
        groups.emplace_back(*list, options(groupLrValue, list == &decayed ? t.weightDecay : 0.0));
        groupLr.push_back(groupLrValue);
      }
    }
    if (t.optimizer == "sgd")
      optimizer = std::make_unique<torch::optim::SGD>(groups, torch::optim::SGDOptions(lr));
    else if (t.optimizer == "adam")
      optimizer = std::make_unique<torch::optim::Adam>(groups, torch::optim::AdamOptions(lr));
    else
      optimizer = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(lr));
  }

  double applySchedule()
  {
    const auto &t = config.training;
    const double factor = learningRateFactor(t.scheduler, step, totalSteps, warmup, t.cycles, t.power) * plateauScale;
    auto &groups = optimizer->param_groups();
    for (std::size_t i = 0; i < groups.size(); ++i)
      groups[i].options().set_lr(groupLr[i] * factor);
    return groupLr.empty() ? 0.0 : groupLr.front() * factor;
  }

  // --- state -------------------------------------------------------------------------------
  fs::path stateDir() const { return runDir / "state"; }

  void saveState()
  {
    const fs::path tmp = runDir / "state.tmp";
    fs::remove_all(tmp);
    fs::create_directories(tmp);
    saveModel(*built.model, tmp / "model.pt");
    torch::serialize::OutputArchive opt;
    optimizer->save(opt);
    opt.write("rng", torch::globalContext().defaultGenerator(at::kCPU).get_state(), true);
    opt.save_to((tmp / "optimizer.pt").string());
    writeJson(tmp / "trainer.json", {{"step", step}, {"epoch", epoch}, {"batch_in_epoch", batchInEpoch},
                                     {"best", std::isnan(best) ? json(nullptr) : json(best)}, {"best_step", bestStep},
                                     {"bad_evals", badEvals}, {"plateau_scale", plateauScale},
                                     {"plateau_best", std::isnan(plateauBest) ? json(nullptr) : json(plateauBest)},
                                     {"plateau_bad", plateauBad}, {"elapsed_s", elapsedBefore + elapsed()},
                                     {"raised", std::vector<std::string>(raised.begin(), raised.end())}});
    fs::remove_all(stateDir());
    fs::rename(tmp, stateDir());
    observer->onCheckpoint("last", stateDir());
  }

  void loadState()
  {
    const json s = readJson(stateDir() / "trainer.json");
    step = s.value("step", 0L);
    epoch = s.value("epoch", 0);
    batchInEpoch = s.value("batch_in_epoch", 0L);
    best = s["best"].is_null() ? std::nan("") : s["best"].get<double>();
    bestStep = s.value("best_step", -1L);
    badEvals = s.value("bad_evals", 0);
    plateauScale = s.value("plateau_scale", 1.0);
    plateauBest = s["plateau_best"].is_null() ? std::nan("") : s["plateau_best"].get<double>();
    plateauBad = s.value("plateau_bad", 0);
    elapsedBefore = s.value("elapsed_s", 0.0);
    for (const std::string &r : s.value("raised", std::vector<std::string>()))
      raised.insert(r);
    loadModel(*built.model, stateDir() / "model.pt");
    torch::serialize::InputArchive opt;
    opt.load_from((stateDir() / "optimizer.pt").string());
    optimizer->load(opt);
    torch::Tensor rng;
    if (opt.try_read("rng", rng, true))
    {
      at::Generator generator = torch::globalContext().defaultGenerator(at::kCPU);
      generator.set_state(rng);
    }
    // The event log keeps what happened up to the saved step; curves are rebuilt from it.
    std::vector<std::string> kept;
    std::ifstream in(runDir / "events.jsonl");
    for (std::string line; std::getline(in, line);) {
      json j;
      try {
        j = json::parse(line);
      } catch (const json::exception &) {
        break; // a line cut by the crash
      }
      if (j.value("step", 0L) > step)
        continue;
      kept.push_back(line);
      addToCurves(j);
    }
    std::string text;
    for (const std::string &line : kept)
      text += line + "\n";
    writeFileAtomically(runDir / "events.jsonl", text);
    log("resumed at step " + std::to_string(step) + " (epoch " + std::to_string(epoch + 1) + ")");
  }

  void addToCurves(const json &j)
  {
    const long s = j.value("step", 0L);
    if (j.value("type", "") == "step") {
      curves.trainLoss.push_back({s, j.value("loss", 0.0)});
      curves.gradNorm.push_back({s, j.value("grad_norm", 0.0)});
      curves.learningRate.push_back({s, j.value("lr", 0.0)});
    } else if (j.value("type", "") == "eval" && j.value("split", "") == "validation") {
      curves.validationLoss.push_back({s, j.value("loss", 0.0)});
      const auto metrics = j.value("metrics", std::map<std::string, double>());
      const auto it = metrics.find(config.selectionMetric());
      if (it != metrics.end())
        curves.validationMetric.push_back({s, config.higherIsBetter() ? it->second : -it->second});
    }
  }

  void record(const json &j)
  {
    events << j.dump() << "\n";
    events.flush();
    addToCurves(j);
  }

  // --- time --------------------------------------------------------------------------------
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  double elapsed() const
  {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }

  // --- evaluation, early stopping, diagnosis -----------------------------------------------
  // Returns true when training should stop (early stopping or a critical diagnosis).
  bool validate(std::string &why)
  {
    Evaluation ev = evaluateRows(built, data, data.split.validation, config, padId, bf16, tokenizer.get());
    EvalEvent &e = ev.event;
    e.step = step;
    e.epoch = epoch;
    e.split = "validation";
    // The selection metric (accuracy when the data has no such metric, e.g. entity F1 on POS tags).
    const auto found = e.metrics.find(config.selectionMetric());
    const double value = found != e.metrics.end() ? found->second : e.metrics["accuracy"];
    e.best = better(value, best);
    if (e.best) {
      best = value;
      bestStep = step;
      badEvals = 0;
      if (config.output.saveBest) {
        saveModel(*built.model, runDir / "best" / "model.pt");
        observer->onCheckpoint("best", runDir / "best");
      }
    } else {
      ++badEvals;
    }
    if (config.training.scheduler == "plateau") {
      if (better(value, plateauBest)) {
        plateauBest = value;
        plateauBad = 0;
      } else if (++plateauBad > config.training.plateauPatience) {
        plateauScale *= config.training.plateauFactor;
        plateauBad = 0;
        log("learning rate reduced to " + std::to_string(plateauScale) + " × base (no improvement)");
      }
    }
    record(eventJson(e));
    observer->onEvaluation(e);
    for (const Evaluation::Sample &sample : ev.samples)
      log("sample: " + sample.prompt + sample.generated + "\n  (reference: " + sample.reference + ")");
    for (const Diagnosis &d : diagnose(curves, std::max(2, std::min(3, config.evaluation.patience)))) {
      const std::string kind = diagnosisKindName(d.kind);
      if (raised.count(kind))
        continue;
      raised.insert(kind);
      diagnoses.push_back(d);
      record({{"type", "diagnosis"}, {"step", step}, {"diagnosis", diagnosisJson(d)}});
      observer->onDiagnosis(d);
      if (d.critical) {
        why = d.title + ": " + d.evidence;
        return true;
      }
    }
    if (config.evaluation.patience > 0 && badEvals >= config.evaluation.patience) {
      why = "early stopping: " + config.selectionMetric() + " did not improve for " + std::to_string(badEvals) +
            " evaluations (best " + std::to_string(best) + " at step " + std::to_string(bestStep) + ")";
      return true;
    }
    return false;
  }

  RunResult finish(const std::string &status, const std::string &reason)
  {
    RunResult r;
    r.status = status;
    r.reason = reason;
    r.steps = step;
    r.bestStep = bestStep;
    r.bestMetric = std::isnan(best) ? 0.0 : best;
    r.metric = config.selectionMetric();
    r.seconds = elapsedBefore + elapsed();
    const TrainableReport tr = trainableReport(*built.model);
    r.trainableParameters = tr.trainable;
    r.totalParameters = tr.total;
    curves.finished = true;
    for (const Diagnosis &d : diagnose(curves, 2)) {
      const std::string kind = diagnosisKindName(d.kind);
      if (!raised.count(kind)) {
        raised.insert(kind);
        diagnoses.push_back(d);
        observer->onDiagnosis(d);
      }
    }
    r.diagnoses = diagnoses;
    if (status != "stopped") {
      if (fileExists(runDir / "best" / "model.pt"))
        loadModel(*built.model, runDir / "best" / "model.pt");
      Evaluation v = evaluateRows(built, data, data.split.validation, config, padId, bf16, tokenizer.get());
      r.validation = v.event;
      r.validation.split = "validation";
      r.validation.step = bestStep;
      if (!data.split.test.empty()) {
        Evaluation t = evaluateRows(built, data, data.split.test, config, padId, bf16, tokenizer.get());
        r.test = t.event;
        r.test.split = "test";
        r.test.step = bestStep;
        record(eventJson(r.test));
        observer->onEvaluation(r.test);
      }
      if (config.task.kind == "single_label" && !data.split.test.empty()) {
        std::map<int, int> counts;
        for (int row : data.split.train)
          ++counts[data.encoded[static_cast<std::size_t>(row)].label];
        int majority = 0, most = -1;
        for (const auto &[label, n] : counts)
          if (n > most) {
            most = n;
            majority = label;
          }
        int right = 0;
        for (int row : data.split.test)
          right += data.encoded[static_cast<std::size_t>(row)].label == majority;
        r.majorityBaseline = static_cast<double>(right) / static_cast<double>(data.split.test.size());
      }
    }
    r.peakMemoryMiB = peakMemoryMiB();
    json diag = json::array();
    for (const Diagnosis &d : r.diagnoses)
      diag.push_back(diagnosisJson(d));
    writeJson(runDir / "results.json",
              {{"status", r.status}, {"reason", r.reason}, {"steps", r.steps}, {"total_steps", totalSteps},
               {"best_step", r.bestStep}, {"metric", r.metric}, {"best_metric", r.bestMetric},
               {"validation", eventJson(r.validation)}, {"test", eventJson(r.test)}, {"diagnoses", diag},
               {"seconds", r.seconds}, {"peak_memory_mib", r.peakMemoryMiB},
               {"trainable_parameters", r.trainableParameters}, {"total_parameters", r.totalParameters},
               {"majority_baseline", r.majorityBaseline}, {"strategy", config.strategy.name}});
    observer->onFinished(r);
    return r;
  }

  RunResult run()
  {
    fs::create_directories(runDir);
    const bool resuming = fileExists(stateDir() / "trainer.json");
    if (fileExists(runDir / "results.json")) {
      // A stopped run's interim result is replaced; a finished run is never trained again.
      if (!resuming || readJson(runDir / "results.json").value("status", "") != "stopped")
        throw Error(runDir.string() + ": this run has finished; nothing to resume (results.json)");
      fs::remove(runDir / "results.json");
    }
    prepare();
    if (resuming) {
      loadState();
    } else {
      ExperimentConfig resolved = config;
      resolved.model.path = config.resolve(config.model.path).string();
      resolved.data.path = config.resolve(config.data.path).string();
      resolved.output.runs = config.resolve(config.output.runs).string();
      writeFileAtomically(runDir / "config.yaml", resolved.toYaml());
      writeJson(runDir / "labels.json", data.labels);
      writeJson(runDir / "split.json", {{"train", data.split.train}, {"validation", data.split.validation},
                                        {"test", data.split.test}});
      fs::remove(runDir / "events.jsonl");
    }
    events.open(runDir / "events.jsonl", std::ios::app);
    started = std::chrono::steady_clock::now();
    log("training: " + std::to_string(totalSteps) + " steps (" + std::to_string(stepsPerEpoch) + " per epoch), warm-up " +
        std::to_string(warmup));

    const auto &t = config.training;
    built.model->train();
    std::string why;
    bool done = step >= totalSteps;
    std::string status = "finished";
    for (; !done && epoch < std::max(t.epochs, t.maxSteps > 0 ? 1 << 30 : 0); ) {
      const auto batches = epochBatches(data.split.train, data.encoded, t.batchSize, t.bucketByLength, config.seed, epoch);
      while (!done && batchInEpoch < static_cast<long>(batches.size())) {
        const auto stepStart = std::chrono::steady_clock::now();
        optimizer->zero_grad();
        const long micro = std::min<long>(t.gradientAccumulation, static_cast<long>(batches.size()) - batchInEpoch);
        double lossSum = 0;
        long tokens = 0;
        for (long m = 0; m < micro; ++m, ++batchInEpoch) {
          const Batch b = collate(data.encoded, batches[static_cast<std::size_t>(batchInEpoch)], padId, config.task.kind,
                                  static_cast<int>(data.labels.size()));
          torch::Tensor loss;
          {
            AutocastScope autocast(bf16);
            const torch::Tensor logits = built.forward(b.ids, b.mask, b.types);
            loss = lossOf(logits, b, config.task.kind, t.labelSmoothing);
          }
          (loss / static_cast<double>(micro)).backward();
          lossSum += loss.item<double>();
          tokens += b.tokens;
        }
        const double loss = lossSum / static_cast<double>(micro);
        std::vector<torch::Tensor> params;
        for (const auto &g : optimizer->param_groups())
          for (const auto &p : g.params())
            if (p.grad().defined())
              params.push_back(p);
        double gradNorm = 0;
        if (t.maxGradNorm > 0) {
          gradNorm = torch::nn::utils::clip_grad_norm_(params, t.maxGradNorm);
        } else {
          for (const auto &p : params)
            gradNorm += p.grad().pow(2).sum().item<double>();
          gradNorm = std::sqrt(gradNorm);
        }
        StepEvent e;
        e.epoch = epoch;
        e.totalSteps = totalSteps;
        e.loss = loss;
        e.gradNorm = gradNorm;
        e.learningRate = applySchedule();
        if (std::isfinite(loss) && std::isfinite(gradNorm))
          optimizer->step();
        ++step;
        e.step = step;
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - stepStart).count();
        e.tokensPerSecond = seconds > 0 ? static_cast<double>(tokens) / seconds : 0;
        e.elapsedSeconds = elapsedBefore + elapsed();
        record(eventJson(e));
        observer->onStep(e);
        if (!std::isfinite(loss) || !std::isfinite(gradNorm)) {
          for (const Diagnosis &d : diagnose(curves))
            if (d.critical && !raised.count(diagnosisKindName(d.kind))) {
              raised.insert(diagnosisKindName(d.kind));
              diagnoses.push_back(d);
              observer->onDiagnosis(d);
              why = d.title + ": " + d.evidence;
            }
          status = "failed";
          done = true;
          break;
        }
        if (t.maxSteps > 0 && step >= t.maxSteps)
          done = true;
        if (config.evaluation.everySteps > 0 && step % config.evaluation.everySteps == 0 && !done) {
          if (validate(why)) {
            status = why.rfind("early stopping", 0) == 0 ? "early_stopped" : "failed";
            done = true;
          }
          saveState();
        }
        while (paused && !stop)
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (stop && !done) {
          saveState();
          return finish("stopped", "stopped by the user at step " + std::to_string(step) + "; resume continues from here");
        }
      }
      if (status == "failed")
        break;
      const bool epochEnded = batchInEpoch >= static_cast<long>(batches.size());
      if (epochEnded) {
        ++epoch;
        batchInEpoch = 0;
      }
      if ((epochEnded && config.evaluation.everySteps == 0) || done) {
        if (validate(why) && status == "finished") {
          status = why.rfind("early stopping", 0) == 0 ? "early_stopped" : "failed";
          done = true;
        }
        saveState();
      }
      if (epoch >= t.epochs && t.maxSteps == 0)
        done = true;
    }
    if (why.empty())
      why = status == "finished" ? "completed " + std::to_string(step) + " steps" : why;
    return finish(status, why);
  }
};

Trainer::Trainer(ExperimentConfig config, fs::path runDir) : d(std::make_unique<Impl>())
{
  d->config = std::move(config);
  d->runDir = std::move(runDir);
}

Trainer::~Trainer() = default;
void Trainer::setObserver(TrainingObserver *observer) { d->observer = observer ? observer : &d->defaultObserver; }
RunResult Trainer::run() { return d->run(); }
void Trainer::requestStop() { d->stop = true; }
void Trainer::setPaused(bool paused) { d->paused = paused; }
bool Trainer::paused() const { return d->paused; }
const fs::path &Trainer::runDir() const { return d->runDir; }

std::string Trainer::overfitOneBatch(int steps)
{
  d->prepare();
  const ExperimentConfig &c = d->config;
  std::vector<int> rows(d->data.split.train.begin(),
                        d->data.split.train.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(8, d->data.split.train.size())));
  const Batch b = collate(d->data.encoded, rows, d->padId, c.task.kind, static_cast<int>(d->data.labels.size()));
  std::vector<torch::Tensor> params;
  for (const auto &p : d->built.model->parameters())
    if (p.requires_grad())
      params.push_back(p);
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-3).weight_decay(0));
  d->built.model->eval(); // no dropout
  double first = 0, last = 0, firstGrad = 0;
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    const torch::Tensor loss = lossOf(d->built.forward(b.ids, b.mask, b.types), b, c.task.kind, 0.0);
    loss.backward();
    double g = 0;
    for (const auto &p : params)
      if (p.grad().defined())
        g += p.grad().pow(2).sum().item<double>();
    if (s == 0) {
      first = loss.item<double>();
      firstGrad = std::sqrt(g);
    }
    last = loss.item<double>();
    if (!std::isfinite(last))
      return "the loss became " + std::to_string(last) + " at step " + std::to_string(s + 1) +
             ": the model or the loss is numerically broken";
    opt.step();
    if (last < 0.02)
      break;
  }
  d->built.model->train();
  if (firstGrad == 0)
    return "no gradient reaches the trainable parameters (loss " + std::to_string(first) +
           "): the head or the strategy is not connected to the loss";
  if (last < 0.1 || last < 0.1 * first)
    return {};
  return "the loss only fell from " + std::to_string(first) + " to " + std::to_string(last) + " in " +
         std::to_string(steps) + " steps on one batch of " + std::to_string(rows.size()) +
         ": check the labels (are they aligned with the texts?) and that the strategy trains enough parameters";
}

// ---------------------------------------------------------------------------------------------
// TrainedRun

struct TrainedRun::Impl
{
  ExperimentConfig config;
  fs::path runDir;
  std::unique_ptr<Tokenizer> tokenizer;
  PreparedData data;
  bool dataLoaded = false;
  std::vector<std::string> labels;
  BuiltModel built;
  int padId = 0;
};

TrainedRun::TrainedRun() : d(std::make_unique<Impl>()) {}
TrainedRun::~TrainedRun() = default;

std::unique_ptr<TrainedRun> TrainedRun::open(const fs::path &runDir)
{
  std::unique_ptr<TrainedRun> run(new TrainedRun);
  Impl &d = *run->d;
  d.runDir = runDir;
  const ConfigResult cfg = loadExperimentConfig(runDir / "config.yaml");
  if (!cfg.ok())
    throw Error(cfg.problems.front().str((runDir / "config.yaml").string()));
  d.config = cfg.config;
  for (const json &l : readJson(runDir / "labels.json"))
    d.labels.push_back(l.get<std::string>());
  d.tokenizer = loadTokenizer(d.config.resolve(d.config.model.path));
  d.padId = std::max(0, d.tokenizer->specialTokens().pad);
  d.built = buildModel(d.config, static_cast<int>(d.labels.size()), *d.tokenizer);
  const fs::path weights = fileExists(runDir / "best" / "model.pt") ? runDir / "best" / "model.pt" : runDir / "state" / "model.pt";
  if (!fileExists(weights))
    throw Error(runDir.string() + ": no trained model (best/model.pt or state/model.pt)");
  loadModel(*d.built.model, weights);
  d.built.model->eval();
  return run;
}

const ExperimentConfig &TrainedRun::config() const { return d->config; }
const std::vector<std::string> &TrainedRun::labels() const { return d->labels; }

EvalEvent TrainedRun::evaluate(const std::string &split) { return evaluateDetailed(split).event; }

TrainedRun::Detailed TrainedRun::evaluateDetailed(const std::string &split)
{
  if (!d->dataLoaded) {
    DataReport report;
    d->data = prepareData(d->config, *d->tokenizer, report);
    d->data.labels = d->labels;
    d->dataLoaded = true;
  }
  const json saved = readJson(d->runDir / "split.json");
  if (!saved.contains(split))
    throw Error("unknown split \"" + split + "\" (train, validation or test)");
  const std::vector<int> rows = saved[split].get<std::vector<int>>();
  if (rows.empty())
    throw Error("the run's " + split + " split is empty");
  Evaluation ev = evaluateRows(d->built, d->data, rows, d->config, d->padId, false, d->tokenizer.get());
  ev.event.split = split;
  Detailed out;
  out.event = ev.event;
  out.rows = rows;
  out.probabilities = ev.probabilities;
  for (int r : rows) {
    const auto row = static_cast<std::size_t>(r);
    const int datasetRow = d->data.encoded[row].row;
    out.texts.push_back(datasetRow >= 0 ? d->data.dataset.examples[static_cast<std::size_t>(datasetRow)].text : std::string());
    out.truth.push_back(d->data.encoded[row].label);
  }
  return out;
}

void TrainedRun::exportTo(const fs::path &folder) const
{
  if (d->config.isLanguageModelling()) {
    // A Hugging Face GPT-2 folder: config.json, model.safetensors and the tokenizer's files.
    saveHuggingFaceFolder(folder, *d->built.lm, d->built.configJson);
    const fs::path from = d->config.resolve(d->config.model.path);
    for (const char *name : {"vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
      if (fileExists(from / name))
        fs::copy_file(from / name, folder / name, fs::copy_options::overwrite_existing);
    return;
  }
  // Classifiers and taggers: the task model's tensors under tunebench's names, its labels and config.
  fs::create_directories(folder);
  writeSafetensors(folder / "model.safetensors", stateDict(*d->built.model));
  writeJson(folder / "labels.json", d->labels);
  fs::copy_file(d->runDir / "config.yaml", folder / "tunebench.yaml", fs::copy_options::overwrite_existing);
}

std::vector<TrainedRun::Prediction> TrainedRun::predict(const std::vector<std::string> &texts)
{
  std::vector<Prediction> out;
  torch::NoGradGuard noGrad;
  for (const std::string &text : texts) {
    Prediction p;
    p.text = text;
    if (d->config.isLanguageModelling()) {
      // A continuation (causal LM) or an answer (instruction: the text is the instruction).
      std::string prompt = text;
      if (d->config.task.kind == "instruction") {
        Example x;
        x.instruction = text;
        prompt = renderPrompt(x, *promptTemplate(d->config.task.promptTemplate));
      }
      std::vector<int> ids;
      for (const Token &t : d->tokenizer->tokenize(prompt))
        ids.push_back(t.id);
      GenerationOptions g;
      g.maxNewTokens = d->config.evaluation.maxNewTokens;
      if (const int eos = endOfTextId(*d->tokenizer); eos >= 0)
        g.stopTokens = {eos};
      std::vector<int> answer = generate(*d->built.lm, ids, g);
      if (!answer.empty() && !g.stopTokens.empty() && answer.back() == g.stopTokens.front())
        answer.pop_back();
      p.labels.push_back(d->tokenizer->decode(answer));
    } else if (d->config.task.kind == "token_tagging") {
      std::vector<std::string> words = splitWords(text);
      EncodeOptions o;
      o.maxLength = d->config.model.maxLength;
      const Encoding enc = d->tokenizer->encodeWords(words, o);
      const torch::Tensor ids = torch::tensor(std::vector<long>(enc.ids.begin(), enc.ids.end())).unsqueeze(0);
      const torch::Tensor logits = d->built.forward(ids, torch::ones_like(ids), torch::zeros_like(ids));
      const torch::Tensor am = logits.argmax(-1)[0];
      std::vector<std::string> tags(words.size(), "O");
      std::vector<bool> seen(words.size(), false);
      for (std::size_t t = 0; t < enc.wordIds.size(); ++t) {
        const int w = enc.wordIds[t];
        if (w >= 0 && !seen[static_cast<std::size_t>(w)]) {
          seen[static_cast<std::size_t>(w)] = true;
          tags[static_cast<std::size_t>(w)] = d->labels[static_cast<std::size_t>(am[static_cast<long>(t)].item<long>())];
        }
      }
      p.labels = tags;
    } else {
      const EncodedExample e = encodeText(d->config, *d->tokenizer, text);
      const torch::Tensor ids = torch::tensor(std::vector<long>(e.ids.begin(), e.ids.end())).unsqueeze(0);
      const torch::Tensor logits =
          d->built.forward(ids, torch::ones_like(ids), torch::zeros_like(ids)).to(torch::kFloat)[0];
      const bool multi = d->config.task.kind == "multi_label";
      const torch::Tensor probs = multi ? torch::sigmoid(logits) : torch::softmax(logits, -1);
      int best = 0;
      for (long k = 0; k < probs.size(0); ++k) {
        p.probabilities.push_back(probs[k].item<double>());
        if (multi && p.probabilities.back() >= 0.5)
          p.labels.push_back(d->labels[static_cast<std::size_t>(k)]);
        if (p.probabilities.back() > p.probabilities[static_cast<std::size_t>(best)])
          best = static_cast<int>(k);
      }
      if (!multi)
        p.labels.push_back(d->labels[static_cast<std::size_t>(best)]);
    }
    out.push_back(std::move(p));
  }
  return out;
}

} // namespace tunebench
