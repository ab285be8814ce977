#include "core/config/schema.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

namespace tunebench::config_schema {

using Config = ExperimentConfig;

std::string fmt(double v)
{
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string joinChoices(const std::vector<std::string> &choices)
{
  std::string out;
  for (std::size_t i = 0; i < choices.size(); ++i)
    out += (i ? ", " : "") + choices[i];
  return out;
}

namespace {

// One field of the schema: its dotted path, how to read it (an error message or "") and how to
// write it back.
template <typename T> using Access = std::function<T &(Config &)>;


Field number(std::string path, Access<double> at, double lo, double hi)
{
  return {path, "number", lo, hi, {},
          [=](const YAML::Node &n, Config &c) -> std::string {
            double v = 0;
            if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !std::isfinite(v))
              return "expected a number";
            if (v < lo || v > hi)
              return "must be between " + fmt(lo) + " and " + fmt(hi) + " (got " + n.Scalar() + ")";
            at(c) = v;
            return {};
          },
          [=](const Config &c) { return YAML::Node(at(const_cast<Config &>(c))); }};
}

Field integer(std::string path, Access<int> at, int lo, int hi)
{
  return {path, "integer", static_cast<double>(lo), static_cast<double>(hi), {},
          [=](const YAML::Node &n, Config &c) -> std::string {
            long long v = 0;
            if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v))
              return "expected a whole number";
            if (v < lo || v > hi)
              return "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + " (got " + n.Scalar() + ")";
            at(c) = static_cast<int>(v);
            return {};
          },
          [=](const Config &c) { return YAML::Node(at(const_cast<Config &>(c))); }};
}

// Every k-th layer (an integer ≥ 0), or true (every layer: 1) / false (none: 0).
Field layerInterval(std::string path, Access<int> at)
{
  Field f = integer(path, at, 0, 1000);
  const auto readInteger = f.read;
  f.read = [=](const YAML::Node &n, Config &c) -> std::string {
    bool on = false;
    long long number = 0;
    if (n.IsScalar() && !YAML::convert<long long>::decode(n, number) && YAML::convert<bool>::decode(n, on)) {
      at(c) = on ? 1 : 0;
      return {};
    }
    const std::string error = readInteger(n, c);
    return error.empty() ? error : error + " (or true / false)";
  };
  return f;
}

Field boolean(std::string path, Access<bool> at)
{
  return {path, "boolean", 0, 0, {},
          [=](const YAML::Node &n, Config &c) -> std::string {
            bool v = false;
            if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v))
              return "expected true or false";
            at(c) = v;
            return {};
          },
          [=](const Config &c) { return YAML::Node(at(const_cast<Config &>(c))); }};
}

Field text(std::string path, Access<std::string> at)
{
  return {path, "text", 0, 0, {},
          [=](const YAML::Node &n, Config &c) -> std::string {
            if (!n.IsScalar())
              return "expected a string";
            at(c) = n.Scalar();
            return {};
          },
          [=](const Config &c) { return YAML::Node(at(const_cast<Config &>(c))); }};
}


Field choice(std::string path, Access<std::string> at, std::vector<std::string> choices)
{
  return {path, "choice", 0, 0, choices,
          [=](const YAML::Node &n, Config &c) -> std::string {
            if (!n.IsScalar())
              return "expected one of " + joinChoices(choices);
            if (std::find(choices.begin(), choices.end(), n.Scalar()) == choices.end()) {
              const std::string near = closestMatch(n.Scalar(), choices);
              return "\"" + n.Scalar() + "\" is not one of " + joinChoices(choices) +
                     (near.empty() ? "" : " (did you mean \"" + near + "\"?)");
            }
            at(c) = n.Scalar();
            return {};
          },
          [=](const Config &c) { return YAML::Node(at(const_cast<Config &>(c))); }};
}

template <typename T> Field list(std::string path, Access<std::vector<T>> at)
{
  return {path, "list", 0, 0, {},
          [=](const YAML::Node &n, Config &c) -> std::string {
            std::vector<T> out;
            if (n.IsScalar() && !n.Scalar().empty()) { // one value for a one-element list
              T v{};
              if (!YAML::convert<T>::decode(n, v))
                return "expected a list";
              out.push_back(v);
            } else if (n.IsSequence()) {
              for (const YAML::Node &item : n) {
                T v{};
                if (!item.IsScalar() || !YAML::convert<T>::decode(item, v))
                  return "list item \"" + (item.IsScalar() ? item.Scalar() : std::string("?")) + "\" has the wrong type";
                out.push_back(v);
              }
            } else if (!n.IsNull()) {
              return "expected a list";
            }
            at(c) = out;
            return {};
          },
          [=](const Config &c) {
            YAML::Node node(YAML::NodeType::Sequence);
            for (const T &v : at(const_cast<Config &>(c)))
              node.push_back(v);
            node.SetStyle(YAML::EmitterStyle::Flow);
            return node;
          }};
}

Field columns(std::string path)
{
  static const std::vector<std::string> roles = {"text", "text_pair", "label", "tokens", "tags", "split"};
  return {path, "map", 0, 0, roles,
          [=](const YAML::Node &n, Config &c) -> std::string {
            if (!n.IsMap())
              return "expected a map of role: column (roles: " + joinChoices(roles) + ")";
            for (const auto &kv : n) {
              const std::string role = kv.first.Scalar();
              if (std::find(roles.begin(), roles.end(), role) == roles.end()) {
                const std::string near = closestMatch(role, roles);
                return "unknown role \"" + role + "\"" + (near.empty() ? "" : " (did you mean \"" + near + "\"?)");
              }
              if (!kv.second.IsScalar())
                return role + ": expected a column name";
              c.data.columns[role] = kv.second.Scalar();
            }
            return {};
          },
          [](const Config &c) {
            YAML::Node node(YAML::NodeType::Map);
            for (const auto &[k, v] : c.data.columns)
              node[k] = v;
            return node;
          }};
}

// multitask.tasks: a list of {name, kind, path, columns, tag_scheme, subset_rows, weight}.
Field auxiliaryTasks(std::string path)
{
  static const std::vector<std::string> keys = {"name", "kind", "path", "columns", "tag_scheme", "subset_rows", "weight"};
  static const std::vector<std::string> kinds = {"single_label", "multi_label", "token_tagging"};
  return {path, "tasks", 0, 0, {},
          [=](const YAML::Node &n, Config &c) -> std::string {
            if (!n.IsSequence())
              return "expected a list of tasks ({name, kind, path, columns, tag_scheme, subset_rows, weight})";
            c.multitask.tasks.clear();
            for (std::size_t i = 0; i < n.size(); ++i) {
              const YAML::Node &t = n[i];
              const std::string at = "task " + std::to_string(i + 1) + ": ";
              if (!t.IsMap())
                return at + "expected a map";
              Config::AuxiliaryTask task;
              for (const auto &kv : t) {
                const std::string key = kv.first.Scalar();
                const YAML::Node &v = kv.second;
                if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
                  const std::string near = closestMatch(key, keys);
                  return at + "unknown key \"" + key + "\"" + (near.empty() ? "" : " (did you mean \"" + near + "\"?)");
                }
                if (key == "columns") {
                  if (!v.IsMap())
                    return at + "columns: expected a map of role: column";
                  for (const auto &col : v)
                    task.columns[col.first.Scalar()] = col.second.Scalar();
                  continue;
                }
                if (!v.IsScalar())
                  return at + key + ": expected a single value";
                try {
                  if (key == "name")
                    task.name = v.Scalar();
                  else if (key == "kind")
                    task.kind = v.Scalar();
                  else if (key == "path")
                    task.path = v.Scalar();
                  else if (key == "tag_scheme")
                    task.tagScheme = v.Scalar();
                  else if (key == "subset_rows")
                    task.subsetRows = v.as<int>();
                  else
                    task.weight = v.as<double>();
                } catch (const YAML::Exception &) {
                  return at + key + ": \"" + v.Scalar() + "\" is not a number";
                }
              }
              if (task.name.empty() || task.path.empty())
                return at + "needs a name and a path";
              if (std::find(kinds.begin(), kinds.end(), task.kind) == kinds.end())
                return at + "kind: expected one of " + joinChoices(kinds);
              if (!(task.weight > 0 && task.weight <= 100) || task.subsetRows < 0)
                return at + "weight must be in (0, 100] and subset_rows ≥ 0";
              for (const auto &other : c.multitask.tasks)
                if (other.name == task.name)
                  return at + "the name \"" + task.name + "\" is used twice";
              if (task.name == "main" || task.name.find('/') != std::string::npos)
                return at + "name: \"main\" and names with '/' are reserved";
              c.multitask.tasks.push_back(std::move(task));
            }
            return {};
          },
          [](const Config &c) {
            YAML::Node list(YAML::NodeType::Sequence);
            for (const auto &t : c.multitask.tasks) {
              YAML::Node node(YAML::NodeType::Map);
              node["name"] = t.name;
              node["kind"] = t.kind;
              node["path"] = t.path;
              for (const auto &[k, v] : t.columns)
                node["columns"][k] = v;
              node["tag_scheme"] = t.tagScheme;
              node["subset_rows"] = t.subsetRows;
              node["weight"] = t.weight;
              list.push_back(node);
            }
            return list;
          }};
}

} // namespace

#define AT(T, member) Access<T>([](Config &c) -> T & { return c.member; })

const std::vector<Field> &schema()
{
  static const std::vector<Field> fields = {
      text("name", AT(std::string, name)),
      {"seed",
       "integer",
       0,
       1e18,
       {},
       [](const YAML::Node &n, Config &c) -> std::string {
         unsigned long long v = 0;
         if (!n.IsScalar() || !YAML::convert<unsigned long long>::decode(n, v))
           return "expected a non-negative whole number";
         c.seed = v;
         return {};
       },
       [](const Config &c) { return YAML::Node(static_cast<unsigned long long>(c.seed)); }},
      text("model.path", AT(std::string, model.path)),
      choice("model.init", AT(std::string, model.init), {"pretrained", "random"}),
      integer("model.max_length", AT(int, model.maxLength), 2, 8192),
      integer("model.scratch.layers", AT(int, model.scratchLayers), 1, 48),
      integer("model.scratch.hidden", AT(int, model.scratchHidden), 16, 8192),
      integer("model.scratch.heads", AT(int, model.scratchHeads), 1, 128),
      choice("task.kind", AT(std::string, task.kind),
             {"single_label", "multi_label", "token_tagging", "causal_lm", "instruction", "seq2seq",
              "masked_lm", "span_corruption"}),
      number("task.noise_density", AT(double, task.noiseDensity), 0.01, 0.9),
      number("task.mean_span", AT(double, task.meanSpan), 1.0, 64.0),
      choice("task.template", AT(std::string, task.promptTemplate), {"alpaca", "chat", "plain"}),
      choice("task.pooling", AT(std::string, task.pooling), {"native", "first", "mean"}),
      number("task.head_dropout", AT(double, task.headDropout), 0.0, 0.9),
      text("data.path", AT(std::string, data.path)),
      columns("data.columns"),
      choice("data.tag_scheme", AT(std::string, data.tagScheme),
             {"", "bio", "iob2", "iob1", "iobes", "plain"}),
      integer("data.subset_rows", AT(int, data.subsetRows), 0, 100000000),
      number("data.subset_fraction", AT(double, data.subsetFraction), 0.001, 1.0),
      number("data.split.train", AT(double, data.train), 0.01, 1.0),
      number("data.split.validation", AT(double, data.validation), 0.0, 0.9),
      number("data.split.test", AT(double, data.test), 0.0, 0.9),
      boolean("data.split.stratified", AT(bool, data.stratified)),
      integer("data.split.folds", AT(int, data.folds), 0, 100),
      integer("data.split.fold", AT(int, data.fold), 0, 99),
      boolean("data.cleaning.whitespace", AT(bool, data.cleanWhitespace)),
      boolean("data.cleaning.html", AT(bool, data.cleanHtml)),
      boolean("data.cleaning.lowercase", AT(bool, data.cleanLowercase)),
      boolean("data.cleaning.mask_urls", AT(bool, data.maskUrls)),
      boolean("data.cleaning.mask_emails", AT(bool, data.maskEmails)),
      boolean("data.cleaning.deduplicate", AT(bool, data.deduplicate)),
      choice("data.cleaning.unicode", AT(std::string, data.unicodeForm), {"", "nfc", "nfkc"}),
      integer("data.augmentation.per_row", AT(int, data.augmentPerRow), 0, 16),
      number("data.augmentation.synonym", AT(double, data.synonymRate), 0.0, 0.5),
      number("data.augmentation.insert", AT(double, data.insertRate), 0.0, 0.5),
      number("data.augmentation.swap", AT(double, data.swapRate), 0.0, 0.5),
      number("data.augmentation.delete", AT(double, data.deleteRate), 0.0, 0.5),
      text("data.augmentation.paraphrase.model", AT(std::string, data.paraphrase.model)),
      text("data.augmentation.paraphrase.back_model", AT(std::string, data.paraphrase.backModel)),
      text("data.augmentation.paraphrase.prefix", AT(std::string, data.paraphrase.prefix)),
      text("data.augmentation.paraphrase.back_prefix", AT(std::string, data.paraphrase.backPrefix)),
      integer("data.augmentation.paraphrase.per_row", AT(int, data.paraphrase.perRow), 1, 16),
      boolean("data.augmentation.paraphrase.sampling", AT(bool, data.paraphrase.sampling)),
      choice("strategy.name", AT(std::string, strategy.name),
             {"full", "partial", "linear_probe", "bitfit", "lora", "adapters", "ia3", "prefix", "prompt"}),
      boolean("strategy.freeze_embeddings", AT(bool, strategy.freezeEmbeddings)),
      integer("strategy.freeze_bottom_layers", AT(int, strategy.freezeBottomLayers), 0, 1000),
      list<int>("strategy.freeze_layers", AT(std::vector<int>, strategy.freezeLayers)),
      number("strategy.layer_decay", AT(double, strategy.layerDecay), 0.1, 1.0),
      number("strategy.head_lr_scale", AT(double, strategy.headLrScale), 0.0, 1000.0),
      boolean("strategy.cache_frozen", AT(bool, strategy.cacheFrozen)),
      integer("strategy.lora.r", AT(int, strategy.loraR), 1, 1024),
      number("strategy.lora.alpha", AT(double, strategy.loraAlpha), 0.0, 4096.0),
      number("strategy.lora.dropout", AT(double, strategy.loraDropout), 0.0, 0.9),
      list<std::string>("strategy.lora.targets", AT(std::vector<std::string>, strategy.loraTargets)),
      boolean("strategy.lora.rslora", AT(bool, strategy.rsLora)),
      choice("strategy.lora.bias", AT(std::string, strategy.loraBias), {"none", "all", "lora_only"}),
      integer("strategy.prefix.tokens", AT(int, strategy.prefixTokens), 1, 512),
      boolean("strategy.prefix.reparameterize", AT(bool, strategy.prefixReparameterize)),
      integer("strategy.prefix.hidden", AT(int, strategy.prefixHidden), 8, 8192),
      integer("strategy.prompt.tokens", AT(int, strategy.promptTokens), 1, 512),
      text("strategy.prompt.init_text", AT(std::string, strategy.promptInitText)),
      text("strategy.adapter", AT(std::string, strategy.adapter)),
      choice("strategy.adapters.kind", AT(std::string, strategy.adapterKind), {"houlsby", "pfeiffer"}),
      integer("strategy.adapters.reduction", AT(int, strategy.adapterReduction), 1, 1024),
      choice("strategy.adapters.activation", AT(std::string, strategy.adapterActivation),
             {"relu", "gelu", "tanh"}),
      integer("training.epochs", AT(int, training.epochs), 1, 1000),
      integer("training.batch_size", AT(int, training.batchSize), 1, 4096),
      number("training.learning_rate", AT(double, training.learningRate), 1e-8, 1.0),
      choice("training.optimizer.name", AT(std::string, training.optimizer), {"adamw", "adam", "sgd"}),
      number("training.optimizer.beta1", AT(double, training.beta1), 0.0, 0.9999),
      number("training.optimizer.beta2", AT(double, training.beta2), 0.0, 0.99999),
      number("training.optimizer.eps", AT(double, training.eps), 1e-12, 1e-3),
      number("training.optimizer.momentum", AT(double, training.momentum), 0.0, 0.999),
      boolean("training.optimizer.nesterov", AT(bool, training.nesterov)),
      number("training.weight_decay", AT(double, training.weightDecay), 0.0, 1.0),
      choice("training.scheduler.name", AT(std::string, training.scheduler),
             {"constant", "constant_warmup", "linear", "cosine", "cosine_restarts", "polynomial",
              "inverse_sqrt", "plateau"}),
      integer("training.scheduler.warmup_steps", AT(int, training.warmupSteps), 0, 10000000),
      number("training.scheduler.warmup_ratio", AT(double, training.warmupRatio), 0.0, 0.5),
      integer("training.scheduler.cycles", AT(int, training.cycles), 1, 100),
      number("training.scheduler.power", AT(double, training.power), 0.1, 10.0),
      number("training.scheduler.plateau_factor", AT(double, training.plateauFactor), 0.01, 0.99),
      integer("training.scheduler.plateau_patience", AT(int, training.plateauPatience), 0, 100),
      integer("training.gradient_accumulation", AT(int, training.gradientAccumulation), 1, 1024),
      layerInterval("training.activation_checkpointing", AT(int, training.activationCheckpointing)),
      number("training.max_grad_norm", AT(double, training.maxGradNorm), 0.0, 1000.0),
      number("training.label_smoothing", AT(double, training.labelSmoothing), 0.0, 0.5),
      number("training.l2_sp", AT(double, training.l2sp), 0.0, 1.0e6),
      number("training.dropout", AT(double, training.dropout), -1.0, 0.9),
      choice("training.precision", AT(std::string, training.precision), {"auto", "fp32", "bf16", "fp16"}),
      choice("training.device", AT(std::string, training.device), {"auto", "cpu", "cuda"}),
      boolean("training.scale_lr_with_batch", AT(bool, training.scaleLrWithBatch)),
      boolean("training.bucket_by_length", AT(bool, training.bucketByLength)),
      integer("training.max_steps", AT(int, training.maxSteps), 0, 100000000),
      integer("training.threads", AT(int, training.threads), 0, 1024),
      integer("training.distributed.processes", AT(int, training.distributed.processes), 1, 256),
      choice("training.distributed.backend", AT(std::string, training.distributed.backend),
             {"auto", "gloo", "nccl"}),
      integer("training.distributed.timeout", AT(int, training.distributed.timeout), 5, 86400),
      number("training.distributed.bucket_mb", AT(double, training.distributed.bucketMb), 0.01, 1024.0),
      integer("evaluation.every_steps", AT(int, evaluation.everySteps), 0, 100000000),
      choice("evaluation.metric", AT(std::string, evaluation.metric),
             {"auto", "accuracy", "macro_f1", "micro_f1", "weighted_f1", "entity_f1", "loss", "perplexity",
              "multitask_score", "rouge_l", "exact_match", "bleu"}),
      choice("evaluation.mode", AT(std::string, evaluation.mode), {"auto", "max", "min"}),
      integer("evaluation.early_stopping.patience", AT(int, evaluation.patience), 0, 1000),
      number("evaluation.early_stopping.threshold", AT(double, evaluation.threshold), 0.0, 1.0),
      integer("evaluation.generate", AT(int, evaluation.generate), 0, 100000),
      integer("evaluation.max_new_tokens", AT(int, evaluation.maxNewTokens), 1, 4096),
      text("forgetting.reference", AT(std::string, forgetting.reference)),
      integer("forgetting.rows", AT(int, forgetting.rows), 8, 1000000),
      number("forgetting.rehearsal", AT(double, forgetting.rehearsal), 0.0, 1.0),
      text("forgetting.previous_run", AT(std::string, forgetting.previousRun)),
      choice("multitask.sampling", AT(std::string, multitask.sampling), {"proportional", "round_robin"}),
      auxiliaryTasks("multitask.tasks"),
      choice("runtime.kernels", AT(std::string, runtime.kernels), {"auto", "tunebench", "aten"}),
      text("output.runs", AT(std::string, output.runs)),
      boolean("output.save_best", AT(bool, output.saveBest)),
      boolean("output.save_last", AT(bool, output.saveLast)),
  };
  return fields;
}

#undef AT

const Field *findField(const std::string &path)
{
  for (const Field &f : schema())
    if (f.path == path)
      return &f;
  return nullptr;
}

bool isSection(const std::string &path)
{
  for (const Field &f : schema())
    if (f.path.size() > path.size() && f.path.compare(0, path.size(), path) == 0 && f.path[path.size()] == '.')
      return true;
  return false;
}

// Key names allowed directly under a section ("" = top level).
std::vector<std::string> childNames(const std::string &section)
{
  std::set<std::string> out;
  const std::string prefix = section.empty() ? "" : section + ".";
  for (const Field &f : schema()) {
    if (f.path.compare(0, prefix.size(), prefix) != 0)
      continue;
    const std::string rest = f.path.substr(prefix.size());
    out.insert(rest.substr(0, rest.find('.')));
  }
  return {out.begin(), out.end()};
}

} // namespace tunebench::config_schema
