#include "core/train/trainedrun.h"

#include "core/data/instruction.h"
#include "core/eval/decision.h"
#include "core/eval/metrics.h"
#include "core/models/checkpoint.h"
#include "core/models/generation.h"
#include "core/models/int8linear.h"
#include "core/models/safetensors.h"
#include "core/runtime/runtime.h"
#include "core/tokenize/tokenizer.h"
#include "core/tokenize/tokenizerloader.h"
#include "core/train/builtmodel.h"
#include "core/train/dataprep.h"
#include "core/train/evaluation.h"
#include "core/train/modelcard.h"
#include "core/train/trainer.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"
#include "core/util/text.h"

#include <c10/core/InferenceMode.h>
#include <torch/torch.h>

#include <ctime>
#include <nlohmann/json.hpp>

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string timestamp()
{
  return text::now("%Y%m%d-%H%M%S", false);
}

} // namespace

bool computesInBf16(const ExperimentConfig &config)
{
  const std::string &precision = config.training.precision;
  return precision == "bf16" || (precision == "auto" && cpuSupportsBf16());
}

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
  bool exported = false;
};

TrainedRun::TrainedRun() : d(std::make_unique<Impl>()) {}
TrainedRun::~TrainedRun() = default;

namespace {

// An exported folder's config: its run's (tunebench.yaml). A Hugging Face folder (config.json) is
// its own model, its weights merged (strategy full); a PEFT folder's tunebench.yaml names the base
// model and the adapter (the folder itself); tunebench's layout names the base model and keeps the
// strategy. A data file that is not there is no obstacle: an export predicts without it.
ExperimentConfig exportConfig(const fs::path &folder)
{
  const fs::path file = folder / "tunebench.yaml";
  std::vector<std::string> overrides = {"model.init=pretrained", "strategy.cache_frozen=false"};
  if (fileExists(folder / "config.json"))
    overrides.insert(overrides.end(), {"model.path=.", "strategy.name=full"});
  const ConfigResult cfg = loadExperimentConfig(file, overrides);
  for (const ConfigProblem &p : cfg.problems)
    if (p.field.rfind("data.", 0) != 0)
      throw Error(p.str(file.string()));
  return cfg.config;
}

} // namespace

std::unique_ptr<TrainedRun> TrainedRun::open(const fs::path &runDir)
{
  std::unique_ptr<TrainedRun> run(new TrainedRun);
  Impl &d = *run->d;
  d.runDir = runDir;
  d.exported = !fileExists(runDir / "config.yaml") && fileExists(runDir / "tunebench.yaml");
  if (d.exported) {
    d.config = exportConfig(runDir);
  } else {
    const ConfigResult cfg = loadExperimentConfig(runDir / "config.yaml");
    if (!cfg.ok())
      throw Error(cfg.problems.front().str((runDir / "config.yaml").string()));
    d.config = cfg.config;
  }
  for (const json &l : readJsonFile(runDir / "labels.json"))
    d.labels.push_back(l.get<std::string>());
  // An export carries its tokenizer's files.
  d.tokenizer = loadTokenizer(d.exported ? runDir : d.config.resolve(d.config.model.path));
  d.padId = std::max(0, d.tokenizer->specialTokens().pad);
  d.built = buildModel(d.config, static_cast<int>(d.labels.size()), *d.tokenizer);
  if (!d.exported) {
    const fs::path weights = fileExists(runDir / "best" / "model.pt") ? runDir / "best" / "model.pt"
                                                                      : runDir / "state" / "model.pt";
    if (!fileExists(weights))
      throw Error(runDir.string() + ": no trained model (best/model.pt or state/model.pt)");
    loadModel(*d.built.model, weights);
  } else if (!fileExists(runDir / "config.json") && !fileExists(runDir / "adapter_config.json")) {
    // tunebench's own layout: every tensor under the model's own names (a Hugging Face or PEFT
    // folder was loaded by buildModel already).
    const fs::path file = runDir / "model.safetensors";
    const LoadReport report = loadStateDict(*d.built.model, readSafetensors(file), file.string(), "", {});
    if (!report.missing.empty())
      throw Error(file.string() + ": " + report.summary());
  }
  d.built.model->eval();
  return run;
}

const ExperimentConfig &TrainedRun::config() const { return d->config; }
const std::vector<std::string> &TrainedRun::labels() const { return d->labels; }
const fs::path &TrainedRun::folder() const
{
  return d->runDir;
}
bool TrainedRun::isExport() const
{
  return d->exported;
}
BuiltModel &TrainedRun::model()
{
  return d->built;
}
const Tokenizer &TrainedRun::tokenizer() const
{
  return *d->tokenizer;
}

std::vector<Batch> TrainedRun::sampleBatches(const std::string &split, int limit, int batchSize)
{
  if (d->exported)
    throw Error(d->runDir.string() + ": an exported folder has no splits of its own");
  ensureData();
  const json saved = readJsonFile(d->runDir / "split.json");
  if (!saved.contains(split))
    throw Error("unknown split \"" + split + "\" (train, validation or test)");
  std::vector<int> rows = saved[split].get<std::vector<int>>();
  if (rows.size() > static_cast<std::size_t>(limit))
    rows.resize(static_cast<std::size_t>(limit));
  std::vector<Batch> batches;
  const int labelCount = static_cast<int>(d->labels.size());
  for (std::size_t at = 0; at < rows.size(); at += static_cast<std::size_t>(batchSize)) {
    const std::vector<int> part(
        rows.begin() + static_cast<long>(at),
        rows.begin() + static_cast<long>(std::min(rows.size(), at + static_cast<std::size_t>(batchSize))));
    batches.push_back(collate(d->data.encoded, part, d->padId, d->config.task.kind, labelCount,
                              d->built.noiseOrNull(), d->config.seed));
  }
  return batches;
}

json TrainedRun::useInt8()
{
  BuiltModel &b = d->built;
  if (b.strategy->canMerge())
    b.strategy->merge(*b.model); // for good: this object infers in int8 now
  const Int8Report r = quantizeLinearMaps(*b.model);
  b.model->eval();
  return {{"maps", r.maps}, {"fp32_bytes", r.fp32Bytes}, {"int8_bytes", r.int8Bytes}, {"engine", r.engine}};
}

void TrainedRun::ensureData()
{
  if (d->dataLoaded)
    return;
  DataReport report;
  d->data = prepareData(d->config, *d->tokenizer, report);
  d->data.labels = d->labels;
  d->dataLoaded = true;
}

EvalEvent TrainedRun::evaluate(const std::string &split) { return evaluateDetailed(split).event; }

TrainedRun::Detailed TrainedRun::evaluateDetailed(const std::string &split)
{
  if (d->exported)
    throw Error(d->runDir.string() + ": an exported folder has no splits to evaluate (evaluate its run)");
  ensureData();
  const json saved = readJsonFile(d->runDir / "split.json");
  if (!saved.contains(split))
    throw Error("unknown split \"" + split + "\" (train, validation or test)");
  const std::vector<int> rows = saved[split].get<std::vector<int>>();
  if (rows.empty())
    throw Error("the run's " + split + " split is empty");
  // A trained run's model is never trained again: no autograd bookkeeping at all (no version
  // counters or view tracking), and what is made here (bf16 shadows) serves this model only.
  c10::InferenceMode inference;
  Evaluation ev = evaluateRows(d->built, d->data, rows, d->config, d->padId, computesInBf16(d->config), d->tokenizer.get());
  ev.event.split = split;
  Detailed out;
  out.event = ev.event;
  out.rows = rows;
  out.probabilities = ev.probabilities;
  out.truthTags = std::move(ev.truthTags);
  out.predictedTags = std::move(ev.predictedTags);
  out.tagLogProbs = std::move(ev.tagLogProbs);
  for (const Evaluation::Sample &sample : ev.samples)
    out.generations.push_back({sample.prompt, sample.generated, sample.reference});
  for (int r : rows) {
    const auto row = static_cast<std::size_t>(r);
    const int datasetRow = d->data.encoded[row].row;
    out.texts.push_back(datasetRow >= 0 ? d->data.dataset.examples[static_cast<std::size_t>(datasetRow)].text : std::string());
    out.truth.push_back(d->data.encoded[row].label);
  }
  return out;
}

std::vector<std::string> TrainedRun::fillIn(const std::string &text)
{
  c10::InferenceMode inference; // as in evaluateDetailed
  const Tokenizer &tokenizer = *d->tokenizer;
  const PretrainingNoise &noise = *d->built.noise;
  std::vector<std::string> out;
  if (d->config.task.kind == "masked_lm") {
    // The most likely token at each mask.
    const EncodedExample e = encodeText(d->config, tokenizer, text);
    const torch::Tensor ids = torch::tensor(std::vector<long>(e.ids.begin(), e.ids.end())).unsqueeze(0);
    const torch::Tensor best = d->built.forward(ids, torch::ones_like(ids), torch::zeros_like(ids))[0].argmax(-1);
    for (std::size_t t = 0; t < e.ids.size(); ++t)
      if (e.ids[t] == noise.maskId)
        out.push_back(tokenizer.idToToken(static_cast<int>(best[static_cast<long>(t)].item<long>())));
    return out;
  }
  // Span corruption: <extra_id_N> in the text (or, for tokenizers without sentinels, the whole text
  // followed by one sentinel) and the generated spans, sentinels written out.
  std::vector<int> ids;
  const std::string marker = "<extra_id_";
  std::size_t at = 0, span = 0;
  while (at < text.size()) {
    const std::size_t next = text.find(marker, at);
    for (const Token &t : tokenizer.tokenize(text.substr(at, next == std::string::npos ? std::string::npos : next - at)))
      ids.push_back(t.id);
    if (next == std::string::npos)
      break;
    const std::size_t close = text.find('>', next);
    ids.push_back(noise.sentinels[std::min(span++, noise.sentinels.size() - 1)]);
    at = close == std::string::npos ? text.size() : close + 1;
  }
  if (span == 0)
    ids.push_back(noise.sentinels.front());
  ids.push_back(noise.eos);
  const torch::Tensor input = torch::tensor(std::vector<long>(ids.begin(), ids.end())).unsqueeze(0);
  T5Decoding decoding(d->built.seq2seq, input, torch::ones_like(input));
  GenerationOptions g;
  g.maxNewTokens = d->config.evaluation.maxNewTokens;
  g.stopTokens = {noise.eos};
  std::string current;
  std::vector<int> pieces;
  auto flush = [&] {
    if (!pieces.empty())
      current += (current.empty() ? "" : " ") + tokenizer.decode(pieces);
    pieces.clear();
  };
  for (int id : generate(decoding, {std::max(0, d->tokenizer->specialTokens().pad)}, g)) {
    const auto sentinel = std::find(noise.sentinels.begin(), noise.sentinels.end(), id);
    if (sentinel != noise.sentinels.end()) {
      flush();
      current += (current.empty() ? "" : " ") + marker + std::to_string(sentinel - noise.sentinels.begin()) + ">";
    } else if (id != noise.eos && id < tokenizer.vocabSize()) {
      pieces.push_back(id);
    }
  }
  flush();
  out.push_back(current);
  return out;
}

std::vector<TrainedRun::Prediction> TrainedRun::predict(const std::vector<std::string> &texts)
{
  return predict(texts, Decoding());
}

std::vector<TrainedRun::Prediction> TrainedRun::predict(const std::vector<std::string> &texts,
                                                        const Decoding &decoding)
{
  std::vector<Prediction> out;
  c10::InferenceMode inference; // as in evaluateDetailed
  for (const std::string &text : texts) {
    Prediction p;
    p.text = text;
    if (d->config.isDenoising()) {
      p.labels = fillIn(text);
    } else if (d->config.isLanguageModelling()) {
      // A continuation (causal LM) or an answer (instruction: the text is the instruction).
      std::string prompt = text;
      if (d->config.answersPrompts()) { // instruction, seq2seq: the text is the instruction
        Example x;
        x.instruction = text;
        prompt = sourceAndTarget(x, *promptTemplate(d->config.task.promptTemplate)).source;
      }
      std::vector<int> ids;
      for (const Token &t : d->tokenizer->tokenize(prompt))
        ids.push_back(t.id);
      GenerationOptions g;
      g.maxNewTokens = decoding.maxNewTokens > 0 ? decoding.maxNewTokens : d->config.evaluation.maxNewTokens;
      g.numBeams = decoding.beams;
      g.sample = decoding.sample;
      g.temperature = decoding.temperature;
      g.topP = decoding.topP;
      g.topK = decoding.topK;
      g.seed = decoding.seed + out.size();
      g.useCache = decoding.useCache;
      if (const int eos = endOfTextId(*d->tokenizer); eos >= 0)
        g.stopTokens = {eos};
      const int pad = std::max(0, d->tokenizer->specialTokens().pad);
      p.labels.push_back(d->tokenizer->decode(
          d->built.answer(ids, g, pad, d->config.model.maxLength, d->tokenizer->vocabSize())));
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
