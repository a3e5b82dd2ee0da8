#!/usr/bin/env python3
"""The server's own figures for one question, from the /metrics snapshots bench.sh saves.

    loadgen/metrics-diff.py reports/RUN

bench.sh scrapes every node's /metrics when the first question goes live
(metrics/live-PORT.prom) and once it has closed (metrics/closed-PORT.prom). This prints, per
node and for all nodes, the difference: how many observations each latency histogram got during
the question, their mean, and the bucket bounds that hold its p50, p90 and p99; then the
counters that moved (votes by outcome, errors, closes).
"""
import glob
import os
import re
import sys

# (histogram, label that picks one of its series, or None)
HISTOGRAMS = [
    ("lcr_event_queue_seconds", None),
    ("lcr_store_call_seconds", None),
    ("lcr_broadcast_seconds", None),
    ("lcr_timer_lag_seconds", 'thread="clock"'),
    ("lcr_timer_lag_seconds", 'thread="sockets"'),
]


def parse(path):
    """Sample lines of a Prometheus text file, without the node label: {series: value}."""
    samples = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            series, value = line.rsplit(" ", 1)
            series = re.sub(r'node="[^"]*",?', "", series).replace("{}", "")
            samples[series] = float(value)
    return samples


def diff(before, after):
    return {k: v - before.get(k, 0.0) for k, v in after.items()}


def histogram_line(name, d, label=None):
    series = f"{{{label}}}" if label else ""
    title = f"{name}{series}"
    n = d.get(name + "_count" + series, 0.0)
    if n <= 0:
        return f"  {title}: no observations"
    buckets = sorted(
        (float(m.group(1).replace("+Inf", "inf")), v)
        for k, v in d.items()
        if k.startswith(name + "_bucket")
        and (label is None or label in k)
        and (m := re.search(r'le="([^"]+)"', k))
    )

    def bound(q):
        return next((le for le, c in buckets if c >= q * n), float("inf"))

    mean_ms = d.get(name + "_sum" + series, 0.0) / n * 1000
    return (
        f"  {title}: n={n:.0f} mean={mean_ms:.1f} ms "
        f"p50<={bound(0.5)} s p90<={bound(0.9)} s p99<={bound(0.99)} s"
    )


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    run = sys.argv[1]
    total = {}
    pairs = 0
    for live in sorted(glob.glob(os.path.join(run, "metrics", "live-*.prom"))):
        port = live.rsplit("-", 1)[1][: -len(".prom")]
        closed = os.path.join(run, "metrics", f"closed-{port}.prom")
        if not os.path.exists(closed):
            print(f"node :{port}: no snapshot after the close")
            continue
        d = diff(parse(live), parse(closed))
        pairs += 1
        print(f"node :{port}")
        for name, label in HISTOGRAMS:
            print(histogram_line(name, d, label))
        for k, v in d.items():
            total[k] = total.get(k, 0.0) + v
    if pairs == 0:
        sys.exit(f"no live/closed snapshot pairs under {run}/metrics")
    print(f"all {pairs} nodes")
    for name, label in HISTOGRAMS:
        print(histogram_line(name, total, label))
    for k, v in sorted(total.items()):
        if k.endswith("_total") or "_total{" in k:
            if v:
                print(f"  {k} {v:.0f}")


if __name__ == "__main__":
    main()
