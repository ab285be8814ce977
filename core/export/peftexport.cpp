#include "core/export/peftexport.h"

#include "core/export/exportfiles.h"
#include "core/strategies/peft.h"
#include "core/train/builtmodel.h"
#include "core/train/trainedrun.h"
#include "core/util/error.h"
#include "core/util/jsonfile.h"

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

int firstInt(const json &config, std::initializer_list<const char *> names)
{
  for (const char *n : names)
    if (config.contains(n) && config[n].is_number_integer())
      return config[n].get<int>();
  return 0;
}

std::string taskTypeOf(const ExperimentConfig &c)
{
  if (c.task.kind == "token_tagging")
    return "TOKEN_CLS";
  if (c.task.kind == "causal_lm" || c.task.kind == "instruction")
    return "CAUSAL_LM";
  if (c.isEncoderDecoder())
    return "SEQ_2_SEQ_LM";
  if (c.task.kind == "masked_lm")
    return "FEATURE_EXTRACTION";
  return "SEQ_CLS";
}

} // namespace

json writePeftFolder(TrainedRun &run, const fs::path &folder)
{
  BuiltModel &built = run.model();
  const ExperimentConfig &c = run.config();
  const std::string strategy = built.strategy->name();
  if (!hasPeftLayout(strategy))
    throw Error("PEFT has no layout for the " + strategy +
                " strategy (LoRA, IA3, prefix and prompt tuning have one): export --format tunebench" +
                (strategy == "adapters" ? "" : " or hf"));
  if (c.model.init == "random")
    throw Error(
        "a PEFT adapter sits on a pre-trained base model, and this run's base was initialised at random "
        "(model.init: random), which nothing outside this run can rebuild: export --format hf or tunebench");
  const json base = built.task ? baseModelConfig(built, c) : json::parse(built.configJson);
  const std::string type = base.value("model_type", std::string());
  if ((strategy == "prefix" || strategy == "prompt") && (type == "t5" || type == "mt5"))
    throw Error("PEFT's " + strategy +
                " tuning of T5 covers the decoder too, tunebench's does not: export --format "
                "tunebench");
  PeftTarget target;
  target.taskType = taskTypeOf(c);
  target.baseModel = c.resolve(c.model.path).string();
  target.transformerLayers = firstInt(base, {"num_hidden_layers", "n_layer", "n_layers", "num_layers"});
  target.attentionHeads = firstInt(base, {"num_attention_heads", "n_head", "n_heads", "num_heads"});
  target.hiddenSize = firstInt(base, {"hidden_size", "n_embd", "dim", "d_model"});
  target.conv1d = type == "gpt2";
  writePeftAdapter(*built.model, *built.strategy, peftNames(built), target, folder);
  copyTokenizerFiles(c.resolve(c.model.path), folder);
  writeJsonFile(folder / "labels.json", run.labels());
  ExperimentConfig saved = c;
  saved.strategy.adapter = ".";
  writeRunConfig(saved, folder, c.resolve(c.model.path).string());
  return {{"layout",
           "PEFT (" + strategy + ", task_type " + target.taskType + ") on the base model " + c.model.path},
          {"architecture", nullptr}};
}

} // namespace tunebench
