#include "core/strategies/strategy.h"

#include "core/models/safetensors.h"

#include <torch/torch.h>

#include <cstdio>
#include <map>
#include <regex>

namespace tunebench {

namespace {

std::string withCommas(std::int64_t n)
{
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0)
      out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

// The module a parameter is reported under: the head, the embeddings, layer N, or the rest.
std::string groupOf(const std::string &name)
{
  if (isHeadParameter(name))
    return "head";
  if (const int layer = layerIndexOf(name); layer >= 0)
    return "layer " + std::to_string(layer);
  if (isEmbeddingParameter(name))
    return "embeddings";
  return "other";
}

} // namespace

std::string TrainableReport::summary() const
{
  char percentText[32];
  std::snprintf(percentText, sizeof percentText, "%.4f", percent());
  return "trainable params: " + withCommas(trainable) + " || all params: " + withCommas(total) +
         " || trainable%: " + percentText;
}

TrainableReport trainableReport(const torch::nn::Module &model)
{
  TrainableReport report;
  std::map<std::string, std::size_t> rows;
  for (const auto &p : model.named_parameters()) {
    const std::int64_t n = p.value().numel();
    const bool trains = p.value().requires_grad();
    report.total += n;
    report.trainable += trains ? n : 0;
    const std::string group = groupOf(p.key());
    auto it = rows.find(group);
    if (it == rows.end()) {
      it = rows.emplace(group, report.modules.size()).first;
      report.modules.push_back({group, 0, 0});
    }
    report.modules[it->second].total += n;
    report.modules[it->second].trainable += trains ? n : 0;
  }
  return report;
}

bool isHeadParameter(const std::string &name)
{
  static const std::regex head(R"((^|\.)(heads|classifier|pre_classifier|qa_outputs)\.)");
  return std::regex_search(name, head);
}

int layerIndexOf(const std::string &name)
{
  static const std::regex layer(R"((^|\.)(layer|h|block|layers)\.(\d+)\.)");
  std::smatch m;
  return std::regex_search(name, m, layer) ? std::stoi(m[3]) : -1;
}

bool isEmbeddingParameter(const std::string &name)
{
  return name.find("embeddings") != std::string::npos || name.find("wte.") != std::string::npos ||
         name.find("wpe.") != std::string::npos || name.rfind("shared.", 0) == 0 ||
         name.find(".shared.") != std::string::npos;
}

std::vector<ParameterGroup> Strategy::parameterGroups(torch::nn::Module &model) const
{
  ParameterGroup all{"all", {}, 1.0};
  for (auto &p : model.parameters())
    if (p.requires_grad())
      all.parameters.push_back(p);
  return {all};
}

} // namespace tunebench
