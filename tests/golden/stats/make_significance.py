#!/usr/bin/python3
"""Golden values for tunebench's significance tests (core/eval/significance.h), made with Debian's
python3-scipy and numpy, not with tunebench's code:
  - McNemar's exact test: scipy.stats.binomtest(min(b, c), b + c, 0.5).pvalue (two-sided);
  - the paired t-test: scipy.stats.ttest_rel(y, x);
  - the paired bootstrap: the row indices drawn by splitmix64 (the generator tunebench documents,
    index = next() % n), the accuracy and macro-F1 (scikit-learn's definition, zero_division 0,
    written out below) of both models on each resample, numpy.percentile (linear) for the 2.5 and
    97.5 percentiles, and p = 2 * min(share <= 0, share >= 0), at most 1.
Run: /usr/bin/python3 tests/golden/stats/make_significance.py
"""
import json
import os

import numpy as np
import scipy
import scipy.stats

HERE = os.path.dirname(os.path.abspath(__file__))
MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)


def macro_f1(truth, pred, classes):
    scores = []
    for c in range(classes):
        tp = sum(1 for t, p in zip(truth, pred) if t == c and p == c)
        fp = sum(1 for t, p in zip(truth, pred) if t != c and p == c)
        fn = sum(1 for t, p in zip(truth, pred) if t == c and p != c)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / classes


def accuracy(truth, pred):
    return sum(1 for t, p in zip(truth, pred) if t == p) / len(truth)


def bootstrap(truth, a, b, metric, resamples, seed):
    n = len(truth)
    rng = SplitMix64(seed)
    diffs = []
    for _ in range(resamples):
        rows = [rng.next() % n for _ in range(n)]
        t = [truth[r] for r in rows]
        diffs.append(metric(t, [b[r] for r in rows]) - metric(t, [a[r] for r in rows]))
    low, high = np.percentile(np.array(diffs), [2.5, 97.5])
    at_most = sum(1 for d in diffs if d <= 0)
    at_least = sum(1 for d in diffs if d >= 0)
    return {"difference": metric(truth, b) - metric(truth, a), "low": float(low), "high": float(high),
            "p": min(1.0, 2.0 * min(at_most, at_least) / resamples)}


def main():
    out = {"scipy": scipy.__version__, "numpy": np.__version__, "mcnemar": [], "ttest": []}
    for b, c in [(0, 0), (3, 3), (0, 5), (1, 9), (10, 20), (45, 60), (300, 340), (1000, 1100), (2, 50), (7, 0)]:
        p = 1.0 if b + c == 0 else scipy.stats.binomtest(min(b, c), b + c, 0.5).pvalue
        out["mcnemar"].append({"b": b, "c": c, "p": float(p)})
    rs = np.random.RandomState(7)
    for n, shift in [(2, 0.5), (3, 0.1), (5, 0.02), (10, 0.0), (30, 0.01), (200, 0.003)]:
        x = rs.normal(0.8, 0.02, n)
        y = x + shift + rs.normal(0, 0.01, n)
        r = scipy.stats.ttest_rel(y, x)
        out["ttest"].append({"x": x.tolist(), "y": y.tolist(), "t": float(r.statistic), "p": float(r.pvalue),
                             "mean": float(np.mean(y - x))})
    # Two classifiers on 300 rows of three classes: B right a little more often than A.
    rng = SplitMix64(99)
    truth, a, b = [], [], []
    for _ in range(300):
        t = rng.next() % 3
        truth.append(t)
        a.append(t if rng.next() % 100 < 78 else rng.next() % 3)
        b.append(t if rng.next() % 100 < 82 else rng.next() % 3)
    out["bootstrap"] = {"truth": truth, "a": a, "b": b, "resamples": 2000, "seed": 20261205,
                        "accuracy": bootstrap(truth, a, b, accuracy, 2000, 20261205),
                        "macro_f1": bootstrap(truth, a, b, lambda t, p: macro_f1(t, p, 3), 2000, 20261205)}
    with open(os.path.join(HERE, "significance.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
