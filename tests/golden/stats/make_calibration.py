#!/usr/bin/python3
"""Golden values for tunebench's temperature scaling (core/eval/calibration.h: fitTemperature), made
with Debian's python3-scipy and numpy, not with tunebench's code: the temperature T > 0 that
minimises the mean negative log-likelihood of softmax(logits / T), found by
scipy.optimize.minimize_scalar (bounded, on log T in [log 0.05, log 20], xatol 1e-12), and the NLL
at that T. Cases: over-confident, under-confident and well-calibrated synthetic logits.
Run: /usr/bin/python3 tests/golden/stats/make_calibration.py
"""
import json
import os

import numpy as np
import scipy
import scipy.optimize
from scipy.special import logsumexp

HERE = os.path.dirname(os.path.abspath(__file__))


def nll(logits, labels, t):
    z = logits / t
    return float(np.mean(logsumexp(z, axis=1) - z[np.arange(len(labels)), labels]))


def case(name, rng, rows, classes, scale, signal):
    labels = rng.integers(0, classes, size=rows)
    logits = rng.normal(0.0, 1.0, size=(rows, classes))
    logits[np.arange(rows), labels] += signal
    logits *= scale
    res = scipy.optimize.minimize_scalar(lambda s: nll(logits, labels, np.exp(s)), method="bounded",
                                         bounds=(np.log(0.05), np.log(20.0)), options={"xatol": 1e-12})
    t = float(np.exp(res.x))
    return {"name": name, "logits": [[float(v) for v in row] for row in logits],
            "labels": [int(v) for v in labels], "t": t, "nll": nll(logits, labels, t)}


def main():
    rng = np.random.default_rng(20261205)
    cases = [case("over-confident, 3 classes", rng, 200, 3, 4.0, 1.0),
             case("under-confident, 2 classes", rng, 150, 2, 0.3, 1.5),
             case("strong signal, 5 classes", rng, 300, 5, 1.0, 2.0)]
    out = {"generator": "make_calibration.py", "scipy": scipy.__version__, "numpy": np.__version__,
           "temperature": cases}
    with open(os.path.join(HERE, "calibration.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
