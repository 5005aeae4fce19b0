"""What a Ray actor call costs on this machine whatever it does: the floor under every sharded
single query (figures quoted in echoic.distributed.index and benchmarks/distributed/RESULTS.md).

    python3 benchmarks/distributed/ray_call_floor.py      # local Ray, 2 CPUs, ~1 min

Prints the median ms per round trip (5 runs of 100) for: one actor doing nothing; four actors
doing nothing; four actors taking a (1, 256) float32 query and returning a tuple of arrays
(Ray's numpy path both ways); four actors taking bytes and returning a pickle (what
ShardGroup.search does)."""
from __future__ import annotations

import pickle
import statistics
import time

import numpy as np


def main() -> None:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")

    @ray.remote(num_cpus=0)
    class Probe:
        def nothing(self, x):
            return x

        def arrays(self, q):
            return np.zeros((1, 10), np.float32), np.zeros((1, 10), np.int64), [["a"] * 10]

        def packed(self, q):
            np.frombuffer(q, np.float32)
            return pickle.dumps((np.zeros((1, 10), np.float32), np.zeros((1, 10), np.int64), [["a"] * 10]))

    actors = [Probe.remote() for _ in range(4)]
    ray.get([a.nothing.remote(1) for a in actors])
    q = np.zeros((1, 256), np.float32)
    cases = [("1 actor, nothing", lambda: ray.get(actors[0].nothing.remote(1))),
             ("4 actors, nothing", lambda: ray.get([a.nothing.remote(1) for a in actors])),
             ("4 actors, numpy in, arrays out", lambda: ray.get([a.arrays.remote(q) for a in actors])),
             ("4 actors, bytes in, pickle out",
              lambda: [pickle.loads(r) for r in ray.get([a.packed.remote(q.tobytes()) for a in actors])])]
    for name, call in cases:
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(100):
                call()
            runs.append((time.perf_counter() - t0) * 10)  # ms per call: seconds / 100 * 1000
        print(f"{name}: {statistics.median(runs):.2f} ms")
    ray.shutdown()


if __name__ == "__main__":
    main()
