#!/usr/bin/python3
"""Golden values for tunebench's comparison of run groups paired by seed or fold
(core/eval/groupcomparison.h), made with Debian's python3-scipy and numpy, not with tunebench's
code: per case two paired lists of test scores; scipy.stats.ttest_rel(b, a) (t, p), the means and
standard deviations (ddof 1) of each list, the 95% confidence interval of mean(b - a) from
scipy.stats.t.interval(0.95, n - 1, loc=mean, scale=sem), and t quantiles scipy.stats.t.ppf.
Run: /usr/bin/python3 tests/golden/stats/make_groups.py
"""
import json
import os

import numpy as np
import scipy
import scipy.stats

HERE = os.path.dirname(os.path.abspath(__file__))


def case(name, a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    d = b - a
    t = scipy.stats.ttest_rel(b, a)
    low, high = scipy.stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=scipy.stats.sem(d))
    return {"name": name, "a": a.tolist(), "b": b.tolist(), "mean_a": float(a.mean()), "std_a": float(a.std(ddof=1)),
            "mean_b": float(b.mean()), "std_b": float(b.std(ddof=1)), "difference": float(d.mean()),
            "t": float(t.statistic), "p": float(t.pvalue), "low": float(low), "high": float(high)}


def main():
    rng = np.random.default_rng(20261205)
    base = rng.uniform(0.75, 0.82, size=10)
    cases = [case("three seeds, B better", [0.781, 0.795, 0.788], [0.802, 0.809, 0.799]),
             case("five folds, no real difference", base[:5].round(4), (base[:5] + rng.normal(0, 0.01, 5)).round(4)),
             case("ten seeds, small gain", base.round(4), (base + 0.004 + rng.normal(0, 0.006, 10)).round(4)),
             case("two seeds", [0.70, 0.72], [0.74, 0.73])]
    quantiles = [{"p": p, "df": df, "t": float(scipy.stats.t.ppf(p, df))}
                 for p in (0.975, 0.995, 0.9) for df in (1, 2, 4, 9, 30)]
    out = {"generator": "make_groups.py", "scipy": scipy.__version__, "numpy": np.__version__, "groups": cases,
           "quantiles": quantiles}
    with open(os.path.join(HERE, "groups.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
