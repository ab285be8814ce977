#include "core/eval/tagdecoding.h"

#include <limits>

namespace tunebench {

bool tagTransitionAllowed(const std::string &from, const std::string &to, TagScheme scheme)
{
  if (scheme != TagScheme::IOB2 && scheme != TagScheme::IOBES)
    return true;
  const bool start = from.empty(), end = to.empty();
  const ParsedTag a = start ? ParsedTag{} : parseTag(from), b = end ? ParsedTag{} : parseTag(to);
  const bool continues = (b.prefix == 'I' || b.prefix == 'E') && !end;
  if (scheme == TagScheme::IOB2) {
    if (b.prefix != 'I' || end)
      return true;
    return !start && (a.prefix == 'B' || a.prefix == 'I') && a.type == b.type;
  }
  const bool open = !start && (a.prefix == 'B' || a.prefix == 'I'); // an entity waiting for I-/E-
  if (open)
    return continues && a.type == b.type;
  return !continues;
}

std::vector<int> constrainedDecode(const std::vector<std::vector<double>> &logProbs,
                                   const std::vector<std::string> &labels, TagScheme scheme)
{
  const std::size_t n = logProbs.size(), k = labels.size();
  if (n == 0 || k == 0)
    return {};
  constexpr double none = -std::numeric_limits<double>::infinity();
  std::vector<std::vector<double>> score(n, std::vector<double>(k, none));
  std::vector<std::vector<int>> back(n, std::vector<int>(k, -1));
  for (std::size_t j = 0; j < k; ++j)
    if (tagTransitionAllowed("", labels[j], scheme))
      score[0][j] = logProbs[0][j];
  for (std::size_t t = 1; t < n; ++t)
    for (std::size_t j = 0; j < k; ++j)
      for (std::size_t i = 0; i < k; ++i) {
        if (score[t - 1][i] == none || !tagTransitionAllowed(labels[i], labels[j], scheme))
          continue;
        const double s = score[t - 1][i] + logProbs[t][j];
        if (s > score[t][j]) {
          score[t][j] = s;
          back[t][j] = static_cast<int>(i);
        }
      }
  int best = -1;
  for (std::size_t j = 0; j < k; ++j)
    if (score[n - 1][j] != none && tagTransitionAllowed(labels[j], "", scheme) &&
        (best < 0 || score[n - 1][j] > score[n - 1][static_cast<std::size_t>(best)]))
      best = static_cast<int>(j);
  std::vector<int> path(n, 0);
  if (best < 0) { // no valid sequence with these labels: the plain argmax
    for (std::size_t t = 0; t < n; ++t)
      for (std::size_t j = 1; j < k; ++j)
        if (logProbs[t][j] > logProbs[t][static_cast<std::size_t>(path[t])])
          path[t] = static_cast<int>(j);
    return path;
  }
  for (std::size_t t = n; t-- > 0;) {
    path[t] = best;
    best = back[t][static_cast<std::size_t>(best)];
  }
  return path;
}

} // namespace tunebench
