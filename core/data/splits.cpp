#include "core/data/splits.h"

#include "core/util/error.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <unordered_map>

namespace tunebench {

namespace {

// Groups row indices by label (one group when not stratified), each group shuffled.
std::vector<std::vector<int>> shuffledGroups(const Dataset &dataset, bool stratified, std::uint64_t seed)
{
  const std::vector<int> order = shuffledIndices(static_cast<int>(dataset.size()), seed);
  if (!stratified || dataset.kind != TaskKind::SingleLabel)
    return {order};
  std::map<std::string, std::vector<int>> byLabel;
  for (int i : order)
    byLabel[Dataset::primaryLabel(dataset.examples[static_cast<std::size_t>(i)])].push_back(i);
  std::vector<std::vector<int>> groups;
  for (auto &[label, rows] : byLabel)
    groups.push_back(std::move(rows));
  return groups;
}

} // namespace

std::vector<int> shuffledIndices(int n, std::uint64_t seed)
{
  std::vector<int> order(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    order[static_cast<std::size_t>(i)] = i;
  std::mt19937_64 rng(seed);
  for (int i = n - 1; i > 0; --i) {
    const int j = static_cast<int>(rng() % static_cast<std::uint64_t>(i + 1));
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  return order;
}

SplitIndices splitDataset(const Dataset &dataset, const SplitRatios &ratios, bool stratified, std::uint64_t seed)
{
  const double total = ratios.train + ratios.validation + ratios.test;
  if (ratios.train < 0 || ratios.validation < 0 || ratios.test < 0 || std::abs(total - 1.0) > 1e-6)
    throw Error("split ratios must be non-negative and add up to 1 (got " + std::to_string(ratios.train) + " + " +
                std::to_string(ratios.validation) + " + " + std::to_string(ratios.test) + ")");
  SplitIndices out;
  for (const std::vector<int> &group : shuffledGroups(dataset, stratified, seed)) {
    const auto n = static_cast<double>(group.size());
    const auto test = static_cast<std::size_t>(std::llround(n * ratios.test));
    const auto validation = std::min(group.size() - test, static_cast<std::size_t>(std::llround(n * ratios.validation)));
    out.test.insert(out.test.end(), group.begin(), group.begin() + static_cast<std::ptrdiff_t>(test));
    out.validation.insert(out.validation.end(), group.begin() + static_cast<std::ptrdiff_t>(test),
                          group.begin() + static_cast<std::ptrdiff_t>(test + validation));
    out.train.insert(out.train.end(), group.begin() + static_cast<std::ptrdiff_t>(test + validation), group.end());
  }
  for (auto *v : {&out.train, &out.validation, &out.test})
    std::sort(v->begin(), v->end());
  return out;
}

std::vector<std::vector<int>> kFold(const Dataset &dataset, int k, bool stratified, std::uint64_t seed)
{
  if (k < 2 || static_cast<std::size_t>(k) > dataset.size())
    throw Error("k-fold needs 2 ≤ k ≤ the number of rows (" + std::to_string(dataset.size()) + "), got " +
                std::to_string(k));
  std::vector<std::vector<int>> folds(static_cast<std::size_t>(k));
  std::size_t next = 0; // continue dealing where the last class stopped, to keep folds even
  for (const std::vector<int> &group : shuffledGroups(dataset, stratified, seed))
    for (int row : group)
      folds[next++ % folds.size()].push_back(row);
  for (auto &f : folds)
    std::sort(f.begin(), f.end());
  return folds;
}

std::string exampleKey(const Example &e)
{
  // Each part trimmed, inner whitespace collapsed, lower-cased: "  Good  film" == "good film".
  std::string key;
  auto add = [&key](const std::string &part) {
    bool space = false;
    for (char c : part) {
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        space = true;
        continue;
      }
      if (space && !key.empty() && key.back() != '\x1f')
        key.push_back(' ');
      space = false;
      key.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    key.push_back('\x1f');
  };
  for (const std::string *part : {&e.text, &e.textPair, &e.instruction, &e.input})
    add(*part);
  for (const std::string &t : e.tokens)
    add(t);
  for (const ChatTurn &t : e.messages)
    add(t.content);
  return key;
}

std::vector<Leak> findLeaks(const Dataset &dataset, const std::vector<int> &a, const std::vector<int> &b)
{
  std::unordered_map<std::string, int> inA;
  for (int i : a)
    inA.emplace(exampleKey(dataset.examples[static_cast<std::size_t>(i)]), i);
  std::vector<Leak> leaks;
  for (int j : b)
    if (const auto it = inA.find(exampleKey(dataset.examples[static_cast<std::size_t>(j)])); it != inA.end())
      leaks.push_back({it->second, j});
  return leaks;
}

} // namespace tunebench
