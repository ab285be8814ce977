#pragma once

#include "core/models/taskmodel.h"
#include "core/train/batches.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <utility>

namespace tunebench {

// Cached outputs of frozen bottom layers (strategy.cache_frozen). When the embeddings and the
// bottom k layers have no trainable parameter, what they compute for an example never changes —
// provided they run without dropout. The cache computes it once per example (without gradients,
// in eval mode), keeps each example's real positions ([length, hidden], in the storage type), and
// every later batch starts at layer k: the hidden states re-padded to the batch's width.
// Examples are keyed by the vector a batch's rows index and the row; the token ids are kept
// beside them and compared on every hit, so a different dataset at the same address is computed
// afresh, never served stale.
class FrozenLayerCache
{
public:
  // layers: k, the frozen bottom layers; storage: the type hidden states are kept in
  // (fp32; bf16 halves the memory when the run computes in bf16 anyway).
  FrozenLayerCache(int layers, torch::ScalarType storage) : m_layers(layers), m_storage(storage) {}

  int layers() const { return m_layers; }
  // The backbone's output for the batch: layers [k, n) run on the cached states (with
  // gradients for what trains above them). Batches without a source are not cached.
  BackboneOutput encode(Backbone &backbone, const Batch &batch);

  std::int64_t examples() const { return static_cast<std::int64_t>(m_entries.size()); }
  std::int64_t bytes() const { return m_bytes; }
  std::int64_t hits() const { return m_hits; }
  std::int64_t misses() const { return m_misses; }

private:
  struct Entry
  {
    torch::Tensor ids;    // [length] int64: the example's real token ids, checked on every hit
    torch::Tensor hidden; // [length', hidden] after layer k (length' ≤ length: a backbone's max length)
  };
  int m_layers;
  torch::ScalarType m_storage;
  torch::ScalarType m_computed = torch::kFloat32; // what the bottom produced (layer k reads it back as such)
  std::map<std::pair<const void *, int>, Entry> m_entries;
  std::int64_t m_bytes = 0, m_hits = 0, m_misses = 0;
};

// What a run's log says of strategy.cache_frozen (cache: null when nothing could be cached).
std::string describeFrozenCache(const FrozenLayerCache *cache);
// results.json's "frozen_cache": layers, examples, MiB, hits, misses; null without a cache.
nlohmann::json frozenCacheJson(const FrozenLayerCache *cache);

} // namespace tunebench
