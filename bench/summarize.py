"""Summarises bench/run's results: one line per run, "setup workload round
requests/s p50_us p99_us cpu_ns_per_request". Prints medians per set-up and
the ratios of the runs next to each other in each round, as median and
range, so that the A/A control (plain_again/plain) shows the noise.
"""
import collections
import statistics
import sys

rows = [line.split() for line in open(sys.argv[1])]
runs = collections.defaultdict(dict)  # (workload, round) -> setup -> values
for setup, workload, rnd, *values in rows:
    runs[workload, rnd][setup] = [float(v) for v in values]
workloads = ["anonymous", "session"]
setups = ["plain", "fenced", "handwritten", "plain_again"]

print(f"\n{'setup':<12} {'workload':<10} {'requests/s':>11} {'p50 (us)':>9} {'p99 (us)':>9} {'proxy CPU/req (us)':>19}")
for w in workloads:
    for s in setups:
        cols = list(zip(*[r[s] for (wl, _), r in runs.items() if wl == w]))
        rps, p50, p99, cpu = (statistics.median(c) for c in cols)
        print(f"{s:<12} {w:<10} {rps:>11.0f} {p50:>9.0f} {p99:>9.0f} {cpu / 1000:>19.1f}")

print("\nratios of the runs next to each other in a round: median [min..max] over rounds")
pairs = [("fenced", "plain"), ("fenced", "handwritten"), ("plain_again", "plain")]
print(f"{'workload':<10} {'ratio':<24} {'requests/s':<22} {'p50':<22} {'proxy CPU/req':<22}")
for w in workloads:
    for a, b in pairs:
        cells = []
        for col in (0, 1, 3):
            rs = sorted(r[a][col] / r[b][col] for (wl, _), r in runs.items() if wl == w)
            cells.append(f"{statistics.median(rs):.3f} [{rs[0]:.3f}..{rs[-1]:.3f}]")
        print(f"{w:<10} {a + '/' + b:<24} " + " ".join(f"{c:<22}" for c in cells))
