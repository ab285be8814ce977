#include "core/train/evaluation.h"

#include "core/data/instruction.h"
#include "core/data/tagging.h"
#include "core/eval/metrics.h"
#include "core/models/generation.h"
#include "core/runtime/distributed.h"
#include "core/tokenize/tokenizer.h"
#include "core/train/batches.h"
#include "core/train/device.h"
#include "core/util/cancel.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>

namespace tunebench {
namespace F = torch::nn::functional;

namespace {

// Instruction tuning and text-to-text: greedy answers to the first `evaluation.generate` rows scored
// with BLEU, ROUGE-L and exact match against the reference answers.
void scoreAnswers(BuiltModel &model, const PreparedData &data, const std::vector<int> &rows,
                  const ExperimentConfig &c, const Tokenizer &tokenizer, Evaluation &out)
{
  const auto templ = promptTemplate(c.task.promptTemplate);
  GenerationOptions g;
  g.maxNewTokens = c.evaluation.maxNewTokens;
  if (const int eos = endOfTextId(tokenizer); eos >= 0)
    g.stopTokens = {eos};
  const int pad = std::max(0, tokenizer.specialTokens().pad);
  std::vector<std::vector<std::string>> hyps;
  std::vector<std::vector<std::vector<std::string>>> refs;
  std::vector<std::string> hypText, refText;
  double rouge = 0;
  const std::size_t n = std::min(rows.size(), static_cast<std::size_t>(c.evaluation.generate));
  for (std::size_t i = 0; i < n; ++i) {
    throwIfStopped();
    const Example &x =
        data.dataset.examples[static_cast<std::size_t>(data.encoded[static_cast<std::size_t>(rows[i])].row)];
    const SourceTarget pair = sourceAndTarget(x, *templ);
    std::vector<int> prompt;
    for (const Token &t : tokenizer.tokenize(pair.source))
      prompt.push_back(t.id);
    const std::string text =
        tokenizer.decode(model.answer(prompt, g, pad, c.model.maxLength, tokenizer.vocabSize()));
    hypText.push_back(text);
    refText.push_back(pair.target);
    hyps.push_back(splitWords(text));
    refs.push_back({splitWords(pair.target)});
    rouge += rougeL(hyps.back(), refs.back().front()) / static_cast<double>(n);
    out.samples.push_back({pair.source, text, pair.target});
  }
  if (n > 0) {
    EvalEvent &e = out.event;
    e.metrics["bleu"] = corpusBleu(hyps, refs);
    e.metrics["rouge_l"] = rouge;
    e.metrics["exact_match"] = exactMatch(hypText, refText);
  }
}

// Language models: token-weighted loss, perplexity, next-token (or masked-token, or span, or
// target) accuracy; answers scored for instruction tuning and text-to-text (scoreAnswers).
torch::Device modelDevice(BuiltModel &model)
{
  const auto params = model.model->parameters();
  return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
}

// Data parallel: rank r's rows are every world-th row from r.
std::vector<int> shardOf(const std::vector<int> &rows, ProcessGroup *group)
{
  if (!group)
    return rows;
  std::vector<int> mine;
  for (std::size_t i = static_cast<std::size_t>(group->rank()); i < rows.size();
       i += static_cast<std::size_t>(group->worldSize()))
    mine.push_back(rows[i]);
  return mine;
}

Evaluation evaluateLanguageModel(BuiltModel &model, const PreparedData &data, const std::vector<int> &allRows,
                                 const ExperimentConfig &c, int padId, bool bf16, const Tokenizer *tokenizer,
                                 ProcessGroup *group)
{
  const std::vector<int> rows = shardOf(allRows, group);
  Evaluation out;
  const bool wasTraining =
      model.model->is_training(); // restored at the end: a trained run stays in eval mode
  model.model->eval();
  torch::NoGradGuard noGrad;
  double nll = 0;
  long count = 0, right = 0;
  {
    AutocastScope autocast(bf16);
    const std::size_t bs = static_cast<std::size_t>(std::max(c.training.batchSize, 8));
    for (std::size_t at = 0; at < rows.size(); at += bs) {
      throwIfStopped();
      const std::vector<int> chunk(rows.begin() + static_cast<std::ptrdiff_t>(at),
                                   rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), at + bs)));
      // The denoising objectives' noise is the same at every evaluation: comparable losses.
      const Batch b = onDevice(
          collate(data.encoded, chunk, padId, c.task.kind, 0, model.noiseOrNull(), c.seed ^ 0xe7a1ULL),
          modelDevice(model));
      const torch::Tensor logits = model.forward(b).to(torch::kFloat);
      // causal: position t predicts token t + 1; the denoising objectives and T5 targets are aligned.
      const std::int64_t shift = c.isDenoising() || c.isSeq2Seq() ? 0 : 1;
      const bool selected = logits.dim() == 2; // a masked LM's labelled positions only
      const torch::Tensor x =
          selected ? logits : logits.narrow(1, 0, logits.size(1) - shift).reshape({-1, logits.size(-1)});
      const torch::Tensor y = selected ? b.labels.masked_select(b.labels.ne(-100))
                                       : b.labels.narrow(1, shift, b.labels.size(1) - shift).reshape({-1});
      const torch::Tensor valid = y.ne(-100);
      nll += F::cross_entropy(x, y, F::CrossEntropyFuncOptions().ignore_index(-100).reduction(torch::kSum)).item<double>();
      count += valid.sum().item<long>();
      right += (x.argmax(-1).eq(y) & valid).sum().item<long>();
    }
  }
  if (group) {
    torch::Tensor sums =
        torch::tensor({nll, static_cast<double>(count), static_cast<double>(right)}, torch::kDouble);
    group->allReduce(sums);
    nll = sums[0].item<double>();
    count = static_cast<long>(sums[1].item<double>());
    right = static_cast<long>(sums[2].item<double>());
  }
  EvalEvent &e = out.event;
  e.loss = count ? nll / static_cast<double>(count) : 0.0;
  e.metrics["loss"] = e.loss;
  e.metrics["perplexity"] = perplexity(e.loss);
  e.metrics["token_accuracy"] = count ? static_cast<double>(right) / static_cast<double>(count) : 0.0;
  if (c.answersPrompts() && tokenizer && c.evaluation.generate > 0 && (!group || group->rank() == 0))
    scoreAnswers(model, data, allRows, c, *tokenizer, out);
  model.model->train(wasTraining);
  return out;
}

} // namespace

namespace {

// What a classifier or tagger's evaluation gathers, each in the caller's row order.
struct Collected
{
  const PreparedData &data;
  std::map<int, std::size_t> position;                    // row → its place in the caller's order
  std::vector<int> truth, predicted;                      // single-label
  std::vector<std::vector<int>> truthSets, predictedSets; // multi-label
  std::vector<std::vector<std::string>> truthTags;        // tagging

  Collected(const PreparedData &d, const std::vector<int> &rows, Evaluation &out)
    : data(d)
  {
    for (std::size_t i = 0; i < rows.size(); ++i)
      position[rows[i]] = i;
    out.probabilities.assign(rows.size(), {});
    out.predictedTags.assign(rows.size(), {});
    out.tagLogProbs.assign(rows.size(), {});
    truth.assign(rows.size(), -1);
    predicted.assign(rows.size(), -1);
    truthSets.assign(rows.size(), {});
    predictedSets.assign(rows.size(), {});
    truthTags.assign(rows.size(), {});
  }
};

// Each word's tag from its first sub-token, with every label's log-probability.
void collectTags(const torch::Tensor &logits, const std::vector<int> &chunk, Collected &col, Evaluation &out)
{
  const PreparedData &data = col.data;
  auto &position = col.position;
  const int labelCount = static_cast<int>(data.labels.size());
  const torch::Tensor argmax = logits.argmax(-1);
  auto am = argmax.accessor<long, 2>();
  const torch::Tensor logProbs = torch::log_softmax(logits, -1).to(torch::kDouble).contiguous();
  auto lp = logProbs.accessor<double, 3>();
  auto &truthTags = col.truthTags;
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    const std::size_t pos = position[chunk[i]];
    const Example &x = data.dataset.examples[static_cast<std::size_t>(chunk[i])];
    const EncodedExample &e = data.encoded[static_cast<std::size_t>(chunk[i])];
    std::vector<std::string> tags(x.tokens.size(), "O");
    std::vector<bool> seen(x.tokens.size(), false);
    // Words cut off by max_length: certain "O" (log-probability 0 for O when it exists).
    std::vector<std::vector<double>> wordLogProbs(
        x.tokens.size(), std::vector<double>(static_cast<std::size_t>(labelCount), -1e9));
    const auto o = std::find(data.labels.begin(), data.labels.end(), "O");
    for (auto &w : wordLogProbs)
      if (o != data.labels.end())
        w[static_cast<std::size_t>(o - data.labels.begin())] = 0.0;
    for (std::size_t t = 0; t < e.wordIds.size(); ++t) {
      const int word = e.wordIds[t];
      if (word < 0 || static_cast<std::size_t>(word) >= tags.size() || seen[static_cast<std::size_t>(word)])
        continue;
      seen[static_cast<std::size_t>(word)] = true;
      tags[static_cast<std::size_t>(word)] =
          data.labels[static_cast<std::size_t>(am[static_cast<long>(i)][static_cast<long>(t)])];
      for (int k = 0; k < labelCount; ++k)
        wordLogProbs[static_cast<std::size_t>(word)][static_cast<std::size_t>(k)] =
            lp[static_cast<long>(i)][static_cast<long>(t)][k];
    }
    out.tagLogProbs[pos] = std::move(wordLogProbs);
    truthTags[pos] = x.tags;
    out.predictedTags[pos] = tags;
  }
}

void collectMultiLabel(const torch::Tensor &logits, const std::vector<int> &chunk, Collected &col,
                       Evaluation &out)
{
  const PreparedData &data = col.data;
  auto &position = col.position;
  const int labelCount = static_cast<int>(data.labels.size());
  auto &predictedSets = col.predictedSets;
  auto &truthSets = col.truthSets;
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
}

void collectSingleLabel(const torch::Tensor &logits, const std::vector<int> &chunk, Collected &col,
                        Evaluation &out)
{
  const PreparedData &data = col.data;
  auto &position = col.position;
  const int labelCount = static_cast<int>(data.labels.size());
  auto &predicted = col.predicted;
  auto &truth = col.truth;
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

// The task's metrics from what was collected.
void taskMetrics(const ExperimentConfig &c, const Collected &col, Evaluation &out)
{
  const std::string &task = c.task.kind;
  const auto &truthTags = col.truthTags;
  const auto &truth = col.truth;
  const auto &predicted = col.predicted;
  const auto &truthSets = col.truthSets;
  const auto &predictedSets = col.predictedSets;
  const PreparedData &data = col.data;
  EvalEvent &e = out.event;
  if (task == "token_tagging") {
    if (c.data.tagScheme != "plain" &&
        detectTagScheme(truthTags) != TagScheme::Plain) { // POS tags have no entities
      const EntityMetrics em = entityMetrics(truthTags, out.predictedTags);
      e.metrics["entity_f1"] = em.micro.f1;
      e.metrics["entity_precision"] = em.micro.precision;
      e.metrics["entity_recall"] = em.micro.recall;
    }
    e.metrics["token_accuracy"] = tokenAccuracy(truthTags, out.predictedTags);
    e.metrics["accuracy"] = e.metrics["token_accuracy"];
  } else {
    const ClassificationMetrics m = task == "multi_label"
                                        ? multiLabelMetrics(truthSets, predictedSets, data.labels)
                                        : classificationMetrics(truth, predicted, data.labels);
    e.metrics["accuracy"] = m.accuracy;
    e.metrics["macro_f1"] = m.macro.f1;
    e.metrics["micro_f1"] = m.micro.f1;
    e.metrics["weighted_f1"] = m.weighted.f1;
  }
}

} // namespace

namespace {

// The classifier's or tagger's outputs per row, for gathering: a row's logits flattened (taggers:
// its own tokens only).
std::int64_t outputSize(const PreparedData &data, int row, bool tagging)
{
  const auto labels = static_cast<std::int64_t>(data.labels.size());
  return tagging ? static_cast<std::int64_t>(data.encoded[static_cast<std::size_t>(row)].ids.size()) * labels
                 : labels;
}

// Data parallel: every rank's computed rows gathered and collected on every rank, in the caller's
// order of `rows`. `mine` holds this rank's rows' flattened logits in its shard's order.
void collectGathered(const std::vector<int> &order, const std::vector<torch::Tensor> &mine,
                     ProcessGroup &group, const std::string &task, Collected &col, Evaluation &out)
{
  const bool tagging = task == "token_tagging";
  const PreparedData &data = col.data;
  const torch::Tensor flat = mine.empty() ? torch::zeros({0}) : torch::cat(mine);
  const std::vector<torch::Tensor> all = group.allGather(flat);
  const auto labels = static_cast<long>(data.labels.size());
  for (int r = 0; r < group.worldSize(); ++r) {
    std::int64_t at = 0;
    for (std::size_t i = static_cast<std::size_t>(r); i < order.size();
         i += static_cast<std::size_t>(group.worldSize())) {
      const int row = order[i];
      const std::int64_t n = outputSize(data, row, tagging);
      const torch::Tensor logits = all[static_cast<std::size_t>(r)].narrow(0, at, n);
      at += n;
      if (tagging)
        collectTags(logits.view({1, -1, labels}), {row}, col, out);
      else if (task == "multi_label")
        collectMultiLabel(logits.view({1, labels}), {row}, col, out);
      else
        collectSingleLabel(logits.view({1, labels}), {row}, col, out);
    }
  }
}

} // namespace

Evaluation evaluateRows(BuiltModel &built, const PreparedData &data, const std::vector<int> &rows,
                        const ExperimentConfig &c, int padId, bool bf16, const Tokenizer *tokenizer,
                        const std::string &head, ProcessGroup *group)
{
  if (c.isLanguageModelling())
    return evaluateLanguageModel(built, data, rows, c, padId, bf16, tokenizer, group);
  Evaluation out;
  torch::nn::Module *model = built.model.get();
  const bool wasTraining = model->is_training();
  model->eval();
  torch::NoGradGuard noGrad;
  AutocastScope autocast(bf16);
  const std::string &task = c.task.kind;
  const int labelCount = static_cast<int>(data.labels.size());
  double lossSum = 0;
  long lossCount = 0;
  // Sorted by length for evaluation: less padding (and, data parallel, shares of equal work).
  std::vector<int> sorted = rows;
  std::stable_sort(sorted.begin(), sorted.end(), [&](int a, int b) {
    return data.encoded[static_cast<std::size_t>(a)].ids.size() > data.encoded[static_cast<std::size_t>(b)].ids.size();
  });
  const std::vector<int> order = shardOf(sorted, group);
  const std::size_t bs = static_cast<std::size_t>(std::max(c.training.batchSize, 32));
  Collected col(data, rows, out);
  std::vector<torch::Tensor> mine; // data parallel: this rank's rows' logits, gathered below
  for (std::size_t at = 0; at < order.size(); at += bs) {
    throwIfStopped();
    const std::vector<int> chunk(order.begin() + static_cast<std::ptrdiff_t>(at),
                                 order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), at + bs)));
    const Batch b = onDevice(collate(data.encoded, chunk, padId, task, labelCount), modelDevice(built));
    const torch::Tensor logits = built.forward(b, head).to(torch::kFloat).cpu();
    const torch::Tensor loss = lossOf(logits, b, task, 0.0);
    lossSum += loss.item<double>() * static_cast<double>(chunk.size());
    lossCount += static_cast<long>(chunk.size());
    if (group) {
      for (std::size_t i = 0; i < chunk.size(); ++i) {
        const std::int64_t n = outputSize(data, chunk[i], task == "token_tagging");
        const torch::Tensor own = task == "token_tagging"
                                      ? logits[static_cast<long>(i)].narrow(0, 0, n / std::max(1, labelCount))
                                      : logits[static_cast<long>(i)];
        mine.push_back(own.reshape({-1}).contiguous());
      }
    } else if (task == "token_tagging")
      collectTags(logits, chunk, col, out);
    else if (task == "multi_label")
      collectMultiLabel(logits, chunk, col, out);
    else
      collectSingleLabel(logits, chunk, col, out);
  }
  if (group) {
    collectGathered(sorted, mine, *group, task, col, out);
    torch::Tensor sums = torch::tensor({lossSum, static_cast<double>(lossCount)}, torch::kDouble);
    group->allReduce(sums);
    lossSum = sums[0].item<double>();
    lossCount = static_cast<long>(sums[1].item<double>());
  }
  out.event.loss = lossCount ? lossSum / static_cast<double>(lossCount) : 0.0;
  out.event.metrics["loss"] = out.event.loss;
  taskMetrics(c, col, out);
  out.truthTags = std::move(col.truthTags);
  model->train(wasTraining);
  return out;
}

double taskSelectionScore(ExperimentConfig c, const std::map<std::string, double> &metrics, const std::string &prefix)
{
  c.multitask = {};
  c.evaluation.metric = "auto";
  const auto it = metrics.find(prefix + c.selectionMetric());
  if (it != metrics.end())
    return it->second;
  const auto accuracy = metrics.find(prefix + "accuracy");
  return accuracy != metrics.end() ? accuracy->second : 0.0;
}

double majorityBaseline(const PreparedData &data)
{
  if (data.split.test.empty())
    return 0.0;
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
  return static_cast<double>(right) / static_cast<double>(data.split.test.size());
}

} // namespace tunebench
