"""Reads `go tool pprof -traces` on stdin and prints the share of the CPU
profile spent in cachefence's own code.

Each sample is charged to the innermost frame that belongs to cachefence
("ours") or to Caddy and net/http ("theirs"); frames of the runtime and of
libraries in between (zap, prometheus, textproto) are charged to their
caller. So a write of the response that passes through the fence's writer
is theirs, as it is in the plain proxy, and an allocation in the classifier
is ours. GC work belongs to nobody and stays in the total.
"""
import collections
import re
import sys

OURS = re.compile(r"github\.com/cachefence/cachefence/")
THEIRS = re.compile(r"github\.com/caddyserver/|^net/|^crypto/")
SAMPLE = re.compile(r"\s+([0-9.]+)(s|ms|us)\s+(\S.*)")
UNIT_MS = {"s": 1000.0, "ms": 1.0, "us": 0.001}


def samples(lines):
    """Yields (milliseconds, frames from leaf to root) per trace."""
    value, stack = 0.0, []
    for line in lines:
        if line.startswith("-----"):
            if stack:
                yield value, stack
            stack = []
            continue
        m = SAMPLE.match(line)
        if m:
            value = float(m.group(1)) * UNIT_MS[m.group(2)]
            stack = [m.group(3)]
        elif stack and line.strip():
            stack.append(line.strip())
    if stack:
        yield value, stack


def main():
    total, own, by_func = 0.0, 0.0, collections.Counter()
    for value, stack in samples(sys.stdin):
        total += value
        for frame in stack:
            frame = frame.replace(" (inline)", "")
            if OURS.search(frame):
                own += value
                by_func[OURS.sub("", frame)] += value
                break
            if THEIRS.search(frame):
                break
    if total == 0:
        sys.exit("own_time: the profile has no samples")
    print(f"  cachefence's own code: {own:.0f} ms of {total:.0f} ms of proxy CPU ({100 * own / total:.2f}%)")
    for func, value in by_func.most_common(6):
        print(f"    {value:6.0f} ms  {func}")


if __name__ == "__main__":
    main()
