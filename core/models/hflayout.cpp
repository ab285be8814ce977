#include "core/models/hflayout.h"

#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::string kOwnPrefix = "tunebench_head.";

const std::map<HeadStyle, std::string> kStyles = {{HeadStyle::Linear, "linear"},
                                                  {HeadStyle::DenseTanh, "dense_tanh"},
                                                  {HeadStyle::DenseRelu, "dense_relu"},
                                                  {HeadStyle::Score, "score"}};
const std::map<HeadKind, std::string> kKinds = {{HeadKind::Classification, "classification"},
                                                {HeadKind::MultiLabel, "multi_label"},
                                                {HeadKind::Regression, "regression"},
                                                {HeadKind::TokenClassification, "token_classification"}};
const std::map<Pooling, std::string> kPoolings = {
    {Pooling::Native, "native"}, {Pooling::First, "first"}, {Pooling::Mean, "mean"}};

template <class E>
E fromName(const std::map<E, std::string> &names, const std::string &name, const std::string &where)
{
  for (const auto &[value, n] : names)
    if (n == name)
      return value;
  throw Error(where + ": \"" + name + "\" is not one of tunebench's values");
}

// The Hugging Face class name stem of a family ("Bert", "GPT2" ...); empty for USE-Lite.
std::string classStem(const std::string &family)
{
  static const std::map<std::string, std::string> stems = {
      {"bert", "Bert"}, {"roberta", "Roberta"}, {"distilbert", "DistilBert"}, {"gpt2", "GPT2"}, {"t5", "T5"}};
  const auto it = stems.find(family);
  return it == stems.end() ? std::string() : it->second;
}

std::string backbonePrefixOf(const std::string &family)
{
  if (family == "gpt2")
    return ""; // GPT-2's backbone keys start with "transformer." already
  if (family == "t5")
    return "transformer.";
  if (family == "use-lite")
    return "use_lite.";
  return family + ".";
}

// The reference class for one head, with its keys; empty architecture when none fits (why says why).
HfLayout::Head referenceHead(const std::string &family, const HeadSpec &spec, std::string &architecture,
                             std::string &why)
{
  HfLayout::Head head{spec, {}};
  const std::string stem = classStem(family);
  if (stem.empty()) {
    why = "USE-Lite has no Hugging Face architecture";
    return head;
  }
  if (spec.kind == HeadKind::TokenClassification) {
    architecture = stem + "ForTokenClassification";
    head.keys = {{"linear.weight", "classifier.weight"}, {"linear.bias", "classifier.bias"}};
    return head;
  }
  const bool native = spec.pooling == Pooling::Native;
  if (family == "bert" && native && spec.style == HeadStyle::Linear)
    head.keys = {{"linear.weight", "classifier.weight"}, {"linear.bias", "classifier.bias"}};
  else if (family == "roberta" && native && spec.style == HeadStyle::DenseTanh)
    head.keys = {{"dense.weight", "classifier.dense.weight"},
                 {"dense.bias", "classifier.dense.bias"},
                 {"linear.weight", "classifier.out_proj.weight"},
                 {"linear.bias", "classifier.out_proj.bias"}};
  else if (family == "distilbert" && native && spec.style == HeadStyle::DenseRelu)
    head.keys = {{"dense.weight", "pre_classifier.weight"},
                 {"dense.bias", "pre_classifier.bias"},
                 {"linear.weight", "classifier.weight"},
                 {"linear.bias", "classifier.bias"}};
  else if (family == "gpt2" && native && spec.style == HeadStyle::Score)
    head.keys = {{"linear.weight", "score.weight"}};
  if (head.keys.empty()) {
    why = family == "t5" ? "T5ForSequenceClassification reads the decoder's last token; tunebench's T5 "
                           "sequence heads pool the encoder's output"
                         : "the head pools by \"" + kPoolings.at(spec.pooling) + "\", which " + stem +
                               "ForSequenceClassification does not";
    return head;
  }
  architecture = stem + "ForSequenceClassification";
  return head;
}

std::vector<std::pair<std::string, std::string>> ownKeys(const HeadSpec &spec)
{
  std::vector<std::pair<std::string, std::string>> keys;
  const std::string at = kOwnPrefix + spec.name + ".";
  if (spec.style == HeadStyle::DenseTanh || spec.style == HeadStyle::DenseRelu)
    keys = {{"dense.weight", at + "dense.weight"}, {"dense.bias", at + "dense.bias"}};
  keys.emplace_back("linear.weight", at + "linear.weight");
  if (spec.style != HeadStyle::Score)
    keys.emplace_back("linear.bias", at + "linear.bias");
  return keys;
}

std::string baseClass(const std::string &family)
{
  if (family == "t5")
    return "T5EncoderModel";
  const std::string stem = classStem(family);
  return stem.empty() ? "UseLiteEncoder" : stem + "Model";
}

} // namespace

bool isStrategyTensor(const std::string &name)
{
  for (const char *part : {".lora_A.", ".lora_B.", ".adapter_down.", ".adapter_up."})
    if (name.find(part) != std::string::npos)
      return true;
  const bool ia3 = name.size() >= 6 && name.compare(name.size() - 6, 6, ".ia3_l") == 0;
  return ia3 || name.rfind("prompt_encoder.", 0) == 0 || name.rfind("prefix_encoder.", 0) == 0;
}

HfLayout hfLayoutFor(const std::string &family, const std::vector<HeadSpec> &heads)
{
  HfLayout layout;
  layout.backbonePrefix = backbonePrefixOf(family);
  if (family == "t5")
    layout.dropped = {"decoder.", "lm_head."};
  if (heads.size() == 1) {
    std::string architecture;
    HfLayout::Head head = referenceHead(family, heads.front(), architecture, layout.why);
    if (!architecture.empty() && heads.front().name == "main") {
      layout.architecture = architecture;
      if (family == "bert" && heads.front().kind == HeadKind::TokenClassification)
        layout.dropped.push_back("pooler."); // BertForTokenClassification has no pooler
      layout.heads.push_back(head);
      return layout;
    }
  } else {
    layout.why =
        "a model with " + std::to_string(heads.size()) + " heads (multi-task) has no Hugging Face class";
  }
  layout.reference = false;
  layout.architecture = baseClass(family);
  for (const HeadSpec &spec : heads)
    layout.heads.push_back({spec, ownKeys(spec)});
  return layout;
}

std::string HfLayout::folderName(const std::string &name) const
{
  if (name.rfind("backbone.", 0) == 0) {
    const std::string own = name.substr(9);
    const bool left = std::any_of(dropped.begin(), dropped.end(),
                                  [&](const std::string &p) { return own.rfind(p, 0) == 0; });
    return left ? std::string() : backbonePrefix + own;
  }
  for (const Head &head : heads) {
    const std::string at = "heads." + head.spec.name + ".";
    for (const auto &[param, key] : head.keys)
      if (name == at + param)
        return key;
  }
  throw Error("the export has no place for the model's tensor \"" + name + "\"");
}

TensorMap HfLayout::toFolder(const TensorMap &taskModel) const
{
  TensorMap out;
  for (const auto &[name, tensor] : taskModel)
    if (!isStrategyTensor(name))
      if (const std::string key = folderName(name); !key.empty())
        out.emplace(key, tensor);
  return out;
}

json HfLayout::config(json base, const std::vector<std::string> &labels) const
{
  json c = base.is_object() ? std::move(base) : json::object();
  c["architectures"] = {architecture};
  json id2label = json::object(), label2id = json::object();
  for (std::size_t i = 0; i < labels.size(); ++i) {
    id2label[std::to_string(i)] = labels[i];
    label2id[labels[i]] = static_cast<int>(i);
  }
  c["id2label"] = id2label;
  c["label2id"] = label2id;
  const HeadSpec &main = heads.front().spec;
  static const std::map<HeadKind, std::string> problems = {
      {HeadKind::Classification, "single_label_classification"},
      {HeadKind::MultiLabel, "multi_label_classification"},
      {HeadKind::Regression, "regression"}};
  if (const auto p = problems.find(main.kind); p != problems.end())
    c["problem_type"] = p->second;
  else
    c.erase("problem_type");
  c["num_labels"] = main.outputs;
  c[c.value("model_type", std::string()) == "distilbert" ? "seq_classif_dropout" : "classifier_dropout"] =
      main.dropout;
  c.erase("tunebench_heads");
  c.erase("tunebench_layout");
  if (!reference) {
    json described = json::array();
    for (const Head &head : heads)
      described.push_back({{"name", head.spec.name},
                           {"kind", kKinds.at(head.spec.kind)},
                           {"outputs", head.spec.outputs},
                           {"pooling", kPoolings.at(head.spec.pooling)},
                           {"style", kStyles.at(head.spec.style)},
                           {"dropout", head.spec.dropout}});
    c["tunebench_heads"] = described;
    c["tunebench_layout"] = "tunebench's own: " + why + "; the backbone under " + architecture +
                            "'s names, each head under tunebench_head.<name>.* (see tunebench_heads)";
  }
  return c;
}

FolderHeads headsInFolder(const json &config, const std::string &family, const std::string &source)
{
  FolderHeads out;
  return withJsonTypeErrors(source, [&] {
    if (config.contains("id2label") && config["id2label"].is_object()) {
      std::map<int, std::string> byId;
      for (const auto &[key, value] : config["id2label"].items()) {
        try {
          byId[std::stoi(key)] = value.get<std::string>();
        } catch (const std::logic_error &) {
          throw Error(source + ": field \"id2label\": key \"" + key + "\" is not a class number");
        }
      }
      for (const auto &[id, label] : byId)
        out.labels.push_back(label);
    }
    if (config.contains("tunebench_heads")) {
      for (const json &h : config.at("tunebench_heads")) {
        HeadSpec spec;
        spec.name = h.at("name").get<std::string>();
        const std::string where = source + ": field \"tunebench_heads\" (head " + spec.name + ")";
        spec.kind = fromName(kKinds, h.at("kind").get<std::string>(), where);
        spec.outputs = h.at("outputs").get<int>();
        spec.pooling = fromName(kPoolings, h.at("pooling").get<std::string>(), where);
        spec.style = fromName(kStyles, h.at("style").get<std::string>(), where);
        spec.dropout = h.value("dropout", 0.1);
        out.heads.push_back(spec);
      }
      return out;
    }
    const json &architectures = config.contains("architectures") ? config["architectures"] : json::array();
    const std::string architecture = architectures.is_array() && !architectures.empty()
                                         ? architectures[0].get<std::string>()
                                         : std::string();
    const auto endsWith = [&](const std::string &tail) {
      return architecture.size() > tail.size() &&
             architecture.compare(architecture.size() - tail.size(), tail.size(), tail) == 0;
    };
    HeadSpec spec;
    spec.name = "main";
    spec.outputs = config.contains("num_labels") ? config["num_labels"].get<int>()
                                                 : std::max<int>(2, static_cast<int>(out.labels.size()));
    spec.dropout = config.value("classifier_dropout", json(0.1)).is_number()
                       ? config.value("classifier_dropout", 0.1)
                       : 0.1;
    if (endsWith("ForTokenClassification")) {
      spec.kind = HeadKind::TokenClassification;
    } else if (endsWith("ForSequenceClassification")) {
      const std::string problem = config.value("problem_type", std::string("single_label_classification"));
      spec.kind = problem == "regression"                   ? HeadKind::Regression
                  : problem == "multi_label_classification" ? HeadKind::MultiLabel
                                                            : HeadKind::Classification;
    } else {
      return out;
    }
    spec.style = headStyleFor(family, spec);
    out.heads.push_back(spec);
    return out;
  });
}

std::string loadFolderHeads(TaskModelImpl &model, const fs::path &folder, const TensorMap &checkpoint)
{
  const fs::path configFile = folder / "config.json";
  if (!fileExists(configFile))
    return {};
  const std::string family = model.backbone().family();
  const FolderHeads described = headsInFolder(readJsonFile(configFile), family, configFile.string());
  if (described.heads.empty())
    return {};
  const HfLayout layout = hfLayoutFor(family, model.headSpecs());
  std::string report;
  torch::NoGradGuard noGrad;
  for (const HfLayout::Head &head : layout.heads) {
    auto params = model.head(head.spec.name)->named_parameters();
    std::string problem;
    for (const auto &[param, key] : head.keys) {
      const auto it = checkpoint.find(key);
      if (it == checkpoint.end())
        problem = "the folder has no " + key;
      else if (!params.find(param) || params[param].sizes() != it->second.sizes())
        problem = key + " has another shape than this task's head";
      if (!problem.empty())
        break;
    }
    if (!problem.empty()) {
      report += "head \"" + head.spec.name + "\" starts afresh (" + problem + "). ";
      continue;
    }
    for (const auto &[param, key] : head.keys)
      params[param].copy_(checkpoint.at(key));
    report += "head \"" + head.spec.name + "\" loaded from the folder. ";
  }
  return report;
}

} // namespace tunebench
