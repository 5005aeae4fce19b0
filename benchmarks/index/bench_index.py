#!/usr/bin/env python3
"""Embedding index benchmark: echoic vs FAISS vs hnswlib, single-threaded.

Not a test. Measures recall@1, recall@10 (overlap with the exact top-10), queries/s
(one thread), bytes per vector and build time, medians over repeats, on synthetic
clustered 256-d vectors or on real speaker embeddings, and writes a report beside this
file.

    pip install .[bench]            # faiss-cpu, hnswlib
    python benchmarks/index/bench_index.py            # 100k vectors -> RESULTS.md
    python benchmarks/index/bench_index.py --large    # 1M vectors (slow) -> RESULTS-1M.md
    python benchmarks/index/bench_index.py --data real  # d-vectors of ../shared/eval -> RESULTS-real.md

``--data real`` embeds every clip under ../shared/eval (speech-dev, speaker, keywords)
with ../shared/models/speaker-dvector in sliding windows (the model's 80-frame window,
a stride of 4 frames = 40 ms) and holds out a random tenth of those windows (at most
``--nq``) as queries.
Neighbouring windows of one clip overlap, so a query's true neighbours are mostly
windows of its own clip and speaker: what a speaker or keyword index searches in use.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SHARED = Path(os.environ.get("ECHOIC_SHARED_DIR", REPO.parent / "shared")).resolve()


def make_data(n, nq, d, seed=0):
    """Speaker-like embeddings: cluster centres plus anisotropic noise whose spectrum
    decays (most variance in few directions) and is not axis-aligned."""
    rng = np.random.default_rng(seed)
    clusters = max(10, n // 100)
    centres = rng.standard_normal((clusters, d)).astype(np.float32)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    scales = (0.9 / np.sqrt(np.arange(1, d + 1))).astype(np.float32)

    def draw(count):
        which = rng.integers(0, clusters, count)
        noise = (rng.standard_normal((count, d)).astype(np.float32) * scales) @ q.astype(np.float32)
        x = centres[which] + noise
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

    return draw(n), draw(nq)


def real_data(nq, seed=0):
    """Window d-vectors of every clip under ../shared/eval, unit-normalised."""
    from echoic.speaker import SpeakerModel
    model = SpeakerModel(SHARED / "models" / "speaker-dvector" / "embedder.int8.onnx")
    files = sorted((SHARED / "eval").glob("*/*.wav"))
    x = np.concatenate([model.embed_windows(f, stride=4)[0] for f in files]).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    perm = np.random.default_rng(seed).permutation(len(x))
    nq = min(nq, len(x) // 10)
    desc = (f"{len(x) - nq} x {x.shape[1]} real speaker embeddings (d-vector windows, stride 40 ms, of the"
            f" {len(files)} clips under ../shared/eval; model speaker-dvector embedder.int8.onnx), {nq} held-out"
            " windows as queries")
    return x[perm[nq:]], x[perm[:nq]], desc


def ground_truth(base, queries, k=10):
    out = np.empty((len(queries), k), np.int64)
    for s in range(0, len(queries), 256):
        sims = queries[s:s + 256] @ base.T
        part = np.argpartition(-sims, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, 1), axis=1)
        out[s:s + 256] = np.take_along_axis(part, order, 1)
    return out


def recalls(ids, truth):
    r1 = float(np.mean(ids[:, 0] == truth[:, 0]))
    r10 = float(np.mean([len(set(a[:10]) & set(b[:10])) / 10 for a, b in zip(ids, truth)]))
    return r1, r10


def timed_queries(search, queries, repeats):
    times, ids = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        ids = search(queries)
        times.append(time.perf_counter() - t)
    return len(queries) / statistics.median(times), ids


def lscpu():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        info = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
        return info.get("Model name", "?").strip(), info.get("CPU(s)", "?").strip(), info.get("Flags", "")
    except OSError:
        return platform.processor() or "?", str(os.cpu_count()), ""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--large", action="store_true", help="1M vectors")
    ap.add_argument("--nq", type=int, default=1000)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated substrings of method names to run")
    ap.add_argument("--data", choices=["synthetic", "real"], default="synthetic")
    ap.add_argument("--out", default="", help="report path (default: RESULTS.md, RESULTS-1M.md or RESULTS-real.md)")
    args = ap.parse_args()
    n = 1_000_000 if args.large else args.n
    k = 10
    if not args.out:
        args.out = str(HERE / ("RESULTS-real.md" if args.data == "real" else
                               "RESULTS-1M.md" if args.large else "RESULTS.md"))
    import echoic
    try:
        import faiss
        faiss.omp_set_num_threads(1)
    except ImportError:
        faiss = None
        print("faiss-cpu not installed: skipping FAISS (pip install .[bench])")
    try:
        import hnswlib
    except ImportError:
        hnswlib = None
        print("hnswlib not installed: skipping hnswlib (pip install .[bench])")

    if args.data == "real":
        base, queries, data_desc = real_data(args.nq)
        n, d = base.shape
    else:
        d = args.dim
        base, queries = make_data(n, args.nq, d)
        data_desc = (f"{n} x {d} synthetic clustered vectors ({max(10, n // 100)} centres, anisotropic noise with"
                     f" a decaying spectrum, unit-normalised), {args.nq} queries from the same distribution")
    m = d // 8  # 32 bytes per 256-d vector for the compressed methods
    print(f"data: {data_desc}")
    t = time.perf_counter()
    truth = ground_truth(base, queries, k)
    print(f"ground truth in {time.perf_counter() - t:.1f}s")
    nlist = int(4 * np.sqrt(n)) // 64 * 64 or 64
    ntrain = min(n, 50_000)
    train = base[:ntrain]
    tmp = Path(tempfile.mkdtemp(prefix="echoic_bench_"))
    rows = []

    def run(name, build, search, bytes_per_vector, note=""):
        if args.only and not any(s in name for s in args.only.split(",")):
            return
        t = time.perf_counter()
        obj = build()
        build_s = time.perf_counter() - t
        qps, ids = timed_queries(lambda q, o=obj: search(o, q), queries, args.repeats)
        r1, r10 = recalls(ids, truth)
        rows.append((name, r1, r10, qps, bytes_per_vector, build_s, note))
        print(f"{name:36s} R@1 {r1:.3f}  R@10 {r10:.3f}  {qps:9.0f} q/s  {bytes_per_vector:6.1f} B/vec  "
              f"build {build_s:6.1f}s  {note}")
        del obj

    # ---- echoic ----------------------------------------------------------
    def echoic_build(tag, **kw):
        def build():
            p = tmp / f"{tag}.idx"
            ix = echoic.EmbeddingIndex.create(p, d, metric="cosine", train_iterations=10, **kw)
            if ix.encoding != "flat" or kw.get("ivf_lists"):
                ix.train(train)
            for s in range(0, n, 50_000):
                ix.add(base[s:s + 50_000])
            return ix
        return build

    # IVF residual pq (L2/cosine) keeps one float per row in RAM (2 c.r + |r|^2, rebuilt
    # from the codes on open) so that one query-wide table serves every probed list.
    IVF_NOTE = "+4 B list id, +4 B row term (RAM only)"

    def echoic_search(**kw):
        return lambda ix, q: ix.search(q, k=k, **kw)[1]

    run("echoic flat (float32)", echoic_build("flat", encoding="flat", keep_fp16=False), echoic_search(), 4 * d)
    run("echoic sq8", echoic_build("sq8", encoding="sq8", keep_fp16=False), echoic_search(), d)
    run(f"echoic pq{m}", echoic_build("pq", encoding="pq", m=m, keep_fp16=False), echoic_search(), m)
    run(f"echoic opq{m}", echoic_build("opq", encoding="pq", m=m, opq=True, keep_fp16=False), echoic_search(), m)
    run(f"echoic pq{m // 2}+refine{m // 2}", echoic_build("rf", encoding="pq", m=m // 2, refine_m=m // 2,
                                                        keep_fp16=False), echoic_search(refine_factor=8), m)
    run(f"echoic opq{m // 2}+refine{m // 2}", echoic_build("orf", encoding="pq", m=m // 2, refine_m=m // 2,
                                                         opq=True, keep_fp16=False), echoic_search(refine_factor=8), m)
    run(f"echoic ivf{nlist} opq{m // 2}+refine{m // 2} nprobe16",
        echoic_build("ivforf", encoding="pq", m=m // 2, refine_m=m // 2, opq=True, ivf_lists=nlist,
                     keep_fp16=False),
        echoic_search(nprobe=16, refine_factor=8, exhaustive_below=0), m + 8, IVF_NOTE)
    run(f"echoic ivf{nlist} pq{m // 2}+refine{m // 2} nprobe16",
        echoic_build("ivfrf", encoding="pq", m=m // 2, refine_m=m // 2, ivf_lists=nlist, keep_fp16=False),
        echoic_search(nprobe=16, refine_factor=8, exhaustive_below=0), m + 8, IVF_NOTE)
    run(f"echoic pq{m} + fp16 rerank100", echoic_build("pqr", encoding="pq", m=m, keep_fp16=True),
        echoic_search(rerank=100), m, f"+{2 * d} B fp16 on disk, read for 100 candidates")
    run(f"echoic ivf{nlist} pq{m} nprobe16", echoic_build("ivf", encoding="pq", m=m, ivf_lists=nlist,
                                                          keep_fp16=False),
        echoic_search(nprobe=16, exhaustive_below=0), m + 8, IVF_NOTE)
    run(f"echoic ivf{nlist} opq{m} nprobe16", echoic_build("ivfo", encoding="pq", m=m, opq=True, ivf_lists=nlist,
                                                           keep_fp16=False),
        echoic_search(nprobe=16, exhaustive_below=0), m + 8, IVF_NOTE)
    run(f"echoic ivf{nlist} pq{m} nprobe16 rerank100",
        echoic_build("ivfr", encoding="pq", m=m, ivf_lists=nlist, keep_fp16=True),
        echoic_search(nprobe=16, rerank=100, exhaustive_below=0), m + 8,
        f"{IVF_NOTE}; +{2 * d} B fp16 on disk")

    # ---- FAISS -----------------------------------------------------------
    if faiss is not None:
        def fbuild(factory):
            def build():
                ix = factory()
                if not ix.is_trained:
                    ix.train(train)
                ix.add(base)
                return ix
            return build

        def fsearch(**params):
            def search(ix, q):
                for key, val in params.items():
                    faiss.ParameterSpace().set_index_parameter(ix, key, val)
                return ix.search(q, k)[1]
            return search

        run("faiss IndexFlatIP", fbuild(lambda: faiss.IndexFlatIP(d)), fsearch(), 4 * d)
        # Unit vectors: L2 order is cosine order, and PQ is more accurate under L2, so
        # the compressed FAISS indexes run with L2 (as echoic's cosine does internally).
        run(f"faiss IndexPQ{m}", fbuild(lambda: faiss.IndexPQ(d, m, 8)), fsearch(), m, "L2")
        run(f"faiss IndexPQ{m} (inner product)", fbuild(lambda: faiss.IndexPQ(d, m, 8, faiss.METRIC_INNER_PRODUCT)),
            fsearch(), m)
        run(f"faiss OPQ{m},PQ{m}", fbuild(lambda: faiss.index_factory(d, f"OPQ{m},PQ{m}")), fsearch(), m, "L2")
        run(f"faiss OPQ{m},IVF{nlist},PQ{m} nprobe16",
            fbuild(lambda: faiss.index_factory(d, f"OPQ{m},IVF{nlist},PQ{m}")), fsearch(nprobe=16), m + 8,
            "L2; +8 B id in list")
        run(f"faiss IndexIVFPQ{nlist},{m} nprobe16",
            fbuild(lambda: faiss.IndexIVFPQ(faiss.IndexFlatL2(d), d, nlist, m, 8)),
            fsearch(nprobe=16), m + 8, "L2; +8 B id in list")
        run(f"faiss IndexIVFPQR{nlist},{m // 2}+{m // 2} nprobe16",
            fbuild(lambda: faiss.IndexIVFPQR(faiss.IndexFlatL2(d), d, nlist, m // 2, 8, m // 2, 8)),
            fsearch(nprobe=16, k_factor=8), m + 8, "L2; +8 B id in list")
        run(f"faiss IndexHNSWPQ{m} M16 ef64", fbuild(lambda: faiss.IndexHNSWPQ(d, m, 16)), fsearch(efSearch=64),
            m + 16 * 2 * 4, "+ graph links (L2)")

    # ---- hnswlib ---------------------------------------------------------
    if hnswlib is not None:
        def hbuild():
            ix = hnswlib.Index(space="ip", dim=d)
            ix.init_index(max_elements=n, ef_construction=100, M=16)
            ix.set_num_threads(1)
            ix.add_items(base, np.arange(n))
            ix.set_ef(64)
            return ix

        run("hnswlib float32 M16 ef64", hbuild, lambda ix, q: ix.knn_query(q, k=k)[0].astype(np.int64),
            4 * d + 16 * 2 * 4, "float32 only: no compressed mode")

    shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()
    model, cpus, flags = lscpu()
    simd = "avx2" if " avx2" in flags else "no avx2"
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Embedding index benchmark",
        "",
        f"- date: {date}",
        f"- machine: {model}, {cpus} CPUs; CPU features: {'/'.join(echoic._native.cpu_features())}; echoic"
        f" kernels used: {'avx2' if simd == 'avx2' and not os.environ.get('ECHOIC_DISABLE_SIMD') else 'scalar'}",
        f"- data: {data_desc}",
        f"- single thread for every library; queries/s is the median of {args.repeats} batch runs of all queries",
        f"- load average at the end of the run: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min): on a"
        " shared machine absolute queries/s are noisy; compare rows of the same run",
        "- recall@1: the true nearest neighbour ranked first; recall@10: overlap of the returned top-10 with the"
        " exact top-10",
        "- echoic runs with metric cosine (scored internally as L2 between unit vectors); FAISS compressed"
        " indexes with L2 (same order on unit vectors), FAISS flat and hnswlib with inner product",
        "- bytes/vector: bytes scanned per vector at search time (codes; plus ids/links where the structure needs"
        " them); build = train + add",
        f"- command: `python benchmarks/index/bench_index.py{' --large' if args.large else ''}"
        f"{' --data real' if args.data == 'real' else ''}`",
        "",
        "| method | recall@1 | recall@10 | queries/s | bytes/vector | build s | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, r1, r10, qps, bpv, build_s, note in rows:
        lines.append(f"| {name} | {r1:.3f} | {r10:.3f} | {qps:.0f} | {bpv:g} | {build_s:.1f} | {note} |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
