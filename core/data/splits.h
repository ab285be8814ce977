#pragma once

#include "core/data/dataset.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tunebench {

struct SplitRatios
{
  double train = 0.8;
  double validation = 0.1;
  double test = 0.1;
};

// Row indices of each split.
struct SplitIndices
{
  std::vector<int> train;
  std::vector<int> validation;
  std::vector<int> test;
};

// A deterministic shuffle (the same on every platform and standard library) for a seed.
std::vector<int> shuffledIndices(int n, std::uint64_t seed);

// Splits by ratio. Stratified (single-label tasks): each class is split on its own, so every
// class's share of a split is within one example of the ratio. The same seed gives the same split.
SplitIndices splitDataset(const Dataset &dataset, const SplitRatios &ratios, bool stratified, std::uint64_t seed);

// k folds of row indices (each fold is the held-out part of one round); disjoint and covering
// every row. Stratified folds deal each class round-robin.
std::vector<std::vector<int>> kFold(const Dataset &dataset, int k, bool stratified, std::uint64_t seed);

// Pairs (row in a, row in b) whose texts are the same after trimming and lower-casing: the
// same example in two splits inflates test scores.
struct Leak
{
  int a = -1;
  int b = -1;
};
std::vector<Leak> findLeaks(const Dataset &dataset, const std::vector<int> &a, const std::vector<int> &b);

// The text that identifies an example for leakage and duplicates.
std::string exampleKey(const Example &e);

} // namespace tunebench
