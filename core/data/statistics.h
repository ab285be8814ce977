#pragma once

#include "core/data/dataset.h"

#include <map>
#include <string>
#include <vector>

namespace tunebench {

class Tokenizer;

struct DatasetStatistics
{
  std::size_t rows = 0;
  std::map<std::string, int> labelCounts; // classes, or tags for tagging data
  // With a tokenizer: tokens per example (specials included).
  std::vector<int> tokenLengths;
  int p50 = 0, p90 = 0, p95 = 0, p99 = 0, maxLength = 0;
  int truncatedRows = 0;  // rows longer than the max length asked for
  double unknownRate = 0; // share of tokens that are the unknown token
};

// The text a tokenizer sees for an example (instruction prompts and responses joined).
std::string exampleText(const Example &e);

DatasetStatistics computeStatistics(const Dataset &dataset, const Tokenizer *tokenizer = nullptr,
                                    int maxLength = 0);

} // namespace tunebench
