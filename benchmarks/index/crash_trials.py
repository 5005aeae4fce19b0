"""SIGKILL trials for the index's write-ahead log: a writer adds (and now and then saves)
while a reader opens read-only snapshots beside it; the writer is killed at a random
moment, the index reopened, and every add the writer had acknowledged must be there.

    python3 benchmarks/index/crash_trials.py --trials 300 --out benchmarks/index/CRASH.md

Counts: acknowledged adds lost (must be 0), reader opens and their failures (must be 0),
and the open issues seen on reopen (torn log tails are expected: a kill mid-append).
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path

import numpy as np

from echoic import EmbeddingIndex

WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from echoic import EmbeddingIndex
    ix = EmbeddingIndex.open(sys.argv[1])
    rng = np.random.default_rng(int(sys.argv[2]))
    n = 0
    while True:
        batch = int(rng.integers(1, 5))
        ids = ix.add(rng.standard_normal((batch, 32)).astype(np.float32), labels=["x"] * batch)
        for i in ids:
            print(int(i), flush=True)
        n += batch
        if n % 50 < batch:
            ix.save()  # kills also land inside and around compaction
    """
)

READER = textwrap.dedent(
    """
    import sys, time
    from echoic import EmbeddingIndex
    opens = fails = 0
    end = time.time() + float(sys.argv[2])
    while time.time() < end:
        try:
            with EmbeddingIndex.open(sys.argv[1], read_only=True) as ix:
                len(ix); ix.entries()
            opens += 1
        except Exception as e:
            fails += 1
            print("reader:", type(e).__name__, e, file=sys.stderr, flush=True)
    print(opens, fails, flush=True)
    """
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default=None, help="write a Markdown summary here")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "crash.idx"
        x = np.random.default_rng(1).standard_normal((300, 32)).astype(np.float32)
        with EmbeddingIndex.create(path, 32, encoding="pq", m=8, train_iterations=3) as ix:
            ix.train(x)
        acknowledged: set = set()
        lost_total = opens = reader_fails = 0
        issues: Counter = Counter()
        t0 = time.time()
        for trial in range(args.trials):
            w = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(trial)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=env)
            first = w.stdout.readline()
            if not first.strip():
                print(f"trial {trial}: writer failed: {w.stderr.read()}", file=sys.stderr)
                return 1
            acknowledged.add(int(first))
            delay = rng.uniform(0.02, 0.5)
            r = subprocess.Popen([sys.executable, "-c", READER, str(path), str(delay + 0.2)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=env)
            time.sleep(delay)
            os.kill(w.pid, signal.SIGKILL)
            out, _ = w.communicate()
            acknowledged.update(int(line) for line in out.split())
            rout, rerr = r.communicate()
            o, f = (int(v) for v in rout.split()) if rout.strip() else (0, 1)
            opens, reader_fails = opens + o, reader_fails + f
            if rerr.strip():
                print(rerr.strip(), file=sys.stderr)
            with EmbeddingIndex.open(path) as ix:
                lost = [i for i in acknowledged if i not in ix]
                for s in ix.open_issues:
                    issues["torn log tail dropped" if "dropped" in s or "torn" in s else s[:60]] += 1
            lost_total += len(lost)
            if lost:
                print(f"trial {trial}: {len(lost)} acknowledged ids lost", file=sys.stderr)
            if (trial + 1) % 50 == 0:
                print(f"{trial + 1} trials, {len(acknowledged)} acknowledged, {lost_total} lost, "
                      f"{opens} reader opens ({reader_fails} failed)", flush=True)
        elapsed = time.time() - t0
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    summary = (
        f"| trials | acknowledged adds | lost | read-only opens beside the writer | failed opens | wall time |\n"
        f"|---:|---:|---:|---:|---:|---:|\n"
        f"| {args.trials} | {len(acknowledged)} | {lost_total} | {opens} | {reader_fails} | {elapsed:.0f} s |\n\n"
        f"Open issues seen on reopen: {dict(issues) or 'none'}.\n\n"
        f"Machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}.\n"
    )
    print(summary)
    if args.out:
        Path(args.out).write_text(
            "# Index crash trials (SIGKILL)\n\n"
            "`python3 benchmarks/index/crash_trials.py --trials "
            f"{args.trials} --out {args.out}`: a writer adds 1-4 vectors per call (fsync'd log), "
            "saving every ~50; a second process opens read-only snapshots in a loop; the writer is "
            "SIGKILLed at a random moment (20-500 ms), then the index is reopened for writing and every "
            "acknowledged id checked.\n\n" + summary)
    return 0 if lost_total == 0 and reader_fails == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
