"""Summarises bench/run's concurrent A/B results: one line per pair of runs
loaded at the same moment, "a b workload page round ratio", where ratio is
a's CPU time per request over b's. Prints, per workload and page, the
median and range over rounds of fenced/plain and of the A/A control
plain_again/plain, which measured in the same rounds is the noise.
"""
import collections
import statistics
import sys

ratios = collections.defaultdict(list)  # (a, b, workload, page) -> ratios
for a, b, workload, page, _, ratio in (line.split() for line in open(sys.argv[1])):
    ratios[a, b, workload, page].append(float(ratio))

print(f"\n{'workload':<8} {'page':<6} {'fenced/plain':<26} {'plain_again/plain (A/A)':<26}")
for workload in ("shared", "fenced"):
    for page in ("small", "2kb"):
        cells = []
        for a in ("fenced", "plain_again"):
            rs = sorted(ratios[a, "plain", workload, page])
            cells.append(f"{statistics.median(rs):.3f} [{rs[0]:.3f}..{rs[-1]:.3f}]")
        print(f"{workload:<8} {page:<6} {cells[0]:<26} {cells[1]:<26}")
