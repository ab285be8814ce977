#include "core/data/statistics.h"

#include "core/tokenize/tokenizer.h"

#include <algorithm>
#include <cmath>

namespace tunebench {

std::string exampleText(const Example &e)
{
  std::string text = e.text;
  for (const std::string *part : {&e.instruction, &e.input, &e.output})
    if (!part->empty())
      text += (text.empty() ? "" : "\n") + *part;
  for (const ChatTurn &t : e.messages)
    text += (text.empty() ? "" : "\n") + t.content;
  return text;
}

DatasetStatistics computeStatistics(const Dataset &dataset, const Tokenizer *tokenizer, int maxLength)
{
  DatasetStatistics s;
  s.rows = dataset.size();
  for (const Example &e : dataset.examples) {
    for (const std::string &l : e.labels)
      ++s.labelCounts[l];
    for (const std::string &t : e.tags)
      ++s.labelCounts[t];
  }
  if (!tokenizer)
    return s;
  long long tokens = 0, unknown = 0;
  const int unk = tokenizer->specialTokens().unk;
  for (const Example &e : dataset.examples) {
    const Encoding enc = dataset.kind == TaskKind::TokenTagging ? tokenizer->encodeWords(e.tokens)
                         : e.textPair.empty()                   ? tokenizer->encode(exampleText(e))
                                                                : tokenizer->encodePair(e.text, e.textPair);
    s.tokenLengths.push_back(static_cast<int>(enc.size()));
    tokens += static_cast<long long>(enc.size());
    if (unk >= 0)
      unknown += std::count(enc.ids.begin(), enc.ids.end(), unk);
    if (maxLength > 0 && static_cast<int>(enc.size()) > maxLength)
      ++s.truncatedRows;
  }
  std::vector<int> sorted = s.tokenLengths;
  std::sort(sorted.begin(), sorted.end());
  // Nearest-rank percentiles.
  auto pct = [&](double p) {
    if (sorted.empty())
      return 0;
    const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    return sorted[std::max<std::size_t>(rank, 1) - 1];
  };
  s.p50 = pct(50);
  s.p90 = pct(90);
  s.p95 = pct(95);
  s.p99 = pct(99);
  s.maxLength = sorted.empty() ? 0 : sorted.back();
  s.unknownRate = tokens ? static_cast<double>(unknown) / static_cast<double>(tokens) : 0.0;
  return s;
}

} // namespace tunebench
