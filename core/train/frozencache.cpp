#include "core/train/frozencache.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace tunebench {

BackboneOutput FrozenLayerCache::encode(Backbone &backbone, const Batch &b)
{
  if (!b.source || b.rows.empty())
    return backbone.forward(b.ids, b.mask, b.types);
  const auto n = static_cast<std::int64_t>(b.rows.size());
  const torch::Tensor lengths = b.mask.sum(1); // right padding: the real positions come first
  const auto length = lengths.accessor<long, 1>();

  // Which rows are missing (or stale: other ids at the same key).
  std::vector<std::int64_t> missing;
  std::vector<const Entry *> found(static_cast<std::size_t>(n), nullptr);
  for (std::int64_t i = 0; i < n; ++i) {
    const auto it = m_entries.find({b.source, b.rows[static_cast<std::size_t>(i)]});
    const torch::Tensor ids = b.ids[i].narrow(0, 0, length[i]);
    if (it != m_entries.end() && it->second.ids.size(0) == length[i] && it->second.ids.equal(ids)) {
      found[static_cast<std::size_t>(i)] = &it->second;
      ++m_hits;
    } else {
      missing.push_back(i);
    }
  }

  if (!missing.empty()) {
    // The bottom without gradients and without dropout (eval mode), then the mode as it was.
    torch::nn::Module &module = *backbone.module();
    const bool training = module.is_training();
    const torch::Tensor index = torch::tensor(missing, torch::kLong);
    torch::Tensor hidden;
    {
      torch::NoGradGuard noGrad;
      module.eval();
      try {
        if (static_cast<std::int64_t>(missing.size()) == n) // the first epoch: the whole batch
          hidden = backbone.forwardBottom(m_layers, b.ids, b.mask, b.types);
        else
          hidden = backbone.forwardBottom(m_layers, b.ids.index_select(0, index), b.mask.index_select(0, index),
                                          b.types.defined() ? b.types.index_select(0, index) : torch::Tensor());
      } catch (...) {
        module.train(training);
        throw;
      }
      module.train(training);
    }
    m_computed = hidden.scalar_type();
    for (std::size_t j = 0; j < missing.size(); ++j) {
      const std::int64_t i = missing[j];
      const std::int64_t kept = std::min<std::int64_t>(length[i], hidden.size(1));
      Entry e{b.ids[i].narrow(0, 0, length[i]).clone(), hidden[static_cast<std::int64_t>(j)].narrow(0, 0, kept).to(m_storage).clone()};
      auto [it, added] = m_entries.insert_or_assign({b.source, b.rows[static_cast<std::size_t>(i)]}, std::move(e));
      if (added)
        m_bytes += it->second.hidden.numel() * static_cast<std::int64_t>(it->second.hidden.element_size());
      found[static_cast<std::size_t>(i)] = &it->second;
      ++m_misses;
    }
  }

  // Re-padded to the batch's width; padding positions are zeros (masked keys: they do not reach
  // the real positions, and heads read the real positions only).
  const std::int64_t width = backbone.cachedWidth(b.ids.size(1));
  const torch::Tensor &first = found[0]->hidden;
  torch::Tensor hidden = torch::zeros({n, width, first.size(1)}, first.options());
  for (std::int64_t i = 0; i < n; ++i) {
    const torch::Tensor &h = found[static_cast<std::size_t>(i)]->hidden;
    hidden[i].narrow(0, 0, h.size(0)).copy_(h);
  }
  const torch::Tensor mask = b.mask.narrow(1, 0, width);
  return backbone.forwardTop(m_layers, hidden.to(m_computed), mask);
}

std::string describeFrozenCache(const FrozenLayerCache *cache)
{
  if (!cache)
    return "cache_frozen: nothing to cache (the embeddings or the lowest layer train, or this model cannot be split)";
  const std::string k = std::to_string(cache->layers());
  return "cache_frozen: the embeddings and the bottom " + k +
         " layer(s) are frozen: they run once per example, without dropout, and later batches start at layer " + k;
}

nlohmann::json frozenCacheJson(const FrozenLayerCache *cache)
{
  if (!cache)
    return nullptr;
  return {{"layers", cache->layers()}, {"examples", cache->examples()},
          {"mib", static_cast<double>(cache->bytes()) / (1 << 20)}, {"hits", cache->hits()}, {"misses", cache->misses()}};
}

} // namespace tunebench
