#include "core/export/exportfiles.h"

#include "core/models/hflayout.h"
#include "core/models/uselite.h"
#include "core/train/builtmodel.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;

void copyTokenizerFiles(const fs::path &from, const fs::path &to)
{
  for (const char *name : {"vocab.json", "merges.txt", "vocab.txt", "spiece.model", "tokenizer.json",
                           "tokenizer_config.json", "special_tokens_map.json"})
    if (fileExists(from / name))
      fs::copy_file(from / name, to / name, fs::copy_options::overwrite_existing);
}

void writeRunConfig(const ExperimentConfig &config, const fs::path &folder, const std::string &base)
{
  ExperimentConfig c = config;
  c.data.path = config.resolve(config.data.path).string();
  c.model.path = base;
  writeFileAtomically(folder / "tunebench.yaml", c.toYaml());
}

json baseModelConfig(BuiltModel &built, const ExperimentConfig &config)
{
  const fs::path file = config.resolve(config.model.path) / "config.json";
  if (fileExists(file))
    return readJsonFile(file);
  if (auto *use = dynamic_cast<UseLiteEncoderImpl *>(built.task->backbone().module().get()))
    return use->config().toJson();
  throw Error(file.string() + ": the base model's config.json is missing");
}

MergeScope::MergeScope(BuiltModel &built)
  : m_built(built)
  , m_merged(built.strategy->canMerge())
{
  if (m_merged)
    m_built.strategy->merge(*m_built.model);
}

MergeScope::~MergeScope()
{
  if (m_merged)
    m_built.strategy->unmerge(*m_built.model);
}

bool hasStrategyTensors(const BuiltModel &built)
{
  for (const auto &p : built.model->named_parameters())
    if (isStrategyTensor(p.key()))
      return true;
  return false;
}

} // namespace tunebench
