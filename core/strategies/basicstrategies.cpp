#include "core/strategies/basicstrategies.h"

#include <torch/torch.h>

#include <cmath>
#include <map>

namespace tunebench {

void FullFineTuning::apply(torch::nn::Module &model)
{
  for (auto &p : model.parameters())
    p.set_requires_grad(true);
}

void LinearProbe::apply(torch::nn::Module &model)
{
  for (auto &p : model.named_parameters())
    p.value().set_requires_grad(isHeadParameter(p.key()));
}

void PartialFineTuning::apply(torch::nn::Module &model)
{
  for (auto &p : model.named_parameters()) {
    const int layer = layerIndexOf(p.key());
    bool frozen = false;
    if (!isHeadParameter(p.key())) {
      frozen = (m_options.freezeEmbeddings && isEmbeddingParameter(p.key())) ||
               (layer >= 0 && (layer < m_options.freezeBottomLayers || m_options.freezeLayers.count(layer)));
    }
    p.value().set_requires_grad(!frozen);
  }
}

std::vector<ParameterGroup> PartialFineTuning::parameterGroups(torch::nn::Module &model) const
{
  int layers = 0;
  for (const auto &p : model.named_parameters())
    layers = std::max(layers, layerIndexOf(p.key()) + 1);
  std::map<std::string, ParameterGroup> groups;
  std::vector<std::string> order;
  for (auto &p : model.named_parameters()) {
    if (!p.value().requires_grad())
      continue;
    std::string group;
    double scale = 1.0;
    const int layer = layerIndexOf(p.key());
    if (isHeadParameter(p.key())) {
      group = "head";
      scale = m_options.headLearningRateScale.value_or(1.0);
    } else if (layer >= 0) {
      group = "layer " + std::to_string(layer);
      scale = std::pow(m_options.layerDecay, layers - layer); // the top layer gets decay^1
    } else if (isEmbeddingParameter(p.key())) {
      group = "embeddings";
      scale = std::pow(m_options.layerDecay, layers + 1); // below the bottom layer
    } else {
      group = "other"; // e.g. BERT's pooler, above the top layer
    }
    auto it = groups.find(group);
    if (it == groups.end()) {
      it = groups.emplace(group, ParameterGroup{group, {}, scale}).first;
      order.push_back(group);
    }
    it->second.parameters.push_back(p.value());
  }
  std::vector<ParameterGroup> out;
  for (const std::string &g : order)
    out.push_back(std::move(groups[g]));
  return out;
}

void BitFit::apply(torch::nn::Module &model)
{
  for (auto &p : model.named_parameters()) {
    const std::string &n = p.key();
    const bool bias = n.size() >= 5 && n.compare(n.size() - 5, 5, ".bias") == 0;
    p.value().set_requires_grad(bias || isHeadParameter(n));
  }
}

} // namespace tunebench
