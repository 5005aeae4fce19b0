"""EmbeddingIndex: recall, persistence, crash safety (kill -9), errors, C API."""
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import echoic
from echoic import EmbeddingIndex


def clustered(n, d, clusters, noise, seed, centres_seed=None):
    """Gaussian blobs: the shape of speaker embeddings (many utterances per speaker)."""
    c_rng = np.random.default_rng(seed if centres_seed is None else centres_seed)
    centres = c_rng.standard_normal((clusters, d)).astype(np.float32)
    rng = np.random.default_rng(seed + 1)
    which = rng.integers(0, clusters, n)
    return (centres[which] + noise * rng.standard_normal((n, d))).astype(np.float32)


def normalise(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def true_topk(base, queries, k):
    sims = normalise(queries) @ normalise(base).T
    return np.argsort(-sims, axis=1)[:, :k]


def recall_at(found, truth, k):
    return np.mean([len(set(f[:k]) & set(t[:k])) / k for f, t in zip(found, truth)])


@pytest.fixture(scope="module")
def data_20k():
    base = clustered(20000, 256, 200, 0.35, seed=7)
    queries = clustered(200, 256, 200, 0.35, seed=99, centres_seed=7)
    return base, queries, true_topk(base, queries, 10)


def test_recall_at_10_with_32_bytes_per_vector(tmp_path, data_20k):
    base, queries, truth = data_20k
    with EmbeddingIndex.create(tmp_path / "r.idx", 256, encoding="pq", m=32, keep_fp16=True,
                               train_iterations=6, max_train_points=8192) as ix:
        ix.train(base)
        ix.add(base, ids=np.arange(len(base)))
        assert ix.bytes_per_vector == 32
        _, ids_pq, _ = ix.search(queries, k=10)
        _, ids_rr, _ = ix.search(queries, k=10, rerank=100)
    r_pq = recall_at(ids_pq, truth, 10)
    r_rr = recall_at(ids_rr, truth, 10)
    print(f"recall@10 pq32={r_pq:.3f} pq32+rerank100={r_rr:.3f}")
    assert r_rr >= 0.95
    assert r_rr > r_pq  # re-ranking from float16 must improve on the codes alone


def test_flat_is_exact_and_scores_are_cosine(tmp_path):
    x = clustered(500, 32, 10, 0.5, seed=1)
    with EmbeddingIndex.create(tmp_path / "f.idx", 32, encoding="flat") as ix:
        ix.add(x)
        scores, ids, _ = ix.search(x[:20], k=5)
    truth = true_topk(x, x[:20], 5)
    assert (ids == truth).all()
    want = (normalise(x[:20]) * normalise(x[ids[:, 0]])).sum(1)
    np.testing.assert_allclose(scores[:, 0], want, atol=1e-5)
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first


def test_l2_metric_returns_squared_distances(tmp_path):
    x = clustered(300, 16, 5, 0.5, seed=2)
    with EmbeddingIndex.create(tmp_path / "l2.idx", 16, metric="l2", encoding="sq8") as ix:
        ix.train(x)
        ix.add(x)
        d, ids, _ = ix.search(x[:10] + 0.01, k=3)
    assert (ids[:, 0] == np.arange(10)).all()
    assert np.all(np.diff(d, axis=1) >= 0)
    np.testing.assert_allclose(d[:, 0], ((x[:10] + 0.01 - x[ids[:, 0]]) ** 2).sum(1), rtol=0.2, atol=0.05)


def test_persistence_labels_namespaces_and_remove(tmp_path):
    path = tmp_path / "p.idx"
    x = clustered(400, 64, 8, 0.4, seed=3)
    with EmbeddingIndex.create(path, 64, encoding="pq", m=16, encoder_id="speaker-dvector@abcd1234") as ix:
        ix.train(x)
        a = ix.add(x[:200], labels=[f"alice-{i}" for i in range(200)], namespace="alice")
        b = ix.add(x[200:], labels=[f"bob-{i}" for i in range(200)], namespace="bob")
        ix.save()
        ix.remove(a[:10])  # only in the log
        before = ix.search(x[:5], k=4, namespace="alice", rerank=20)
    with EmbeddingIndex.open(path) as ix:
        assert len(ix) == 390
        assert ix.encoder_id == "speaker-dvector@abcd1234"
        assert sorted(ix.namespaces()) == ["alice", "bob"]
        after = ix.search(x[:5], k=4, namespace="alice", rerank=20)
        np.testing.assert_array_equal(before[1], after[1])
        np.testing.assert_allclose(before[0], after[0], rtol=1e-6)
        assert before[2] == after[2]
        assert set(after[1].ravel()) <= set(a[10:].tolist())  # namespace filter + removal
        assert after[2][0][0].startswith("alice-")
        _, ids, labels = ix.search(x[250], k=1, namespace="bob", rerank=10)
        assert ids[0, 0] == b[50] and labels[0][0] == "bob-50"
        _, ids, labels = ix.search(x[250], k=2, namespace="carol")
        assert (ids == -1).all() and labels == [["", ""]]


def test_errors_are_typed(tmp_path):
    path = tmp_path / "e.idx"
    ix = EmbeddingIndex.create(path, 16, encoding="pq", m=4, encoder_id="enc-a@1")
    with pytest.raises(echoic.StateError):
        ix.add(np.ones((1, 16), np.float32))
    ix.train(clustered(300, 16, 4, 0.5, seed=4))
    with pytest.raises(echoic.InvalidArgumentError, match="enc-a@1.*|.*enc-b@2"):
        ix.add(np.ones((1, 16)), encoder_id="enc-b@2")
    with pytest.raises(echoic.InvalidArgumentError) as info:
        ix.search(np.ones(16), encoder_id="enc-b@2")
    assert "enc-a@1" in str(info.value) and "enc-b@2" in str(info.value)
    with pytest.raises(echoic.InvalidArgumentError, match="shape"):
        ix.add(np.ones((2, 15)))
    with pytest.raises(echoic.InvalidArgumentError, match="non-finite"):
        ix.add(np.full((1, 16), np.nan))
    ids = ix.add(np.ones((1, 16)), ids=[5])
    with pytest.raises(echoic.InvalidArgumentError, match="already exists"):
        ix.add(np.ones((1, 16)), ids=[5])
    with pytest.raises(echoic.NotFoundError):
        ix.remove([6])
    with pytest.raises(echoic.StateError, match="already open"):
        EmbeddingIndex.open(path)
    ix.close()
    with pytest.raises(echoic.StateError, match="closed"):
        ix.search(np.ones(16))
    with pytest.raises(echoic.InvalidArgumentError, match="1..1024"):
        EmbeddingIndex.create(tmp_path / "big.idx", 2048)
    with pytest.raises(echoic.InvalidArgumentError, match="divide"):
        EmbeddingIndex.create(tmp_path / "m.idx", 30, m=7)
    with pytest.raises(echoic.NotFoundError):
        EmbeddingIndex.open(tmp_path / "missing.idx")
    assert ids.tolist() == [5]


def test_encoder_identity_from_a_real_model(tmp_path, shared_dir):
    model = shared_dir / "models" / "speaker-dvector" / "embedder.int8.onnx"
    eid = EmbeddingIndex.encoder_id_for(model)
    assert eid.startswith("speaker-dvector@") and len(eid.split("@")[1]) == 12
    assert EmbeddingIndex.encoder_id_for(model) == eid  # stable
    other = EmbeddingIndex.encoder_id_for(shared_dir / "models" / "vad-silero" / "silero_vad.onnx")
    with EmbeddingIndex.create(tmp_path / "s.idx", 8, encoding="flat", encoder_id=eid) as ix:
        ix.add(np.ones((1, 8)), encoder_id=eid)
        with pytest.raises(echoic.InvalidArgumentError) as info:
            ix.add(np.ones((1, 8)), encoder_id=other)
        assert eid in str(info.value) and other in str(info.value)
    with EmbeddingIndex.open(tmp_path / "s.idx") as ix:
        assert ix.encoder_id == eid


def test_corrupt_file_and_recovery(tmp_path):
    path = tmp_path / "c.idx"
    x = clustered(300, 32, 6, 0.4, seed=5)
    with EmbeddingIndex.create(path, 32, encoding="sq8") as ix:
        ix.train(x)
        ix.add(x, labels=[str(i) for i in range(300)])
        ix.save()
    raw = bytearray(path.read_bytes())
    at = raw.rfind(b"FP16") + 16 + 100 * 32 * 2 + 5  # inside record 100's float16 copy
    raw[at] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(echoic.CorruptDataError) as info:
        EmbeddingIndex.open(path)
    assert str(path) in str(info.value) and "offset" in str(info.value)
    with EmbeddingIndex.open(path, recover=True) as ix:
        assert len(ix) == 299 and 100 not in ix and 99 in ix and 101 in ix
        assert ix.open_issues
        assert ix.label(101) == "101"
    assert (tmp_path / "c.idx.damaged").exists()
    with EmbeddingIndex.open(path) as ix:  # the recovered file is clean again
        assert len(ix) == 299
    path.write_bytes(b"not an index at all")
    with pytest.raises(echoic.CorruptDataError, match="not an echoic index"):
        EmbeddingIndex.open(path)


CHILD = textwrap.dedent(
    """
    import sys, numpy as np
    from echoic import EmbeddingIndex
    ix = EmbeddingIndex.open(sys.argv[1])
    rng = np.random.default_rng(int(sys.argv[2]))
    n = 0
    while True:
        batch = int(rng.integers(1, 4))
        ids = ix.add(rng.standard_normal((batch, 32)).astype(np.float32), labels=["x"] * batch)
        for i in ids:
            print(int(i), flush=True)
        n += batch
        if n % 40 < batch:
            ix.save()  # also crash inside and around compaction
    """
)


def test_kill_9_loses_no_acknowledged_add(tmp_path):
    path = tmp_path / "k.idx"
    x = clustered(300, 32, 4, 0.5, seed=6)
    with EmbeddingIndex.create(path, 32, encoding="pq", m=8, train_iterations=3) as ix:
        ix.train(x)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    acknowledged = set()
    rng = random.Random(1234)
    for round_ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(round_)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
        first = proc.stdout.readline()  # wait until it is adding
        assert first.strip(), proc.stderr.read()
        acknowledged.add(int(first))
        time.sleep(rng.uniform(0.05, 0.6))
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        acknowledged.update(int(line) for line in out.split())
        with EmbeddingIndex.open(path) as ix:
            missing = [i for i in acknowledged if i not in ix]
            assert not missing, f"round {round_}: acknowledged ids lost: {missing[:10]}"
            assert len(ix) >= len(acknowledged)
    assert len(acknowledged) > 20


def test_torn_log_tail_is_dropped(tmp_path):
    path = tmp_path / "t.idx"
    with EmbeddingIndex.create(path, 8, encoding="flat") as ix:
        for i in range(10):
            ix.add(np.random.default_rng(i).standard_normal((1, 8)))
    wal = Path(str(path) + ".wal")
    size = wal.stat().st_size
    os.truncate(wal, size - 3)
    with EmbeddingIndex.open(path) as ix:
        assert len(ix) == 9 and 8 in ix and 9 not in ix
        assert any("dropped" in s for s in ix.open_issues)


def test_ivf_opq_refine_and_retrain(tmp_path):
    base = clustered(6000, 64, 60, 0.35, seed=8)
    queries = clustered(50, 64, 60, 0.35, seed=80, centres_seed=8)
    truth = true_topk(base, queries, 10)
    with EmbeddingIndex.create(tmp_path / "i.idx", 64, encoding="pq", m=8, refine_m=8, opq=True, ivf_lists=32,
                               train_iterations=5) as ix:
        ix.train(base)
        ix.add(base)
        assert ix.bytes_per_vector == 16
        _, few, _ = ix.search(queries, k=10, nprobe=1)
        _, many, _ = ix.search(queries, k=10, nprobe=16)
        _, rr, _ = ix.search(queries, k=10, nprobe=16, rerank=100)
        r1, r16, rrr = recall_at(few, truth, 10), recall_at(many, truth, 10), recall_at(rr, truth, 10)
        print(f"ivf32 opq pq8+refine8: nprobe1={r1:.3f} nprobe16={r16:.3f} +rerank={rrr:.3f}")
        assert r16 >= r1 and rrr >= 0.9
        ix.retrain()
        _, again, _ = ix.search(queries, k=10, nprobe=16, rerank=100)
        assert recall_at(again, truth, 10) >= 0.9
        assert len(ix) == 6000


def test_c_api_round_trip(tmp_path):
    cffi = pytest.importorskip("cffi")
    from c_api_helpers import header_cdef  # the shipped echoic.h

    ffi = cffi.FFI()
    ffi.cdef(header_cdef())
    lib = ffi.dlopen(echoic.c_library_path())
    x = clustered(400, 32, 8, 0.4, seed=9)
    opts = ffi.new("echoic_index_config*")
    lib.echoic_index_config_default(opts, 32)
    opts.m = 8
    enc = ffi.new("char[]", b"sq8")
    opts.encoding = enc
    path = ffi.new("char[]", str(tmp_path / "c.idx").encode())
    h = ffi.new("echoic_index**")
    assert lib.echoic_index_create(path, opts, h) == 0, ffi.string(lib.echoic_last_error())
    ix = h[0]
    assert lib.echoic_index_add(ix, ffi.from_buffer("float[]", x), 1, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL) == 8
    assert b"trained" in ffi.string(lib.echoic_last_error())
    assert lib.echoic_index_train(ix, ffi.from_buffer("float[]", x), 400) == 0
    keep = [ffi.new("char[]", f"spk{i}".encode()) for i in range(400)]
    labels = ffi.new("char*[]", keep)
    out_ids = np.zeros(400, np.int64)
    assert lib.echoic_index_add(ix, ffi.from_buffer("float[]", x), 400, ffi.NULL, labels, ffi.NULL,
                                ffi.from_buffer("int64_t[]", out_ids)) == 0
    assert out_ids.tolist() == list(range(400))
    assert lib.echoic_index_remove(ix, ffi.new("int64_t[]", [3]), 1) == 0
    assert lib.echoic_index_remove(ix, ffi.new("int64_t[]", [3]), 1) == 9  # not found
    assert lib.echoic_index_save(ix) == 0
    lib.echoic_index_free(ix)
    assert lib.echoic_index_open(path, 0, h) == 0
    ix = h[0]
    n = ffi.new("size_t*")
    assert lib.echoic_index_size(ix, n) == 0 and n[0] == 399
    assert lib.echoic_index_bytes_per_vector(ix, n) == 0 and n[0] == 32
    scores = np.zeros((2, 3), np.float32)
    ids = np.zeros((2, 3), np.int64)
    q = np.ascontiguousarray(x[[10, 20]])
    assert lib.echoic_index_search(ix, ffi.from_buffer("float[]", q), 2, 3, ffi.NULL, 8, 10,
                                   ffi.from_buffer("float[]", scores), ffi.from_buffer("int64_t[]", ids)) == 0
    assert ids[:, 0].tolist() == [10, 20]
    assert scores[0, 0] > 0.99
    buf, length = ffi.new("char[32]"), ffi.new("size_t*")
    assert lib.echoic_index_label(ix, 20, buf, 32, length) == 0 and ffi.string(buf) == b"spk20" and length[0] == 5
    # Too small a buffer: the label is cut, and the length says so (no silent truncation).
    assert lib.echoic_index_label(ix, 20, buf, 4, length) == 0 and ffi.string(buf) == b"spk" and length[0] == 5
    assert lib.echoic_index_label(ix, 20, ffi.NULL, 0, length) == 0 and length[0] == 5  # sizing call
    assert lib.echoic_index_label(ix, 20, ffi.NULL, 8, length) == lib.ECHOIC_ERR_INVALID_ARGUMENT
    assert lib.echoic_index_search(ix, ffi.NULL, 1, 3, ffi.NULL, 8, 0, ffi.from_buffer("float[]", scores),
                                   ffi.from_buffer("int64_t[]", ids)) == 1
    # Entries: sized by a first call, in id order.
    assert lib.echoic_index_entries(ix, ffi.NULL, ffi.NULL, 0, n) == 0 and n[0] == 399
    listed = np.zeros(399, np.int64)
    assert lib.echoic_index_entries(ix, ffi.NULL, ffi.from_buffer("int64_t[]", listed), 399, n) == 0
    assert listed.tolist() == [i for i in range(400) if i != 3]
    assert lib.echoic_index_entries(ix, b"nowhere", ffi.NULL, 0, n) == 0 and n[0] == 0
    assert lib.echoic_index_entries(ix, ffi.NULL, ffi.NULL, 5, n) == 1  # NULL buffer with capacity
    # Read-only beside the writer: works, refuses writes, creates nothing.
    files = sorted(p.name for p in tmp_path.iterdir())
    ro = ffi.new("echoic_index**")
    assert lib.echoic_index_open(path, 2, ro) == 0, ffi.string(lib.echoic_last_error())
    assert lib.echoic_index_size(ro[0], n) == 0 and n[0] == 399
    assert lib.echoic_index_remove(ro[0], ffi.new("int64_t[]", [4]), 1) == lib.ECHOIC_ERR_STATE
    assert b"read-only" in ffi.string(lib.echoic_last_error())
    assert lib.echoic_index_save(ro[0]) == lib.ECHOIC_ERR_STATE
    lib.echoic_index_free(ro[0])
    assert lib.echoic_index_open(path, 4, ro) == lib.ECHOIC_ERR_INVALID_ARGUMENT  # unknown flag
    assert lib.echoic_index_open(path, 0, ro) == lib.ECHOIC_ERR_STATE  # a second writer
    lib.echoic_index_free(ix)
    lib.echoic_index_free(ffi.NULL)
    lock = tmp_path / "c.idx.lock"
    lock.unlink()
    assert lib.echoic_index_open(path, 2, ro) == 0
    lib.echoic_index_free(ro[0])
    assert not lock.exists() and sorted(p.name for p in tmp_path.iterdir()) == [f for f in files if f != "c.idx.lock"]
