#!/usr/bin/python3
"""Golden values for the Wilson score interval of a proportion (core/eval/significance.h,
wilsonInterval; the model card's interval for test accuracy), made with Debian's python3-scipy:
scipy.stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson").
Run: /usr/bin/python3 tests/golden/stats/make_wilson.py
"""
import json
import os

import scipy.stats

HERE = os.path.dirname(os.path.abspath(__file__))
cases = []
for k, n in ((318, 400), (0, 10), (10, 10), (1, 3), (151, 200), (5000, 9999), (7, 8)):
    ci = scipy.stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    cases.append({"k": k, "n": n, "low": ci.low, "high": ci.high})
with open(os.path.join(HERE, "wilson.json"), "w") as f:
    json.dump(cases, f, indent=1)
    f.write("\n")
print(cases[0])
