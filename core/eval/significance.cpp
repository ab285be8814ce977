#include "core/eval/significance.h"

#include "core/util/error.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tunebench {

double mcnemarExactP(std::int64_t b, std::int64_t c)
{
  if (b < 0 || c < 0)
    throw Error("McNemar's test needs non-negative counts");
  const std::int64_t n = b + c;
  const std::int64_t k = std::min(b, c);
  if (n == 0 || b == c)
    return 1.0;
  // P(X ≤ k) for X ~ Binomial(n, 1/2), summed in log space from the largest term down.
  const double logHalfN = static_cast<double>(n) * std::log(0.5);
  const double logNFact = std::lgamma(static_cast<double>(n) + 1);
  double total = 0;
  for (std::int64_t i = k; i >= 0; --i) {
    const double term = std::exp(logNFact - std::lgamma(static_cast<double>(i) + 1) -
                                 std::lgamma(static_cast<double>(n - i) + 1) + logHalfN);
    total += term;
    if (term < total * 1e-18)
      break;
  }
  return std::min(1.0, 2 * total);
}

namespace {

// The continued fraction of the incomplete beta (modified Lentz), for x < (a + 1) / (a + b + 2).
double betaContinuedFraction(double a, double b, double x)
{
  constexpr double kTiny = 1e-300, kEpsilon = 1e-16;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  d = std::abs(d) < kTiny ? kTiny : d;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const double m2 = 2.0 * m;
    double num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    d = std::abs(d) < kTiny ? kTiny : d;
    c = 1 + num / c;
    c = std::abs(c) < kTiny ? kTiny : c;
    d = 1 / d;
    h *= d * c;
    num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    d = std::abs(d) < kTiny ? kTiny : d;
    c = 1 + num / c;
    c = std::abs(c) < kTiny ? kTiny : c;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::abs(delta - 1) < kEpsilon)
      break;
  }
  return h;
}

} // namespace

double regularizedIncompleteBeta(double a, double b, double x)
{
  if (x <= 0)
    return 0;
  if (x >= 1)
    return 1;
  const double logFront =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  if (x < (a + 1) / (a + b + 2))
    return std::exp(logFront) * betaContinuedFraction(a, b, x) / a;
  return 1 - std::exp(logFront) * betaContinuedFraction(b, a, 1 - x) / b;
}

double studentTwoSidedP(double t, double df)
{
  if (std::isnan(t))
    return std::numeric_limits<double>::quiet_NaN();
  if (std::isinf(t))
    return 0;
  return regularizedIncompleteBeta(df / 2, 0.5, df / (df + t * t));
}

TTest pairedTTest(const std::vector<double> &x, const std::vector<double> &y)
{
  if (x.size() != y.size() || x.size() < 2)
    throw Error("a paired t-test needs two or more pairs (got " + std::to_string(x.size()) + " and " +
                std::to_string(y.size()) + " values)");
  const double n = static_cast<double>(x.size());
  double mean = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    mean += y[i] - x[i];
  mean /= n;
  double ss = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    ss += (y[i] - x[i] - mean) * (y[i] - x[i] - mean);
  TTest r;
  r.meanDifference = mean;
  r.df = n - 1;
  const double se = std::sqrt(ss / (n - 1) / n);
  if (se == 0) {
    r.t = mean == 0 ? 0 : std::copysign(std::numeric_limits<double>::infinity(), mean);
    r.p = mean == 0 ? 1 : 0;
    return r;
  }
  r.t = mean / se;
  r.p = studentTwoSidedP(r.t, r.df);
  return r;
}

double percentileOfSorted(const std::vector<double> &sorted, double q)
{
  if (sorted.empty())
    throw Error("a percentile of no values");
  const double position = q / 100 * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return sorted[below] + (sorted[above] - sorted[below]) * fraction;
}

BootstrapResult pairedBootstrap(std::size_t n,
                                const std::function<double(const std::vector<std::size_t> &)> &difference,
                                int resamples, std::uint64_t seed)
{
  if (n == 0 || resamples < 1)
    throw Error("a bootstrap needs rows and at least one resample");
  std::vector<std::size_t> rows(n);
  for (std::size_t i = 0; i < n; ++i)
    rows[i] = i;
  BootstrapResult r;
  r.difference = difference(rows);
  r.resamples = resamples;
  SplitMix64 rng(seed);
  std::vector<double> diffs(static_cast<std::size_t>(resamples));
  std::size_t atMostZero = 0, atLeastZero = 0;
  for (double &d : diffs) {
    for (std::size_t &row : rows)
      row = static_cast<std::size_t>(rng.next() % n);
    d = difference(rows);
    atMostZero += d <= 0;
    atLeastZero += d >= 0;
  }
  std::sort(diffs.begin(), diffs.end());
  r.low = percentileOfSorted(diffs, 2.5);
  r.high = percentileOfSorted(diffs, 97.5);
  r.p = std::min(1.0, 2.0 * static_cast<double>(std::min(atMostZero, atLeastZero)) / resamples);
  return r;
}

std::pair<double, double> wilsonInterval(std::int64_t successes, std::int64_t n)
{
  if (n <= 0)
    return {0.0, 0.0};
  const double z = 1.959963984540054; // the 97.5% quantile of the standard normal
  const double nn = static_cast<double>(n), p = static_cast<double>(successes) / nn, z2 = z * z;
  const double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
  const double half = z / (1 + z2 / nn) * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

} // namespace tunebench
