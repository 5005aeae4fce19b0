"""echoic.distributed on a real two-node Ray cluster on this machine (issue #18).

The fixture (ray_cluster.LocalCluster) starts a head node and a worker node as separate
`ray start --block` processes (one CPU each, their own temp dir and port), each in a session of
its own; teardown kills exactly those sessions' processes, by pid, also when a test failed, and
checks that none is left. (`ray stop --force` is not used: it would end every Ray process on
the machine, including a cluster that is none of this test's business.)

Tests: the batch pipeline against `echoic transcribe` in one process (same JSON, same WER,
a corrupt file recorded with its error); the worker node's raylet killed mid-job (every file
exactly once in the output); a rerun skips what is written; ShardedIndex against one
in-process EmbeddingIndex, and a killed shard that restarts with every acknowledged entry.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from ray_cluster import LocalCluster, prepare_environment

import echoic
from echoic.distributed import index as sharded
from echoic.distributed import transcribe as dtr

# Ray Data 2.60 warns about its own deprecated DataContext fields when it copies the context.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")

# The same echoic on the Ray workers as in this process (a source tree on PYTHONPATH or installed).
ECHOIC_PARENT = str(Path(echoic.__file__).resolve().parents[1])


def _ray():
    prepare_environment()
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        if os.environ.get("CI") and sys.version_info >= (3, 10):  # Ray 2.60 has no wheels for 3.9
            pytest.fail("ray is not installed (pip install -r tests/requirements.txt)")
        pytest.skip("ray is not installed (pip install 'echoic[ray]')")
    return ray


class Cluster(LocalCluster):
    """Head + one worker node, one CPU each."""

    @property
    def worker(self):
        return self.workers[-1]

    def ensure_worker(self) -> None:
        if not self.live_workers():
            self.add_worker()

    def kill_worker_node(self) -> None:
        self.kill_node(self.worker)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    _ray()
    c = Cluster(tmp_path_factory.mktemp("ray-cluster"), python_path=ECHOIC_PARENT)
    try:  # teardown also when starting failed half-way
        c.start(workers=1)
        yield c
    finally:
        left = c.stop()
        assert not left, f"Ray processes left behind: {left}"


def _read_jsonl(path: Path) -> list:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _cli(*argv, timeout=600) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (ECHOIC_PARENT, os.environ.get("PYTHONPATH", ""))
                                                      if p))
    return subprocess.run([sys.executable, "-m", "echoic", *argv], capture_output=True, text=True, env=env,
                          timeout=timeout)


def _wer(records: dict, refs: dict) -> float:
    from echoic.evaluate import score

    scores = [score(f, refs[f], records[f]["text"], 0.0, 0.0) for f in refs]
    return sum(s.errors for s in scores) / sum(s.ref_words for s in scores)


@pytest.fixture(scope="module")
def dev_files(speech_dev):
    from echoic.evaluate import read_transcripts

    items = read_transcripts(speech_dev)
    return {str(p.resolve()): ref for p, ref in items}


# -- no cluster needed -----------------------------------------------------------------------------
def test_import_echoic_needs_no_ray():
    code = "import sys, echoic, echoic.distributed; assert 'ray' not in sys.modules; print('ok')"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYTHONPATH=ECHOIC_PARENT))
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_shard_routing_is_stable_and_balanced():
    # fixed values: the routing of existing shard files must never change
    assert sharded.shard_of([0, 1, 2, 3, 2**62, 123456789], 4).tolist() == [3, 1, 2, 1, 3, 1]
    counts = np.bincount(sharded.shard_of(np.arange(40_000), 4), minlength=4)
    assert counts.min() > 9_500 and counts.max() < 10_500


def test_merge_breaks_ties_by_id_and_keeps_missing_last():
    a = (np.array([[0.9, 0.5, np.nan]], np.float32), np.array([[7, 3, -1]]), [["a7", "a3", ""]])
    b = (np.array([[0.9, 0.8, 0.5]], np.float32), np.array([[2, 4, 1]]), [["b2", "b4", "b1"]])
    s, i, lab = sharded.merge_topk([a, b], 5, higher_is_better=True)
    assert i.tolist() == [[2, 7, 4, 1, 3]] and lab == [["b2", "a7", "b4", "b1", "a3"]]
    s, i, lab = sharded.merge_topk([a, b], 7, higher_is_better=True)
    assert i[0, 5:].tolist() == [-1, -1] and np.isnan(s[0, 5:]).all() and lab[0][5:] == ["", ""]
    s, i, _ = sharded.merge_topk([a, b], 3, higher_is_better=False)  # l2: lower first
    assert i.tolist() == [[1, 3, 4]]


def test_output_cuts_a_torn_last_line_and_refuses_a_second_writer(tmp_path):
    out = tmp_path / "t.jsonl"
    out.write_text('{"file": "/a.wav", "text": "x"}\n{"file": "/b.wav", "te')
    o = dtr.JsonlOutput(out)
    try:
        assert o.done == {"/a.wav"} and o.repaired
        with pytest.raises(echoic.EchoicIOError, match="another process"):
            dtr.JsonlOutput(out)
        assert o.append("/b.wav", '{"file": "/b.wav"}') and not o.append("/b.wav", '{"file": "/b.wav"}')
    finally:
        o.close()
    assert [r["file"] for r in _read_jsonl(out)] == ["/a.wav", "/b.wav"]


def test_cli_ray_needs_an_output_dir_and_takes_a_file_after_ray(tmp_path):
    r = _cli("transcribe", "--ray", str(tmp_path / "a.wav"))
    assert r.returncode == 2 and "--output-dir" in r.stderr and "Traceback" not in r.stderr
    r = _cli("transcribe", "--ray", "auto", "--srt", "-o", str(tmp_path), str(tmp_path / "a.wav"))
    assert r.returncode == 2 and "--srt" in r.stderr


# -- on the cluster ----------------------------------------------------------------------------------
def test_pipeline_writes_what_echoic_transcribe_writes(cluster, dev_files, whisper_dir, tmp_path):
    files = sorted(dev_files)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 8)

    one = _cli("transcribe", "--json", "--model", str(whisper_dir), *files)
    assert one.returncode == 0, one.stderr[-2000:]
    expected = {r["file"]: r for r in map(json.loads, one.stdout.splitlines())}

    outdir = tmp_path / "out"
    r = _cli("transcribe", "--ray", cluster.address, "--model", str(whisper_dir), "-o", str(outdir), *files,
             str(corrupt))
    assert r.returncode == 1, r.stderr[-3000:]  # 1: a file failed (the corrupt one), like echoic transcribe
    assert "22/22 files (1 failed)" in r.stderr and "files/s" in r.stderr and "audio per wall s" in r.stderr
    lines = _read_jsonl(outdir / "transcripts.jsonl")
    got = {rec["file"]: rec for rec in lines}
    assert len(lines) == len(got) == len(files) + 1
    bad = got.pop(str(corrupt))
    assert bad["error"]["type"] == "CorruptDataError" and bad["text"] == "" and str(corrupt) in bad["error"]["message"]
    for f in files:
        rec = dict(got[f])
        assert rec.pop("error") is None
        assert rec == expected[f], f  # text, words, segments, duration, model: identical
    assert _wer(got, dev_files) == _wer(expected, dev_files) < 0.1

    # a rerun skips every file already written and leaves the output as it was
    before = (outdir / "transcripts.jsonl").read_bytes()
    r = _cli("transcribe", "--ray", cluster.address, "--model", str(whisper_dir), "-o", str(outdir), *files,
             str(corrupt))
    assert r.returncode == 0 and "22 already in" in r.stderr, r.stderr[-2000:]
    assert (outdir / "transcripts.jsonl").read_bytes() == before


def test_a_model_that_does_not_load_fails_the_job_once_with_its_error(cluster, dev_files, tmp_path):
    t0 = time.monotonic()
    with pytest.raises(echoic.NotFoundError, match="no model named or found"):
        dtr.transcribe_files(sorted(dev_files)[:2], tmp_path / "t.jsonl", address=cluster.address,
                             model=str(tmp_path / "no-such-model"))
    assert time.monotonic() - t0 < 120  # not retried attempt after attempt
    assert (tmp_path / "t.jsonl").read_text() == ""  # and no file marked as done


def test_sharded_search_equals_one_index(cluster, tmp_path):
    cluster.ensure_worker()
    rng = np.random.default_rng(18)
    x = rng.standard_normal((3000, 64)).astype(np.float32)
    x[100] = x[200]  # one exact tie: resolved by id in both
    q = np.concatenate([rng.standard_normal((60, 64)).astype(np.float32), x[[100, 5, 2999]]])
    labels = [f"spk{i % 41}" for i in range(len(x))]
    with sharded.ShardedIndex.create(tmp_path / "shards", 4, 64, metric="cosine", encoding="flat",
                                     address=cluster.address) as ix:
        assert len({i["node"] for i in ix.shard_info()}) == 2  # spread over both nodes
        ids = ix.add(x[:1000], labels=labels[:1000])
        ids = np.concatenate([ids, ix.add(x[1000:], labels=labels[1000:])])
        assert ids.tolist() == list(range(3000)) and len(ix) == 3000
        one = echoic.EmbeddingIndex.create(tmp_path / "one.idx", 64, metric="cosine", encoding="flat")
        one.add(x, ids=ids, labels=labels)
        s1, i1, l1 = one.search(q, k=10)
        s2, i2, l2 = ix.search(q, k=10)
        assert np.array_equal(i1, i2) and np.array_equal(s1, s2) and l1 == l2
        assert i2[-3, :2].tolist() == [100, 200]
        # shards on two nodes: no compiled graph (Ray 2.60 can crash a raylet tearing one down across nodes)
        assert not ix.compile_search() and ix.graph_error is None  # off unless asked for
        ix.compiled_search = True
        assert not ix.compile_search() and "other nodes" in ix.graph_error
        e_ids, e_labels = ix.entries()
        assert e_ids.tolist() == list(range(3000)) and e_labels == labels
        ix.remove(ids[:10])
        with pytest.raises(echoic.NotFoundError):
            ix.remove([int(ids[0]), int(ids[20])])  # nothing removed
        assert int(ids[20]) in ix and len(ix) == 2990
        with pytest.raises(echoic.InvalidArgumentError):
            ix.add(x[:1], ids=[int(ids[20])])
        one.close()


def test_killed_shard_comes_back_with_every_acknowledged_entry(cluster, tmp_path):
    cluster.ensure_worker()
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2000, 32)).astype(np.float32)
    d = tmp_path / "shards"
    with sharded.ShardedIndex.create(d, 4, 32, encoding="flat", address=cluster.address) as ix:
        acked = ix.add(x[:1500], labels=[f"a{i}" for i in range(1500)])
        before = ix.shard_info()
        victim = 2
        os.kill(before[victim]["pid"], signal.SIGKILL)  # right after the acknowledgement
        acked = np.concatenate([acked, ix.add(x[1500:])])  # shard 2's part waits for its restart
        after = ix.shard_info()
        assert after[victim]["restarted"] and after[victim]["pid"] != before[victim]["pid"]
        assert not after[victim]["open_issues"]
        e_ids, _ = ix.entries()
        assert e_ids.tolist() == acked.tolist() == list(range(2000))
        s, i, lab = ix.search(x[:200], k=1)  # each vector finds itself, also on the restarted shard
        assert i[:, 0].tolist() == list(range(200)) and lab[0][0] == "a0"
        on_victim = [int(v) for v in acked if sharded.shard_of([v], 4)[0] == victim]
        assert on_victim and all(v in ix for v in on_victim[:50])
    # reopened from the files alone: the same entries, and new ids above the old ones
    with sharded.ShardedIndex.open(d, address=cluster.address) as ix:
        assert len(ix) == 2000
        assert ix.add(x[:1]).tolist() == [2000]


def test_one_actor_per_node_searches_as_one_index_and_survives_a_kill(cluster, tmp_path):
    cluster.ensure_worker()
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2000, 32)).astype(np.float32)
    q = rng.standard_normal((20, 32)).astype(np.float32)
    d = tmp_path / "shards"
    with sharded.ShardedIndex.create(d, 4, 32, metric="l2", encoding="flat", address=cluster.address,
                                     actors="per_node") as ix:
        info = ix.shard_info()
        by_pid: dict = {}
        for k, i in enumerate(info):
            by_pid.setdefault(i["pid"], []).append(k)
        assert len(by_pid) == 2 and len({i["node"] for i in info}) == 2  # two nodes, one actor each
        assert sorted(len(v) for v in by_pid.values()) == [2, 2]
        ids = ix.add(x, labels=[f"v{i}" for i in range(2000)])
        one = echoic.EmbeddingIndex.create(tmp_path / "one.idx", 32, metric="l2", encoding="flat")
        one.add(x, ids=ids, labels=[f"v{i}" for i in range(2000)])
        s1, i1, l1 = one.search(q, k=10)
        s2, i2, l2 = ix.search(q, k=10)
        assert np.array_equal(i1, i2) and np.array_equal(s1, s2) and l1 == l2
        victim = info[0]["pid"]
        os.kill(victim, signal.SIGKILL)  # both of its shards go down together
        s3, i3, _ = ix.search(q, k=10)  # waits for the restart
        assert np.array_equal(i1, i3)
        after = ix.shard_info()
        assert all(after[k]["restarted"] and after[k]["pid"] != victim for k in by_pid[victim])
        assert len(ix) == 2000
        one.close()
    with pytest.raises(echoic.InvalidArgumentError, match="per_shard"):
        sharded.ShardedIndex.open(d, address=cluster.address, actors="per_host")


def test_compiled_search_with_every_shard_on_the_drivers_node(cluster, tmp_path):
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    rng = np.random.default_rng(5)
    x = rng.standard_normal((2000, 48)).astype(np.float32)
    q = rng.standard_normal((40, 48)).astype(np.float32)
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    one = echoic.EmbeddingIndex.create(tmp_path / "one.idx", 48, metric="cosine", encoding="flat")
    with sharded.ShardedIndex.create(tmp_path / "shards", 4, 48, metric="cosine", encoding="flat",
                                     address=cluster.address, actor_options={"scheduling_strategy": here},
                                     compiled_search=True) as ix:
        ids = ix.add(x, labels=[f"v{i}" for i in range(len(x))])
        one.add(x, ids=ids, labels=[f"v{i}" for i in range(len(x))])
        s1, i1, l1 = one.search(q, k=10)
        s2, i2, l2 = ix.search(q, k=10)  # by actor calls; starts compiling in the background
        assert np.array_equal(i1, i2) and np.array_equal(s1, s2) and l1 == l2
        assert ix.compile_search(), ix.graph_error  # waits for that compile
        s2, i2, l2 = ix.search(q, k=10)  # through the compiled graph
        assert ix.compiled_search_active and np.array_equal(i1, i2) and np.array_equal(s1, s2) and l1 == l2
        for j in (0, 7, 39):  # one query per call
            s3, i3, l3 = ix.search(q[j], k=10)
            assert np.array_equal(i3[0], i1[j]) and np.array_equal(s3[0], s1[j]) and l3[0] == l1[j]
        with pytest.raises(echoic.InvalidArgumentError):  # a shard's own error, as itself
            ix.search(q[:2, :32], k=10)
        assert ix.compiled_search_active and np.array_equal(ix.search(q, k=10)[1], i1)  # the graph still works
        more = ix.add(x[:100] * -1.0)  # writes (main thread) beside the graph's searches (background thread)
        one.add(x[:100] * -1.0, ids=more)
        i1 = one.search(q, k=10)[1]
        assert np.array_equal(ix.search(q, k=10)[1], i1)
        os.kill(ix.shard_info()[1]["pid"], signal.SIGKILL)
        assert np.array_equal(ix.search(q, k=10)[1], i1)  # the graph fails; ordinary calls wait for the restart
        assert ix.compile_search(), ix.graph_error  # compiled again
        assert np.array_equal(ix.search(q, k=10)[1], i1) and ix.compiled_search_active
        assert len(ix) == 2100
    one.close()


def test_worker_node_killed_mid_job_every_file_once(cluster, dev_files, whisper_dir, tmp_path):
    cluster.ensure_worker()
    files = sorted(dev_files)
    out = tmp_path / "t.jsonl"
    killed = []

    def progress(report):
        if report.written == 3 and not killed:
            cluster.kill_worker_node()
            killed.append(time.monotonic())

    report = dtr.transcribe_files(files, out, address=cluster.address, model=str(whisper_dir), workers=2,
                                  progress=progress)
    assert killed, "the job ended before the worker node could be killed"
    assert cluster.worker.wait(timeout=60) is not None  # the node is gone, not just its raylet
    lines = _read_jsonl(out)
    assert sorted(rec["file"] for rec in lines) == files  # every file exactly once
    assert all(rec["error"] is None and rec["text"] for rec in lines)
    assert report.written == len(files) and report.skipped == 0
    print(f"\nnode killed after 3 files: {report.summary()}")

    # a rerun skips all of them
    again = dtr.transcribe_files(files, out, address=cluster.address, model=str(whisper_dir))
    assert again.skipped == len(files) and again.written == 0
    assert len(_read_jsonl(out)) == len(files)
