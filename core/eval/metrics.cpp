#include "core/eval/metrics.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

namespace tunebench {

namespace {

double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }
double f1Of(double p, double r) { return p + r > 0 ? 2 * p * r / (p + r) : 0.0; }

// Per-class scores and the three averages from true-positive / predicted / support counts.
void fillScores(const std::vector<std::string> &labels, const std::vector<int> &tp, const std::vector<int> &predicted,
                const std::vector<int> &support, std::vector<ClassScore> &rows, Averages &micro, Averages &macro,
                Averages &weighted)
{
  rows.clear();
  double tpSum = 0, predSum = 0, supSum = 0;
  for (std::size_t c = 0; c < labels.size(); ++c) {
    ClassScore s;
    s.label = labels[c];
    s.support = support[c];
    s.predicted = predicted[c];
    s.precision = ratio(tp[c], predicted[c]);
    s.recall = ratio(tp[c], support[c]);
    s.f1 = f1Of(s.precision, s.recall);
    rows.push_back(s);
    tpSum += tp[c];
    predSum += predicted[c];
    supSum += support[c];
  }
  micro.precision = ratio(tpSum, predSum);
  micro.recall = ratio(tpSum, supSum);
  micro.f1 = f1Of(micro.precision, micro.recall);
  macro = weighted = Averages{};
  if (rows.empty())
    return;
  for (const ClassScore &s : rows) {
    macro.precision += s.precision / static_cast<double>(rows.size());
    macro.recall += s.recall / static_cast<double>(rows.size());
    macro.f1 += s.f1 / static_cast<double>(rows.size());
    if (supSum > 0) {
      const double w = s.support / supSum;
      weighted.precision += w * s.precision;
      weighted.recall += w * s.recall;
      weighted.f1 += w * s.f1;
    }
  }
}

} // namespace

ClassificationMetrics classificationMetrics(const std::vector<int> &truth, const std::vector<int> &predicted,
                                            const std::vector<std::string> &labels)
{
  ClassificationMetrics m;
  const std::size_t k = labels.size();
  m.confusion.assign(k, std::vector<int>(k, 0));
  std::vector<int> tp(k, 0), pred(k, 0), support(k, 0);
  int right = 0;
  const std::size_t n = std::min(truth.size(), predicted.size());
  for (std::size_t i = 0; i < n; ++i) {
    const int t = truth[i], p = predicted[i];
    if (t < 0 || p < 0 || static_cast<std::size_t>(t) >= k || static_cast<std::size_t>(p) >= k)
      continue;
    ++m.confusion[static_cast<std::size_t>(t)][static_cast<std::size_t>(p)];
    ++support[static_cast<std::size_t>(t)];
    ++pred[static_cast<std::size_t>(p)];
    if (t == p) {
      ++tp[static_cast<std::size_t>(t)];
      ++right;
    }
  }
  m.examples = static_cast<int>(n);
  m.accuracy = ratio(right, static_cast<double>(n));
  fillScores(labels, tp, pred, support, m.perClass, m.micro, m.macro, m.weighted);
  return m;
}

ClassificationMetrics multiLabelMetrics(const std::vector<std::vector<int>> &truth,
                                        const std::vector<std::vector<int>> &predicted,
                                        const std::vector<std::string> &labels)
{
  ClassificationMetrics m;
  const std::size_t k = labels.size();
  std::vector<int> tp(k, 0), pred(k, 0), support(k, 0);
  int exact = 0;
  const std::size_t n = std::min(truth.size(), predicted.size());
  for (std::size_t i = 0; i < n; ++i) {
    const std::set<int> t(truth[i].begin(), truth[i].end()), p(predicted[i].begin(), predicted[i].end());
    for (int c : t)
      if (c >= 0 && static_cast<std::size_t>(c) < k)
        ++support[static_cast<std::size_t>(c)];
    for (int c : p)
      if (c >= 0 && static_cast<std::size_t>(c) < k) {
        ++pred[static_cast<std::size_t>(c)];
        if (t.count(c))
          ++tp[static_cast<std::size_t>(c)];
      }
    exact += t == p;
  }
  m.examples = static_cast<int>(n);
  m.accuracy = ratio(exact, static_cast<double>(n));
  fillScores(labels, tp, pred, support, m.perClass, m.micro, m.macro, m.weighted);
  return m;
}

EntityMetrics entityMetrics(const std::vector<std::vector<std::string>> &truth,
                            const std::vector<std::vector<std::string>> &predicted)
{
  using Key = std::tuple<std::size_t, int, int, std::string>; // sentence, begin, end, type
  std::set<Key> gold, pred;
  std::set<std::string> types;
  for (std::size_t s = 0; s < truth.size(); ++s)
    for (const EntitySpan &e : extractEntities(truth[s])) {
      gold.emplace(s, e.begin, e.end, e.type);
      types.insert(e.type);
    }
  for (std::size_t s = 0; s < predicted.size(); ++s)
    for (const EntitySpan &e : extractEntities(predicted[s])) {
      pred.emplace(s, e.begin, e.end, e.type);
      types.insert(e.type);
    }
  const std::vector<std::string> labels(types.begin(), types.end());
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < labels.size(); ++i)
    index[labels[i]] = i;
  std::vector<int> tp(labels.size(), 0), npred(labels.size(), 0), support(labels.size(), 0);
  for (const Key &k : gold)
    ++support[index[std::get<3>(k)]];
  for (const Key &k : pred) {
    ++npred[index[std::get<3>(k)]];
    if (gold.count(k))
      ++tp[index[std::get<3>(k)]];
  }
  EntityMetrics m;
  fillScores(labels, tp, npred, support, m.perType, m.micro, m.macro, m.weighted);
  m.gold = static_cast<int>(gold.size());
  m.predicted = static_cast<int>(pred.size());
  for (int c : tp)
    m.correct += c;
  return m;
}

double tokenAccuracy(const std::vector<std::vector<std::string>> &truth,
                     const std::vector<std::vector<std::string>> &predicted)
{
  std::size_t right = 0, total = 0;
  for (std::size_t s = 0; s < truth.size() && s < predicted.size(); ++s)
    for (std::size_t i = 0; i < truth[s].size(); ++i) {
      ++total;
      right += i < predicted[s].size() && predicted[s][i] == truth[s][i];
    }
  return ratio(static_cast<double>(right), static_cast<double>(total));
}

double perplexity(double meanNll) { return std::exp(meanNll); }

double corpusBleu(const std::vector<std::vector<std::string>> &hypotheses,
                  const std::vector<std::vector<std::vector<std::string>>> &references, int maxOrder, bool smooth)
{
  std::vector<double> matches(static_cast<std::size_t>(maxOrder), 0), possible(static_cast<std::size_t>(maxOrder), 0);
  double hypLength = 0, refLength = 0;
  for (std::size_t i = 0; i < hypotheses.size() && i < references.size(); ++i) {
    const auto &hyp = hypotheses[i];
    hypLength += static_cast<double>(hyp.size());
    // The reference length closest to the hypothesis (the shorter one on ties).
    std::size_t best = SIZE_MAX;
    for (const auto &ref : references[i]) {
      const auto d = [&](std::size_t len) { return len > hyp.size() ? len - hyp.size() : hyp.size() - len; };
      if (best == SIZE_MAX || d(ref.size()) < d(best) || (d(ref.size()) == d(best) && ref.size() < best))
        best = ref.size();
    }
    refLength += best == SIZE_MAX ? 0 : static_cast<double>(best);
    for (int n = 1; n <= maxOrder; ++n) {
      std::map<std::vector<std::string>, int> hypCounts, maxRef;
      for (std::size_t j = 0; j + static_cast<std::size_t>(n) <= hyp.size(); ++j)
        ++hypCounts[std::vector<std::string>(hyp.begin() + static_cast<std::ptrdiff_t>(j),
                                             hyp.begin() + static_cast<std::ptrdiff_t>(j) + n)];
      for (const auto &ref : references[i]) {
        std::map<std::vector<std::string>, int> refCounts;
        for (std::size_t j = 0; j + static_cast<std::size_t>(n) <= ref.size(); ++j)
          ++refCounts[std::vector<std::string>(ref.begin() + static_cast<std::ptrdiff_t>(j),
                                               ref.begin() + static_cast<std::ptrdiff_t>(j) + n)];
        for (const auto &[g, c] : refCounts)
          maxRef[g] = std::max(maxRef[g], c);
      }
      for (const auto &[g, c] : hypCounts) {
        const auto it = maxRef.find(g);
        matches[static_cast<std::size_t>(n - 1)] += std::min(c, it == maxRef.end() ? 0 : it->second);
      }
      if (hyp.size() >= static_cast<std::size_t>(n))
        possible[static_cast<std::size_t>(n - 1)] += static_cast<double>(hyp.size() - static_cast<std::size_t>(n) + 1);
    }
  }
  double logSum = 0;
  for (int n = 0; n < maxOrder; ++n) {
    double m = matches[static_cast<std::size_t>(n)], p = possible[static_cast<std::size_t>(n)];
    if (smooth && n > 0) {
      m += 1;
      p += 1;
    }
    if (m <= 0 || p <= 0)
      return 0.0;
    logSum += std::log(m / p) / maxOrder;
  }
  const double bp = hypLength >= refLength || hypLength == 0 ? 1.0 : std::exp(1.0 - refLength / hypLength);
  return hypLength == 0 ? 0.0 : bp * std::exp(logSum);
}

double rougeL(const std::vector<std::string> &hypothesis, const std::vector<std::string> &reference)
{
  if (hypothesis.empty() || reference.empty())
    return 0.0;
  std::vector<int> prev(reference.size() + 1, 0), cur(reference.size() + 1, 0);
  for (const std::string &h : hypothesis) {
    for (std::size_t j = 1; j <= reference.size(); ++j)
      cur[j] = h == reference[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
    std::swap(prev, cur);
  }
  const double lcs = prev[reference.size()];
  return f1Of(lcs / static_cast<double>(hypothesis.size()), lcs / static_cast<double>(reference.size()));
}

std::vector<std::string> splitWords(const std::string &text)
{
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string w; in >> w;)
    words.push_back(w);
  return words;
}

double exactMatch(const std::vector<std::string> &hypotheses, const std::vector<std::string> &references)
{
  auto norm = [](const std::string &s) {
    std::string out;
    for (const std::string &w : splitWords(s)) {
      if (!out.empty())
        out.push_back(' ');
      for (char c : w)
        out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    return out;
  };
  std::size_t same = 0;
  const std::size_t n = std::min(hypotheses.size(), references.size());
  for (std::size_t i = 0; i < n; ++i)
    same += norm(hypotheses[i]) == norm(references[i]);
  return ratio(static_cast<double>(same), static_cast<double>(n));
}

double expectedCalibrationError(const std::vector<double> &confidence, const std::vector<bool> &correct, int bins)
{
  std::vector<double> conf(static_cast<std::size_t>(bins), 0), acc(static_cast<std::size_t>(bins), 0);
  std::vector<int> count(static_cast<std::size_t>(bins), 0);
  const std::size_t n = std::min(confidence.size(), correct.size());
  for (std::size_t i = 0; i < n; ++i) {
    // Bins (lo, hi]; a confidence of exactly 0 goes to the first.
    int b = static_cast<int>(std::ceil(confidence[i] * bins)) - 1;
    b = std::clamp(b, 0, bins - 1);
    conf[static_cast<std::size_t>(b)] += confidence[i];
    acc[static_cast<std::size_t>(b)] += correct[i] ? 1.0 : 0.0;
    ++count[static_cast<std::size_t>(b)];
  }
  double ece = 0;
  for (int b = 0; b < bins; ++b)
    if (count[static_cast<std::size_t>(b)] > 0)
      ece += std::abs(acc[static_cast<std::size_t>(b)] - conf[static_cast<std::size_t>(b)]) / static_cast<double>(n);
  return ece;
}

} // namespace tunebench
