#!/usr/bin/env python3
"""IVF list balance on the 1M synthetic set: plain vs spherical k-means.

Not a test. Trains the coarse quantizer the way bench_index.py --large does (3,968
lists, 10 iterations, the first 50,000 vectors), assigns all 1M vectors, and reports
list sizes and how many codes an nprobe-16 query scans. It uses FAISS's k-means so
that both variants come from one independent implementation; echoic's cosine indexes
train the spherical variant (csrc/echoic/index/codec.cc).

    python benchmarks/index/list_balance.py
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_index import make_data  # noqa: E402


def main() -> int:
    import faiss
    faiss.omp_set_num_threads(1)
    n, d, nlist, nprobe = 1_000_000, 256, 3968, 16
    base, queries = make_data(n, 1000, d)
    for spherical in (False, True):
        quant = faiss.IndexFlatIP(d) if spherical else faiss.IndexFlatL2(d)
        km = faiss.Clustering(d, nlist)
        km.niter, km.seed, km.spherical = 10, 1, spherical
        km.train(base[:50_000], quant)
        sizes = np.bincount(quant.search(base, 1)[1][:, 0], minlength=nlist)
        scanned = sizes[quant.search(queries, nprobe)[1]].sum(1)
        print(f"{'spherical' if spherical else 'plain':9s} k-means: list size mean {sizes.mean():.0f} median "
              f"{np.median(sizes):.0f} p99 {np.percentile(sizes, 99):.0f} max {sizes.max()}; codes scanned per "
              f"nprobe-{nprobe} query: mean {scanned.mean():.0f} (balanced: {nprobe * n // nlist})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
