"""echoic.vad on real speech: three detectors, streaming behaviour, errors, CLI."""
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import echoic
from echoic import vad
from echoic.cli import main as cli_main
from echoic.speaker import SpeakerModel

CLIP_A = "ljspeech__LJ001-0004.wav"  # speech up to its last ~20 ms
CLIP_B = "ljspeech__LJ001-0002.wav"  # speech from its first ~20 ms
GAP_S = 1.5
METHODS = ["silero", "webrtc", "energy"]


@pytest.fixture(scope="module")
def silero_model(shared_dir: Path) -> Path:
    return shared_dir / "models" / "vad-silero" / "silero_vad.onnx"


@pytest.fixture(scope="module")
def two_clips(speech_dev: Path):
    a, ra = sf.read(speech_dev / CLIP_A, dtype="float32")
    b, rb = sf.read(speech_dev / CLIP_B, dtype="float32")
    assert ra == rb == 16000
    rng = np.random.default_rng(0)
    gap = (rng.standard_normal(int(GAP_S * 16000)) * 3e-4).astype(np.float32)  # quiet room, not digital zero
    audio = np.concatenate([a, gap, b])
    return audio, len(a) / 16000.0, (len(a) + len(gap)) / 16000.0


def make(method: str, model: Path, **kw):
    if method == "silero":
        return vad.SileroVad(model, **kw)
    if method == "webrtc":
        return vad.WebRtcVad(**kw)
    return vad.EnergyVad(**kw)


@pytest.mark.parametrize("method", METHODS)
def test_gap_between_two_clips_splits_two_segments(method, two_clips, silero_model):
    audio, gap_start, gap_end = two_clips
    segs = vad.speech_segments(audio, method=method, model=silero_model, sample_rate=16000, min_silence_ms=500)
    assert len(segs) == 2, segs
    (s1, e1), (s2, e2) = segs
    assert s1 < 0.3
    assert abs(e1 - gap_start) <= 0.3, segs
    assert abs(s2 - gap_end) <= 0.3, segs
    assert abs(e2 - len(audio) / 16000.0) <= 0.3, segs


@pytest.mark.parametrize("method", METHODS)
def test_streaming_trailing_silence_and_reset(method, two_clips, silero_model):
    audio, gap_start, gap_end = two_clips
    det = make(method, silero_model, min_silence_ms=500)
    cut = int((gap_start + 1.0) * 16000)  # 1 s into the gap
    for i in range(0, cut, 1234):  # odd chunking
        det.accept(audio[i : min(i + 1234, cut)])
    assert det.speech_since_reset
    assert det.trailing_silence == pytest.approx(1.0, abs=0.3)
    det.reset_segment()
    assert not det.speech_since_reset
    first = det.take_segments()
    assert len(first) == 1
    det.accept(audio[cut:])
    det.flush()
    assert det.speech_since_reset
    assert det.trailing_silence < 0.3
    second = det.take_segments()
    assert len(second) == 1 and second[0][0] > first[0][1]
    assert det.segments() == first + second


def test_silero_chunk_invariant_probabilities(two_clips, silero_model):
    audio = two_clips[0][: 16000 * 3]
    a, b = vad.SileroVad(silero_model), vad.SileroVad(silero_model)
    a.probabilities(True)
    b.probabilities(True)
    a.accept(audio)
    for i in range(0, len(audio), 777):
        b.accept(audio[i : i + 777])
    pa, pb = a.take_probabilities(), b.take_probabilities()
    assert len(pa) == len(audio) // 512
    np.testing.assert_array_equal(pa, pb)


def test_file_input_and_cli(speech_dev, silero_model, capsys):
    segs = vad.speech_segments(speech_dev / CLIP_B, method="silero", model=silero_model)
    assert segs and segs[0][0] < 0.3
    assert cli_main(["vad", str(speech_dev / CLIP_B), "--method", "energy"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines and all(len(line.split("\t")) == 2 for line in lines)
    start, end = map(float, lines[0].split("\t"))
    assert 0.0 <= start < end <= 1.95


@pytest.mark.parametrize("method", METHODS)
def test_nan_input_rejected(method, silero_model):
    det = make(method, silero_model)
    x = np.zeros(1600, dtype=np.float32)
    x[100] = np.nan
    with pytest.raises(echoic.InvalidArgumentError, match="finite"):
        det.accept(x)
    with pytest.raises(echoic.InvalidArgumentError, match=r"\[-1, 1\]"):
        det.accept(np.full(1600, 3000.0, dtype=np.float32))  # int16 scale


@pytest.mark.parametrize("method", METHODS)
def test_wrong_rate_rejected(method, silero_model):
    det = make(method, silero_model)
    with pytest.raises(echoic.InvalidArgumentError, match="44100 Hz.*16000 Hz"):
        det.accept(np.zeros(4410, dtype=np.float32), sample_rate=44100)


def test_wrong_rate_file_and_bad_options(tmp_path, two_clips, silero_model, monkeypatch):
    monkeypatch.delenv("ECHOIC_VAD_MODEL", raising=False)
    path = tmp_path / "cd.wav"
    sf.write(path, np.zeros(44100, dtype=np.float32), 44100)
    # files at any rate are resampled to one the detector takes (issue #20 item 6)
    assert vad.speech_segments(path, method="silero", model=silero_model) == []
    with pytest.raises(echoic.InvalidArgumentError, match="44100"):
        vad.speech_segments(path, method="silero", model=silero_model, sample_rate=16000)
    with pytest.raises(echoic.InvalidArgumentError, match="method"):
        vad.speech_segments(two_clips[0], method="nope")
    # no model given: the bundled Silero VAD (issue #20 item 5), the same as the shared copy
    assert vad.speech_segments(two_clips[0], method="silero") == \
        vad.speech_segments(two_clips[0], method="silero", model=silero_model)
    monkeypatch.setenv("ECHOIC_VAD_MODEL", str(tmp_path / "nope.onnx"))
    with pytest.raises(echoic.NotFoundError, match="nope.onnx.*webrtc or energy"):
        vad.speech_segments(two_clips[0], method="silero", model=None)
    monkeypatch.delenv("ECHOIC_VAD_MODEL")
    with pytest.raises(echoic.InvalidArgumentError, match="threshold"):
        vad.SileroVad(silero_model, threshold=2.0)
    with pytest.raises(echoic.ModelError, match="linear.onnx"):
        vad.SileroVad(Path(__file__).resolve().parents[1] / "data" / "linear.onnx")
    with pytest.raises(echoic.InvalidArgumentError):
        vad.WebRtcVad(aggressiveness=5)


def test_silero_matches_reference_onnxruntime_loop(two_clips, silero_model):
    """Our windows, 64-sample context and state carry give the probabilities of a
    plain onnxruntime loop written the way the official wrapper feeds the model."""
    ort = pytest.importorskip("onnxruntime")
    audio = two_clips[0][: 16000 * 2]
    sess = ort.InferenceSession(str(silero_model), providers=["CPUExecutionProvider"])
    state = np.zeros((2, 1, 128), dtype=np.float32)
    context = np.zeros(64, dtype=np.float32)
    ref = []
    for i in range(0, len(audio) - 511, 512):
        x = np.concatenate([context, audio[i : i + 512]])[None, :]
        out, state = sess.run(None, {"input": x, "state": state, "sr": np.array(16000, dtype=np.int64)})
        ref.append(float(out[0, 0]))
        context = x[0, -64:]
    det = vad.SileroVad(silero_model)
    det.probabilities(True)
    det.accept(audio)
    ours = det.take_probabilities()
    np.testing.assert_allclose(ours, np.array(ref, dtype=np.float32), atol=1e-4)
    assert max(ref) > 0.9


@pytest.mark.parametrize("method", METHODS)
def test_clone_has_fresh_state(method, two_clips, silero_model):
    det = make(method, silero_model)
    det.accept(two_clips[0][: 16000 * 2])
    assert det.speech_since_reset
    fresh = det.clone()  # what a recognizer does per stream
    assert type(fresh) is type(det)
    assert not fresh.speech_since_reset and fresh.trailing_silence == 0.0 and fresh.segments() == []
    fresh.accept(two_clips[0][: 16000 * 2])
    assert fresh.speech_since_reset


def test_threads_keyword_and_its_deprecated_spelling(silero_model):
    """`threads=` as in Recognizer; the 0.1 spelling `intra_op_threads=` still works for a release, with a warning."""
    assert vad.SileroVad(silero_model, threads=2) is not None
    with pytest.warns(DeprecationWarning, match="use threads="):
        vad.SileroVad(silero_model, intra_op_threads=1)
    with pytest.warns(DeprecationWarning, match="use threads="):
        SpeakerModel(intra_op_threads=1)
