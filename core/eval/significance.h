#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace tunebench {

// Is B really better than A? Tests for two models evaluated on the same test rows (paired), and
// for groups of runs paired by seed or fold.

// McNemar's exact test: b rows only A got right, c rows only B got right. Two-sided p-value of
// the binomial test of min(b, c) in b + c trials at 1/2 (SciPy's binomtest), 1 when b + c = 0.
double mcnemarExactP(std::int64_t b, std::int64_t c);

// A paired two-sided t-test of y − x (SciPy's ttest_rel(y, x)): mean difference, t, degrees of
// freedom and p. Needs two or more pairs; identical pairs give t = 0, p = 1.
struct TTest
{
  double meanDifference = 0;
  double t = 0;
  double df = 0;
  double p = 1;
};
TTest pairedTTest(const std::vector<double> &x, const std::vector<double> &y);

// The two-sided tail of Student's t: P(|T| ≥ |t|) with df degrees of freedom.
double studentTwoSidedP(double t, double df);
// The regularized incomplete beta function I_x(a, b).
double regularizedIncompleteBeta(double a, double b, double x);

// A paired bootstrap of metric(B) − metric(A) over n rows: `resamples` draws of n row indices with
// replacement from splitmix64(seed) (index = next() % n), the same draw for both models.
// `difference(rows)` returns metric(B) − metric(A) on those rows (a row may repeat). The interval is
// the 2.5 and 97.5 percentiles of the resampled differences (linear interpolation, as numpy's
// percentile); p is two-sided: 2 · min(share of differences ≤ 0, share ≥ 0), at most 1.
struct BootstrapResult
{
  double difference = 0; // on all rows
  double low = 0, high = 0;
  double p = 1;
  int resamples = 0;
};
BootstrapResult pairedBootstrap(std::size_t n,
                                const std::function<double(const std::vector<std::size_t> &)> &difference,
                                int resamples = 10000, std::uint64_t seed = 20261205);

// The generator behind pairedBootstrap, for references that redraw the same rows.
class SplitMix64
{
public:
  explicit SplitMix64(std::uint64_t seed)
    : m_state(seed)
  {}
  std::uint64_t next()
  {
    std::uint64_t z = (m_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

private:
  std::uint64_t m_state;
};

// Linear-interpolation percentile (numpy's default) of sorted values, q in [0, 100].
double percentileOfSorted(const std::vector<double> &sorted, double q);

// The 95% Wilson score interval of a proportion: `successes` of `n` (e.g. a test accuracy over
// its rows); {0, 0} when n is 0.
std::pair<double, double> wilsonInterval(std::int64_t successes, std::int64_t n);

} // namespace tunebench
