#include "core/train/paraphraser.h"

#include "core/models/checkpoint.h"
#include "core/models/modelconfig.h"
#include "core/models/t5.h"
#include "core/tokenize/tokenizer.h"
#include "core/tokenize/tokenizerloader.h"
#include "core/util/cancel.h"
#include "core/util/error.h"
#include "core/util/files.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>

namespace tunebench {
namespace fs = std::filesystem;

struct ModelParaphraser::Model
{
  T5Model model{nullptr};
  std::unique_ptr<Tokenizer> tokenizer;
  std::string prefix, name;
  int endId = -1, startId = 0;
};

namespace {

std::unique_ptr<ModelParaphraser::Model> loadStage(const ModelParaphraser::Stage &stage)
{
  const fs::path file = stage.folder / "config.json";
  if (!fileExists(file))
    throw Error(stage.folder.string() +
                ": no config.json (data.augmentation.paraphrase needs a T5 model folder)");
  const std::string type = readModelType(file);
  if (type != "t5" && type != "mt5")
    throw Error(file.string() + ": model_type \"" + type +
                "\": data.augmentation.paraphrase needs a T5 (sequence-to-sequence) model");
  auto m = std::make_unique<ModelParaphraser::Model>();
  const T5Config config = T5Config::fromFile(file);
  m->model = T5Model(config);
  const LoadReport report =
      loadStateDict(*m->model, readCheckpoint(stage.folder), stage.folder.string(), "", {});
  if (!report.missing.empty())
    throw Error(stage.folder.string() + ": the checkpoint lacks " + std::to_string(report.missing.size()) +
                " of the model's tensors (first: " + report.missing.front() + ")");
  m->model->eval();
  m->tokenizer = loadTokenizer(stage.folder);
  m->prefix = stage.prefix; // a word of its own: a space follows unless it ends in one
  if (!m->prefix.empty() && !std::isspace(static_cast<unsigned char>(m->prefix.back())))
    m->prefix += ' ';
  m->name = stage.folder.filename().string();
  m->endId = config.eosTokenId;
  m->startId = config.decoderStartTokenId;
  return m;
}

} // namespace

ModelParaphraser::ModelParaphraser(const std::vector<Stage> &stages, bool sampling, std::uint64_t seed,
                                   int maxLength)
  : m_sampling(sampling)
  , m_seed(seed)
  , m_maxLength(std::max(maxLength, 8))
{
  if (stages.empty())
    throw Error("data.augmentation.paraphrase: no model folder given");
  for (const Stage &stage : stages)
    m_models.push_back(loadStage(stage));
}

ModelParaphraser::~ModelParaphraser() = default;

std::string ModelParaphraser::name() const
{
  std::string out;
  for (const auto &m : m_models)
    out += (out.empty() ? "" : " → ") + m->name;
  return out;
}

std::vector<std::string> ModelParaphraser::paraphrase(const std::vector<std::string> &texts)
{
  const int round = m_round++;
  std::vector<std::string> current = texts;
  for (const auto &m : m_models) {
    for (std::size_t i = 0; i < current.size(); ++i) {
      throwIfStopped();
      std::vector<int> ids;
      for (const Token &t : m->tokenizer->tokenize(m->prefix + current[i]))
        ids.push_back(t.id);
      GenerationOptions g;
      g.maxNewTokens = std::min(m_maxLength, 2 * static_cast<int>(ids.size()) + 8);
      g.stopTokens = {m->endId};
      g.sample = m_sampling;
      g.topP = 0.9;
      g.seed = m_seed + static_cast<std::uint64_t>(round) * 1000003ULL + i;
      current[i] = m->tokenizer->decode(generateFromSource(m->model, std::move(ids), g, m->endId, m->startId,
                                                           m_maxLength, m->tokenizer->vocabSize()));
    }
  }
  return current;
}

std::unique_ptr<Paraphraser> makeParaphraser(const ExperimentConfig &config)
{
  const auto &p = config.data.paraphrase;
  if (p.model.empty())
    return nullptr;
  std::vector<ModelParaphraser::Stage> stages = {{config.resolve(p.model), p.prefix}};
  if (!p.backModel.empty())
    stages.push_back({config.resolve(p.backModel), p.backPrefix});
  return std::make_unique<ModelParaphraser>(stages, p.sampling, config.seed, config.model.maxLength);
}

AugmentOptions augmentOptionsFor(const ExperimentConfig &config)
{
  AugmentOptions a;
  const bool eda = config.data.augmentPerRow > 0;
  a.synonymAlpha = eda ? config.data.synonymRate : 0.0;
  a.insertionAlpha = eda ? config.data.insertRate : 0.0;
  a.swapAlpha = eda ? config.data.swapRate : 0.0;
  a.deletionAlpha = eda ? config.data.deleteRate : 0.0;
  a.perExample = config.data.augmentPerRow;
  a.backTranslation = !config.data.paraphrase.model.empty();
  a.paraphrasesPerRow = config.data.paraphrase.perRow;
  a.seed = config.seed;
  return a;
}

} // namespace tunebench
