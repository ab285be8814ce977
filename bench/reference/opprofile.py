#!/usr/bin/python3
"""Sums two Chrome traces of one training step (bench_trainstep --profile and
bench/reference/trainstep.py --profile, both LibTorch's legacy profiler) op by op: self time per
op name (an op's time less the ops it called), tunebench beside PyTorch, largest difference first.
Prints a Markdown table, then (with --flops, the step's model FLOPs, and --peak, the GEMM peak in
GFLOP/s) how much of tunebench's op time the matrix products take and the rate they run at: the
ceiling on MFU if every other op took no time.
  bench/reference/opprofile.py ours.json theirs.json [--top 12] [--flops F --peak P]
"""
import collections
import json
import sys


def self_times(path):
    with open(path) as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    by_thread = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            by_thread[e.get("tid")].append((float(e["ts"]), float(e["dur"]), e["name"]))
    totals, counts = collections.Counter(), collections.Counter()
    for spans in by_thread.values():
        spans.sort(key=lambda s: (s[0], -s[1]))
        stack = []  # [end, name, child time]
        def close(until):
            while stack and stack[-1][0] <= until:
                end, name, child, dur = stack.pop()
                totals[name] += dur - child
                if stack:
                    stack[-1][2] += dur
        for ts, dur, name in spans:
            close(ts)
            counts[name] += 1
            stack.append([ts + dur, name, 0.0, dur])
        close(float("inf"))
    return totals, counts


# tunebench::matmul_bf16: the bf16 products of its bf16 linear maps, which it runs through oneDNN itself
# (core/runtime/dnnlmatmul.cpp).
GEMMS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::_mkldnn_matmul", "aten::mkldnn_matmul",
         "tunebench::matmul_bf16")


def option(args, name, default, kind):
    if name not in args:
        return default
    i = args.index(name)
    value = kind(args[i + 1])
    del args[i:i + 2]
    return value


def main():
    args = sys.argv[1:]
    top = option(args, "--top", 14, int)
    flops = option(args, "--flops", 0.0, float)
    peak = option(args, "--peak", 0.0, float)
    ours, ours_n = self_times(args[0])
    theirs, theirs_n = self_times(args[1])
    names = set(ours) | set(theirs)
    rows = sorted(names, key=lambda n: -abs(ours[n] - theirs[n]))[:top]
    print("| op (self time) | tunebench ms (calls) | PyTorch ms (calls) | difference ms |")
    print("|---|---|---|---|")
    for n in rows:
        print(f"| `{n}` | {ours[n] / 1000:.1f} ({ours_n[n]}) | {theirs[n] / 1000:.1f} ({theirs_n[n]}) | "
              f"{(ours[n] - theirs[n]) / 1000:+.1f} |")
    print(f"| all ops | {sum(ours.values()) / 1000:.1f} | {sum(theirs.values()) / 1000:.1f} | "
          f"{(sum(ours.values()) - sum(theirs.values())) / 1000:+.1f} |")
    if flops and peak:
        gemm = sum(ours[n] for n in GEMMS) / 1e6
        total = sum(ours.values()) / 1e6
        rate = flops / gemm / 1e9
        print()
        print(f"Matrix products (mm, addmm, bmm) take {1000 * gemm:.0f} ms of tunebench's {1000 * total:.0f} ms of op "
              f"time ({100 * gemm / total:.0f}%) and run at {rate:,.0f} GFLOP/s at this model's shapes: "
              f"{100 * rate / peak:.0f}% of the measured {peak:,.0f} GFLOP/s peak, the most this step's MFU could "
              f"reach if every other op took no time.")


if __name__ == "__main__":
    main()
