#include "core/train/forgetting.h"

#include "core/data/datareport.h"
#include "core/models/checkpoint.h"
#include "core/models/modelconfig.h"
#include "core/tokenize/tokenizer.h"
#include "core/train/batches.h"
#include "core/train/evaluation.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdio>

namespace tunebench {
namespace fs = std::filesystem;

namespace {

// The objective in words: "masked-LM", "LM" or "span-corruption".
std::string objectiveName(const std::string &objective)
{
  return objective == "masked_lm" ? "masked-LM" : objective == "causal_lm" ? "LM" : "span-corruption";
}

// Weights a strategy adds (no pre-trained value): LoRA, adapters, IA3, prefix and prompt encoders.
bool strategyOwned(const std::string &name)
{
  for (const char *part : {"lora_", "adapter_", "ia3_", "prompt_encoder", "prefix_encoder"})
    if (name.find(part) != std::string::npos)
      return true;
  return false;
}

// The run's encoder under the folder's masked-LM head (loaded, frozen).
MaskedLanguageModel sharedMaskedLm(const ExperimentConfig &config, TaskModelImpl &task)
{
  const fs::path folder = config.resolve(config.model.path);
  const EncoderConfig ec = EncoderConfig::fromFile(folder / "config.json");
  MaskedLanguageModel mlm(ec);
  const LoadReport report = loadStateDict(*mlm, readCheckpoint(folder), folder.string(), ec.modelType + ".",
                                          maskedLmHeadPrefixes());
  for (const std::string &name : report.missing)
    if (name.rfind(ec.modelType + ".", 0) != 0)
      throw Error(folder.string() + ": no masked-LM head (" + name +
                  " is missing): forgetting.reference measures the model's own pre-training objective");
  for (auto &p : mlm->parameters())
    p.set_requires_grad(false); // the head stays as pre-trained
  auto encoder = std::dynamic_pointer_cast<TransformerEncoderImpl>(task.backbone().module());
  mlm->replace_module(ec.modelType, encoder);
  mlm->encoder = TransformerEncoder(encoder);
  return mlm;
}

} // namespace

ForgettingMeter::ForgettingMeter(const ExperimentConfig &config, BuiltModel &run, const Tokenizer &tokenizer)
  : m_config(config)
  , m_run(run.model.get())
  , m_padId(std::max(0, tokenizer.specialTokens().pad))
{
  const std::string family = run.task      ? run.task->backbone().family()
                             : run.lm      ? "gpt2"
                             : run.seq2seq ? "t5"
                                           : "";
  ExperimentConfig &c = m_config;
  if (run.task && (family == "bert" || family == "roberta" || family == "distilbert")) {
    c.task.kind = "masked_lm";
    m_objective.mlm = sharedMaskedLm(config, *run.task);
    m_objective.model = m_objective.mlm.ptr();
  } else if (run.mlm) {
    c.task.kind = "masked_lm";
    m_objective.mlm = run.mlm;
    m_objective.model = run.model;
  } else if (run.lm) {
    c.task.kind = "causal_lm";
    m_objective.lm = run.lm;
    m_objective.model = run.model;
  } else if (run.seq2seq) {
    c.task.kind = "span_corruption";
    m_objective.seq2seq = run.seq2seq;
    m_objective.model = run.model;
  } else {
    throw Error(
        "forgetting.reference: the meter needs a model with its pre-training objective here — BERT, RoBERTa "
        "or DistilBERT (masked LM), GPT-2 language-model runs, or T5 (this run's model: " +
        (family.empty() ? std::string("another kind") : family) + ")");
  }
  if (c.task.kind != "causal_lm")
    m_objective.noise = PretrainingNoise::forTask(c.task.kind, 0.15, 3.0, tokenizer);
  c.data.path = config.forgetting.reference;
  c.data.columns.clear();
  c.data.subsetRows = config.forgetting.rows;
  c.data.folds = 0;
  c.data.train = 0.5;
  c.data.validation = 0.4;
  c.data.test = 0.1;
  c.data.stratified = false;
  c.data.augmentPerRow = 0;
  c.data.paraphrase = {};
  c.multitask.tasks.clear();
  DataReport report;
  m_data = prepareData(c, tokenizer, report);
  m_measured = m_data.split.validation;
  m_measured.insert(m_measured.end(), m_data.split.test.begin(), m_data.split.test.end());
  if (m_data.split.train.empty() || m_measured.empty())
    throw Error(c.resolve(c.data.path).string() +
                ": forgetting.reference: too little text to measure and rehearse");
}

std::string ForgettingMeter::describe() const
{
  return objectiveName(objective()) + " loss on " + std::to_string(m_measured.size()) + " blocks of " +
         m_config.resolve(m_config.data.path).filename().string() + " (" +
         std::to_string(m_data.split.train.size()) + " more for rehearsal)";
}

double ForgettingMeter::measure(bool bf16)
{
  const bool wasTraining = m_run->is_training();
  m_run->eval();
  const double loss =
      evaluateRows(m_objective, m_data, m_measured, m_config, m_padId, bf16, nullptr).event.loss;
  m_run->train(wasTraining);
  return loss;
}

torch::Tensor ForgettingMeter::rehearsalLoss(std::uint64_t k, bool bf16)
{
  const std::vector<int> &rows = m_data.split.train;
  const std::size_t size =
      std::min(rows.size(), static_cast<std::size_t>(std::max(1, m_config.training.batchSize)));
  std::vector<int> batch;
  for (std::size_t i = 0; i < size; ++i)
    batch.push_back(rows[(k * size + i) % rows.size()]);
  const Batch b = collate(m_data.encoded, batch, m_padId, m_config.task.kind, 0, m_objective.noiseOrNull(),
                          m_config.seed ^ k);
  AutocastScope autocast(bf16);
  return lossOf(m_objective.forward(b), b, m_config.task.kind, 0.0);
}

bool ForgettingMeter::rehearses(long step, double share)
{
  return share > 0 &&
         std::floor(static_cast<double>(step + 1) * share) > std::floor(static_cast<double>(step) * share);
}

PreviousTask::PreviousTask(const ExperimentConfig &config)
  : m_run(config.resolve(config.forgetting.previousRun))
{
  const fs::path file = m_run / "config.yaml";
  if (!fileExists(file) || !fileExists(m_run / "labels.json"))
    throw Error(m_run.string() + ": forgetting.previous_run: not a run folder (config.yaml and labels.json)");
  const ConfigResult r = loadExperimentConfig(file);
  if (!r.ok())
    throw Error(r.problems.front().str(file.string()));
  m_config = r.config;
  if (m_config.isLanguageModelling() || m_config.isMultiTask())
    throw Error(file.string() +
                ": forgetting.previous_run: the earlier run must be one classification or tagging "
                "task (it is " +
                m_config.task.kind + ")");
  if (fs::weakly_canonical(m_config.resolve(m_config.model.path)) !=
      fs::weakly_canonical(config.resolve(config.model.path)))
    throw Error(file.string() + ": forgetting.previous_run: its model.path (" + m_config.model.path +
                ") is not this run's (" + config.model.path + ")");
  for (const nlohmann::json &l : readJsonFile(m_run / "labels.json"))
    m_labels.push_back(l.get<std::string>());
}

HeadSpec PreviousTask::head() const
{
  return headSpecFor(m_config, kHead, static_cast<int>(m_labels.size()));
}

void PreviousTask::start(BuiltModel &run, const Tokenizer &tokenizer)
{
  const fs::path weights = m_run / "best" / "model.pt";
  torch::serialize::InputArchive archive;
  loadArchive(archive, fileExists(weights) ? weights : m_run / "state" / "model.pt");
  const std::string head = std::string("heads.") + kHead + ".";
  torch::NoGradGuard noGrad;
  for (auto &p : run.model->named_parameters()) {
    const std::string &name = p.key();
    const bool isHead = name.rfind(head, 0) == 0;
    if (!isHead && name.rfind("backbone.", 0) != 0)
      continue;
    const std::string key = isHead ? "heads.main." + name.substr(head.size()) : name;
    torch::Tensor t;
    if (!archive.try_read(key, t)) {
      if (isHead || !strategyOwned(name)) // a strategy's new weights start fresh
        throw Error(m_run.string() + ": forgetting.previous_run: its model lacks \"" + key + "\"");
      continue;
    }
    p.value().copy_(t.to(p.value().scalar_type()));
    if (isHead)
      p.value().set_requires_grad(false);
  }
  DataReport report;
  m_data = prepareData(m_config, tokenizer, report);
  m_data.labels = m_labels;
}

double PreviousTask::measure(BuiltModel &run, int padId, bool bf16, const Tokenizer &tokenizer)
{
  const Evaluation e =
      evaluateRows(run, m_data, m_data.split.validation, m_config, padId, bf16, &tokenizer, kHead);
  return e.event.metrics.at(m_config.selectionMetric());
}

std::string forgettingLine(const std::string &objective, double before, double after)
{
  char text[160];
  std::snprintf(text, sizeof text, "%s loss on the reference text %.4g → %.4g (%+.1f%%)",
                objectiveName(objective).c_str(), before, after,
                before != 0 ? 100.0 * (after - before) / before : 0.0);
  return text;
}

StartingPointPenalty::StartingPointPenalty(torch::nn::Module &model, double lambda)
  : m_lambda(lambda)
{
  torch::NoGradGuard noGrad;
  for (const auto &p : model.named_parameters()) {
    const std::string &name = p.key();
    if (p.value().requires_grad() && name.rfind("heads.", 0) != 0 && !strategyOwned(name))
      m_pairs.emplace_back(p.value(), p.value().detach().clone());
  }
}

torch::Tensor StartingPointPenalty::operator()() const
{
  torch::Tensor sum = torch::zeros({}, torch::kFloat);
  for (const auto &[p, start] : m_pairs)
    sum = sum + (p.to(torch::kFloat) - start.to(torch::kFloat)).pow(2).sum();
  return 0.5 * m_lambda * sum;
}

} // namespace tunebench
