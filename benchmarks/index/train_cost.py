#!/usr/bin/env python3
"""Codebook training time of a 256-d pq32 index, with and without OPQ, single thread.

Not a test: what the first speaker enrollment costs on the device. Gaussian vectors
(training time does not depend on their distribution); median of 3 runs.

    python benchmarks/index/train_cost.py
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> int:
    import echoic
    tmp = Path(tempfile.mkdtemp(prefix="echoic_train_cost_"))
    print("| training vectors | pq32 train s | opq32 train s |\n| ---: | ---: | ---: |")
    for n in (300, 1000, 4000):
        x = np.random.default_rng(0).standard_normal((n, 256)).astype(np.float32)
        cells = []
        for opq in (False, True):
            times = []
            for r in range(3):
                with echoic.EmbeddingIndex.create(tmp / f"{n}-{opq}-{r}.idx", 256, encoding="pq", m=32,
                                                  opq=opq) as ix:
                    t = time.perf_counter()
                    ix.train(x)
                    times.append(time.perf_counter() - t)
            cells.append(f"{statistics.median(times):.2f}")
        print(f"| {n} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
