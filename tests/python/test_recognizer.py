"""Streaming recognizer: mechanics on the random-weight test model, real ONNX Runtime, real speech."""
import asyncio
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import echoic

TEST_MODEL = Path(__file__).resolve().parents[1] / "data" / "asr-random-wenet"
CLIPS = ["ljspeech__LJ001-0001.wav", "pocketsphinx-goforward__goforward.wav", "picovoice-cheetah__test_en.wav"]


@pytest.fixture(scope="module")
def rec():
    return echoic.Recognizer(TEST_MODEL, endpoint=False)


def load(speech_dev, name):
    x, sr = sf.read(speech_dev / name, dtype="float32")
    return x, sr


def stamps(t):
    return [(w.word, round(w.start, 4), round(w.end, 4)) for w in t.words]


def test_model_info_and_fixed_state_size(rec, speech_dev):
    info = rec.model_info
    assert info["chunk_size"] > 0 and info["vocab_size"] > 2
    s = rec.create_stream()
    d_k = info["output_size"] // info["head"]
    cache = info["chunk_size"] * info["num_left_chunks"]
    expected = 4 * (info["num_blocks"] * info["head"] * cache * 2 * d_k
                    + info["num_blocks"] * info["output_size"] * (info["cnn_module_kernel"] - 1))
    assert s.state_bytes == expected
    x, sr = load(speech_dev, CLIPS[0])
    s.accept_waveform(x, sr)
    rec.decode_available(s)
    assert s.state_bytes == expected  # does not grow with audio


@pytest.mark.parametrize("clip", CLIPS)
def test_chunking_invariance(rec, speech_dev, clip):
    x, sr = load(speech_dev, clip)
    whole = rec.transcribe(x, sr)
    assert whole.text, "the test model should emit tokens on real speech"
    for ms in (10, 37, 100, 1000):
        t = rec.transcribe(x, sr, chunk_ms=ms)
        assert t.text == whole.text, f"{ms} ms chunks changed the text"
        assert stamps(t) == stamps(whole), f"{ms} ms chunks changed the timestamps"


def test_words_have_ordered_timestamps_inside_audio(rec, speech_dev):
    x, sr = load(speech_dev, CLIPS[0])
    t = rec.transcribe(x, sr)
    dur = len(x) / sr
    assert t.words
    prev = 0.0
    for w in t.words:
        assert prev <= w.start <= w.end <= dur + 1.0
        assert 0.0 <= w.confidence <= 1.0
        prev = w.start


def test_batched_decode_matches_single_streams(rec, speech_dev):
    singles = [rec.transcribe(*load(speech_dev, c)).text for c in CLIPS]
    streams = [rec.create_stream() for _ in CLIPS]
    for s, c in zip(streams, CLIPS):
        x, sr = load(speech_dev, c)
        s.accept_waveform(x, sr)
        s.input_finished()
    while not all(s.is_done for s in streams):
        rec.decode(streams)  # one encoder run per step for all ready streams
    batched = [" ".join(r.text for r in s.pop_final_results() if r.text) for s in streams]
    assert batched == singles


def test_resamples_other_rates(rec, speech_dev):
    x, sr = load(speech_dev, CLIPS[1])
    from echoic import features

    r = features.Resampler(sr, 48000)
    x48 = np.concatenate([r.process(x), r.flush()]).astype(np.float32)
    t16 = rec.transcribe(x, sr).text
    t48 = rec.transcribe(x48, 48000).text
    assert t48  # decodes; exact equality is not expected after a resampling round trip
    assert len(set(t48.split()) & set(t16.split())) >= len(t16.split()) // 2


def test_generator_and_asyncio_agree(rec, speech_dev):
    x, sr = load(speech_dev, CLIPS[0])
    chunks = [x[i : i + 1600] for i in range(0, len(x), 1600)]
    results = list(rec.stream(chunks, sr, partials=True))
    finals = [r for r in results if r.is_final]
    assert finals and any(not r.is_final for r in results)

    async def collect():
        async def gen():
            for c in chunks:
                yield c

        return [r async for r in rec.astream(gen(), sr, partials=False)]

    afinals = asyncio.run(collect())
    assert [r.text for r in afinals] == [r.text for r in finals]


def test_bad_input_is_rejected_without_losing_state(rec, speech_dev):
    x, sr = load(speech_dev, CLIPS[1])
    ref = rec.transcribe(x, sr).text
    s = rec.create_stream()
    half = len(x) // 2
    s.accept_waveform(x[:half], sr)
    bad = x[half:].copy()
    bad[10] = np.nan
    with pytest.raises(echoic.InvalidArgumentError, match="NaN"):
        s.accept_waveform(bad, sr)
    with pytest.raises(echoic.InvalidArgumentError, match="Hz"):
        s.accept_waveform(x[half:], 8000)  # rate change mid-stream
    s.accept_waveform(x[half:], sr)  # the stream goes on as if nothing happened
    s.input_finished()
    rec.decode_available(s)
    assert " ".join(r.text for r in s.pop_final_results() if r.text) == ref
    with pytest.raises(echoic.StateError):
        s.accept_waveform(x[:100], sr)


def test_model_errors_are_typed(tmp_path):
    with pytest.raises(echoic.NotFoundError):
        echoic.Recognizer(tmp_path / "missing")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.onnx").write_bytes(b"\x08\x07garbage" * 100)
    (bad / "tokens.txt").write_text((TEST_MODEL / "tokens.txt").read_text())
    with pytest.raises(echoic.CorruptDataError):
        echoic.Recognizer(bad)
    wrong_tokens = tmp_path / "wrong"
    wrong_tokens.mkdir()
    (wrong_tokens / "model.onnx").write_bytes((TEST_MODEL / "model.onnx").read_bytes())
    (wrong_tokens / "tokens.txt").write_text("<blk> 0\na 1\n")
    with pytest.raises(echoic.ModelError, match="vocab"):
        echoic.Recognizer(wrong_tokens)


def test_cli_transcribe_json(speech_dev):
    files = [str(speech_dev / c) for c in CLIPS[:2]]
    out = subprocess.run(
        [sys.executable, "-m", "echoic", "transcribe", "--model", str(TEST_MODEL), "--json", *files],
        capture_output=True, text=True, check=True,
    )
    lines = [json.loads(l) for l in out.stdout.splitlines()]
    assert [l["file"] for l in lines] == files
    for l in lines:
        assert isinstance(l["text"], str)
        for w in l["words"]:
            assert set(w) >= {"word", "start", "end"}


def test_same_text_as_sherpa_onnx_on_every_dev_clip(rec, speech_dev):
    """Same model file, same audio, an independent implementation: identical transcripts."""
    sherpa_onnx = pytest.importorskip("sherpa_onnx")
    info = rec.model_info
    sh = sherpa_onnx.OnlineRecognizer.from_wenet_ctc(
        tokens=str(TEST_MODEL / "tokens.txt"), model=str(TEST_MODEL / "model.onnx"),
        chunk_size=info["chunk_size"], num_left_chunks=info["num_left_chunks"], num_threads=1)
    pad = np.zeros(info["chunk_frames"] * 160, dtype=np.float32)  # echoic's tail padding
    clips = sorted(speech_dev.glob("*.wav"))
    assert len(clips) >= 20
    for clip in clips:
        x, sr = sf.read(clip, dtype="float32")
        s = sh.create_stream()
        s.accept_waveform(sr, x)
        s.accept_waveform(sr, pad)
        s.input_finished()
        while sh.is_ready(s):
            sh.decode_stream(s)
        theirs = sh.get_result(s)
        theirs = (theirs if isinstance(theirs, str) else theirs.text).strip()
        assert rec.transcribe(x, sr).text == theirs, clip.name


@pytest.mark.parametrize("vad", ["energy", "silero", "webrtc"])
def test_vad_gated_endpointing_splits_utterances_and_loses_nothing(shared_dir, speech_dev, vad):
    """The random model never emits blanks, so only the VAD can see the pause between the two clips."""
    a, sr = load(speech_dev, "pocketsphinx-goforward__goforward.wav")
    b, _ = load(speech_dev, "pocketsphinx-cards__001.wav")
    gap = np.zeros(int(3.0 * sr), dtype=np.float32)
    x = np.concatenate([a, gap, b])
    vad_model = shared_dir / "models" / "vad-silero" / "silero_vad.onnx" if vad == "silero" else None
    plain = echoic.Recognizer(TEST_MODEL).transcribe(x, sr)
    assert len([s for s in plain.segments if s.text]) == 1  # blank-based endpointing never fires here
    gated = echoic.Recognizer(TEST_MODEL, vad=vad, vad_model=vad_model)
    ref = gated.transcribe(x, sr)
    finals = [s for s in ref.segments if s.text]
    assert len(finals) == 2, [(s.segment_start, s.text) for s in ref.segments]
    # the second utterance starts inside the gap, after the first clip
    assert len(a) / sr < finals[1].segment_start < (len(a) + len(gap)) / sr + 0.5
    for ms in (10, 100, 1000):  # endpoint decisions do not depend on chunking either
        t = gated.transcribe(x, sr, chunk_ms=ms)
        assert [s.text for s in t.segments] == [s.text for s in ref.segments]
        assert [s.segment_start for s in t.segments] == [s.segment_start for s in ref.segments]


def test_voice_activity_reports_need_external_vad(rec):
    s = rec.create_stream()
    with pytest.raises(echoic.StateError, match="external"):
        s._s.report_voice_activity(True, 0.03)
    ext = echoic.Recognizer(TEST_MODEL, vad="external").create_stream()
    with pytest.raises(echoic.InvalidArgumentError):
        ext._s.report_voice_activity(True, -1.0)


def test_a_stream_from_another_recognizer_is_refused(speech_dev):
    # Decoding another recognizer's stream used to corrupt the heap; now it is a typed error.
    from pathlib import Path

    model = Path(__file__).resolve().parents[1] / "data" / "asr-random-wenet"
    a, b = echoic.Recognizer(model), echoic.Recognizer(model)
    s = a.create_stream()
    s.accept_waveform(np.zeros(16000, np.float32), 16000)
    for call in (lambda: b.decode([s]), lambda: b.decode_available(s), lambda: b._r.partial(s._s),
                 lambda: b._r.is_ready(s._s)):
        with pytest.raises(echoic.InvalidArgumentError, match="another recognizer"):
            call()
    a.decode_available(s)  # its own recognizer still takes it


def test_nbest_alternatives_ctc(speech_dev):
    """n-best on request (issue #20): distinct texts, best first, the result's own text first;
    the best text is the one decoding gives without n-best."""
    clip = speech_dev / CLIPS[0]
    plain = echoic.Recognizer("echoic-small-en", decoding="beam").transcribe(clip)
    nb = echoic.Recognizer("echoic-small-en", nbest=4).transcribe(clip)
    assert nb.text == plain.text
    assert all(not s.alternatives for s in plain.segments)
    for s in nb.segments:
        texts = [a.text for a in s.alternatives]
        scores = [a.score for a in s.alternatives]
        assert 2 <= len(texts) <= 4 and texts[0] == s.text and len(set(texts)) == len(texts)
        assert scores == sorted(scores, reverse=True)
    with pytest.raises(echoic.InvalidArgumentError, match="nbest 3 needs beam search"):
        echoic.Recognizer("echoic-small-en", nbest=3, decoding="greedy")
    with pytest.raises(echoic.InvalidArgumentError, match="nbest must be in 1..16"):
        echoic.Recognizer("echoic-small-en", nbest=0)


def test_nbest_alternatives_whisper(whisper_dir, speech_dev, capsys):
    from echoic import cli

    clip = speech_dev / CLIPS[0]
    beam = echoic.Recognizer(str(whisper_dir), decoding="beam").transcribe(clip, chunk_ms=None)
    nb = echoic.Recognizer(str(whisper_dir), nbest=4).transcribe(clip, chunk_ms=None)
    assert nb.text == beam.text
    for s in nb.segments:
        assert 1 <= len(s.alternatives) <= 4 and s.alternatives[0].text == s.text
        assert len({a.text for a in s.alternatives}) == len(s.alternatives)
    assert cli.main(["transcribe", str(clip), "--json", "--model", str(whisper_dir), "--nbest", "3"]) == 0
    import json

    seg = json.loads(capsys.readouterr().out)["segments"][0]
    assert seg["alternatives"][0]["text"] == seg["text"]


def test_decoding_options_and_keywords_are_one_set(rec, speech_dev):
    """DecodingOptions holds the core's defaults; options= and keyword arguments build the
    same recognizer (keywords win); an unknown keyword is a TypeError naming it."""
    from echoic import _native
    from echoic.decoding import _NATIVE_NAME

    core, mine = _native.RecognizerConfig(), echoic.DecodingOptions().native_config()
    for name, native_name in _NATIVE_NAME.items():
        assert getattr(mine, native_name) == getattr(core, native_name), name
    assert rec.options == echoic.DecodingOptions(endpoint=False)
    x, sr = load(speech_dev, CLIPS[1])
    by_options = echoic.Recognizer(TEST_MODEL, options=echoic.DecodingOptions(endpoint=False, decoding="beam"))
    by_keywords = echoic.Recognizer(TEST_MODEL, endpoint=False, decoding="beam")
    assert by_options.decoding == by_keywords.decoding == "beam" and rec.decoding == "greedy"
    assert stamps(by_options.transcribe(x, sr)) == stamps(by_keywords.transcribe(x, sr))
    mixed = echoic.Recognizer(TEST_MODEL, options=echoic.DecodingOptions(decoding="beam"), decoding="greedy")
    assert mixed.decoding == "greedy" and mixed.options.decoding == "greedy"
    with pytest.raises(TypeError, match="'beam_width'"):
        echoic.Recognizer(TEST_MODEL, beam_width=4)
    with pytest.raises(TypeError, match="DecodingOptions"):
        echoic.Recognizer(TEST_MODEL, options={"decoding": "beam"})
    adaptive = echoic.AdaptiveRecognizer([TEST_MODEL], options=echoic.DecodingOptions(endpoint=False), nbest=2,
                                         poll_interval=0, system_probes=False)
    assert adaptive.options == echoic.DecodingOptions(endpoint=False, nbest=2)
