#!/usr/bin/env python3
"""Quick check of keyword models without adaptation: false-reject rate at <= 0.5 false
alarms/hour on the held-out synthetic users (bench_kws.py's stream and clips), per user,
and the events on the real recording multiple_keywords.wav. For comparing recipe runs;
bench_kws.py is the full benchmark.

    python3 benchmarks/kws/eval_base.py MODEL.onnx [MODEL.onnx ...] [--data DIR]
"""
import argparse
import os

import bench_kws as bench
import numpy as np

import echoic
from echoic.kws.model import KwsNet


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="+")
    ap.add_argument("--data", default=os.path.expanduser("~/.cache/echoic/kws-data"))
    ap.add_argument("--noise-minutes", type=float, default=10.0)
    a = ap.parse_args()
    stream, _ = bench.negative_stream(a.data, a.noise_minutes)
    hours = len(stream) / bench.SR / 3600
    thresholds = np.round(np.concatenate([np.arange(0.30, 0.90, 0.02), np.arange(0.90, 0.999, 0.005)]), 4)
    real = os.path.join(bench.SHARED, "eval", "keywords", "multiple_keywords.wav")
    print(f"negative stream {hours:.2f} h")
    for m in a.models:
        keywords = KwsNet.from_onnx(m).keywords
        clips, labels, _, users = bench.user_splits(a.data, keywords, 5)
        sc, tm = bench.score_trace(m, stream)
        pos = {v: bench.clip_max_scores(m, [clips[i] for i in t], [labels[i] for i in t], keywords)
               for v, (_, t, _) in users.items()}
        (thr, fa, frr), curve = bench.frr_at_fa(sc, tm, hours, np.concatenate(list(pos.values())), thresholds)
        at_half = next(c for c in curve if abs(c[0] - 0.5) < 1e-6)
        per_user = {v: round(float(np.mean(~((p[:, 0] >= thr) & (p[:, 0] >= p[:, 1])))), 3) for v, p in pos.items()}
        events = [e.keyword for e in echoic.spot(real, model=m)]
        print(f"{m}\n  threshold {thr:.2f}: FA/h {fa:.2f}, FRR {frr:.3f}; at 0.50: FA/h {at_half[1]:.1f}, "
              f"FRR {at_half[2]:.3f}\n  per user: {per_user}\n  multiple_keywords.wav: {events}", flush=True)


if __name__ == "__main__":
    main()
