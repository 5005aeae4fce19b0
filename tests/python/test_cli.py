"""The `echoic` command line surface (issue #20)."""
from __future__ import annotations

import os

import pytest

import echoic
from echoic import cli


@pytest.mark.parametrize("argv", [
    ["speaker", "enroll", "--index", "x.idx", "--name", "alice", "a.wav", "b.wav"],
    ["speaker", "enroll", "a.wav", "--index", "x.idx", "b.wav", "--name", "alice"],
    ["speaker", "enroll", "a.wav", "b.wav", "--index", "x.idx", "--name", "alice"],
])
def test_options_before_or_after_positionals_enroll(argv):
    args = cli.build_parser().parse_args(argv)
    assert (args.action, args.index, args.name, args.files) == ("enroll", "x.idx", "alice", ["a.wav", "b.wav"])


@pytest.mark.parametrize("argv", [
    ["speaker", "identify", "--index", "y.idx", "who.wav"],
    ["speaker", "identify", "who.wav", "--index", "y.idx"],
])
def test_options_before_or_after_positionals_identify(argv):
    args = cli.build_parser().parse_args(argv)
    assert (args.action, args.index, args.files) == ("identify", "y.idx", ["who.wav"])


def test_options_anywhere_for_every_leaf_command():
    p = cli.build_parser()
    a = p.parse_args(["transcribe", "a.wav", "--json", "b.wav", "--threads", "2"])
    assert a.files == ["a.wav", "b.wav"] and a.format == "json" and a.threads == 2
    a = p.parse_args(["vad", "--method", "webrtc", "a.wav"])
    assert a.file == "a.wav" and a.method == "webrtc"
    a = p.parse_args(["kws", "--keywords", "yes,no", "a.wav", "--threshold", "0.5"])
    assert a.file == "a.wav" and a.keywords == "yes,no" and a.threshold == 0.5


def test_read_only_speaker_verbs_create_nothing(tmp_path, capsys, monkeypatch):
    """`speaker list --index typo.idx` used to create typo.idx, .lock and .wal, and to
    demand the speaker model (issue #20 item 7)."""
    monkeypatch.delenv("ECHOIC_SPEAKER_MODEL", raising=False)
    monkeypatch.chdir(tmp_path)
    for argv in (["speaker", "list", "--index", "typo.idx"],
                 ["speaker", "remove", "--index", "typo.idx", "--name", "bob"],
                 ["speaker", "identify", "--index", "typo.idx", "who.wav"]):
        assert cli.main(argv) == 1
        err = capsys.readouterr().err
        assert "typo.idx" in err and "does not exist" in err
    assert list(tmp_path.iterdir()) == []


def test_failed_enroll_leaves_no_trace(tmp_path, shared_dir, speech_dev, capsys):
    model = shared_dir / "models" / "speaker-dvector" / "embedder.int8.onnx"
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEfmt " + bytes(40))
    idx = tmp_path / "new.idx"
    good = speech_dev / "ljspeech__LJ001-0002.wav"
    assert cli.main(["speaker", "enroll", str(good), str(bad), "--index", str(idx), "--name", "x",
                     "--model", str(model)]) == 1
    assert "bad.wav" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.wav"]
    # list needs no model once the index exists
    assert cli.main(["speaker", "enroll", str(good), "--index", str(idx), "--name", "x", "--model", str(model)]) == 0
    capsys.readouterr()
    assert cli.main(["speaker", "list", "--index", str(idx)]) == 0
    assert capsys.readouterr().out.split() == ["x"]


def test_read_only_verbs_write_nothing_and_run_beside_a_writer(tmp_path, shared_dir, speech_dev, capsys):
    """identify/verify/list used to take the index's lock (so they failed while another process
    enrolled) and created .lock files (issue #20 item 7): they now read a snapshot."""
    import numpy as np

    from echoic.index import EmbeddingIndex

    model = str(shared_dir / "models" / "speaker-dvector" / "embedder.int8.onnx")
    idx = tmp_path / "s.idx"
    clip = str(speech_dev / "ljspeech__LJ001-0002.wav")
    assert cli.main(["speaker", "enroll", clip, "--index", str(idx), "--name", "lj", "--model", model]) == 0
    os.remove(str(idx) + ".lock")
    before = sorted(p.name for p in tmp_path.iterdir())
    capsys.readouterr()
    assert cli.main(["speaker", "list", "--index", str(idx)]) == 0
    assert capsys.readouterr().out.split() == ["lj"]
    assert cli.main(["speaker", "identify", clip, "--index", str(idx), "--model", model]) == 0
    assert "\tlj\t" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no .lock, .wal rewritten or .tmp
    with EmbeddingIndex.open(idx) as writer:  # a writer holds the lock
        assert cli.main(["speaker", "verify", clip, "--index", str(idx), "--name", "lj", "--model", model]) == 0
        assert "accept" in capsys.readouterr().out
        with pytest.raises(echoic.StateError):
            EmbeddingIndex.open(idx)  # a second writer is still refused
        reader = EmbeddingIndex.open(idx, read_only=True)
        assert reader.read_only and len(reader) == len(writer)
        with pytest.raises(echoic.StateError, match="read-only"):
            reader.add(np.ones((1, reader.dim), np.float32), labels=["x"], namespace="speaker")
        reader.close()


def test_entries_list_every_row_of_a_large_ivf_index(tmp_path):
    """Listing by search(k=len) missed rows under IVF beyond 4,096 rows (issue #15 item 4)."""
    import numpy as np

    from echoic.index import EmbeddingIndex

    rng = np.random.default_rng(5)
    x = rng.standard_normal((6000, 16)).astype(np.float32)
    with EmbeddingIndex.create(tmp_path / "big.idx", 16, encoding="sq8", ivf_lists=64) as ix:
        ix.train(x)
        ix.add(x, labels=[f"w{i}" for i in range(len(x))], namespace="kw")
        ids, labels = ix.entries("kw")
        assert len(ids) == 6000 and labels[4321] == "w4321" and list(ids[:3]) == [0, 1, 2]
        _, sids, _ = ix.search(x[0], k=6000, namespace="kw")
        assert (sids[0] >= 0).sum() < 6000  # what the old listing saw
        assert len(ix.entries("")[0]) == 6000 and len(ix.entries("other")[0]) == 0


def test_channels_first_array_is_rejected_not_silently_empty(speech_dev):
    """np.stack([a, a]) is (channels, frames): it used to decode to '' (issue #20 item 4)."""
    import numpy as np
    import soundfile as sf

    import echoic

    a, rate = sf.read(speech_dev / "ljspeech__LJ001-0002.wav", dtype="float32")
    rec = echoic.Recognizer("echoic-small-en")
    with pytest.raises(echoic.InvalidArgumentError, match="channels-first.*array.T"):
        rec.transcribe(np.stack([a, a]), rate)
    assert rec.transcribe(np.stack([a, a]).T, rate).text == rec.transcribe(a, rate).text
    tiny_stereo = np.zeros((1, 2), dtype=np.float32)  # one frame of stereo stays valid
    assert echoic.audio.from_array(tiny_stereo, 16000, downmix=True).samples.shape == (1,)


def test_kws_open_vocabulary_finds_or_says_so(shared_dir, capsys):
    clip = str(shared_dir / "eval" / "keywords" / "multiple_keywords.wav")
    argv = ["kws", "--open-vocabulary", "--keywords", "porcupine,terminator", clip]
    assert cli.main(argv + ["--asr-model", "echoic-small-en"]) == 0
    out, err = capsys.readouterr()
    assert out or "none of porcupine, terminator found" in err



def test_kws_open_vocabulary_defaults_to_the_default_recognizer(shared_dir, whisper_dir, monkeypatch, capsys):
    """With whisper as the default recognizer (the [whisper] extra) the keywords are heard."""
    from echoic import registry

    monkeypatch.setattr(registry, "default_model", lambda: str(whisper_dir))
    clip = str(shared_dir / "eval" / "keywords" / "multiple_keywords.wav")
    assert cli.main(["kws", "--open-vocabulary", "--keywords", "porcupine,terminator", clip]) == 0
    found = {line.split("\t")[1] for line in capsys.readouterr().out.splitlines()}
    assert found == {"porcupine", "terminator"}


def test_vad_reads_audio_like_every_command(tmp_path, speech_dev, capsys, monkeypatch):
    """Truncated, missing and 44.1 kHz files behave as for transcribe (issue #20 item 6)."""
    import soundfile as sf

    monkeypatch.delenv("ECHOIC_VAD_MODEL", raising=False)
    clip = speech_dev / "ljspeech__LJ001-0002.wav"
    short = tmp_path / "short.wav"
    short.write_bytes(clip.read_bytes()[:100])
    assert cli.main(["vad", str(short)]) != 0
    err = capsys.readouterr().err
    assert "short.wav" in err and len(err.strip().splitlines()) == 1
    assert cli.main(["vad", str(tmp_path / "missing.wav")]) != 0
    assert "no such file" in capsys.readouterr().err
    a, rate = sf.read(clip, dtype="float32")
    cd = tmp_path / "cd.wav"
    x = echoic.audio.from_array(a, rate, target_rate=44100).samples
    sf.write(cd, x, 44100)
    assert cli.main(["vad", str(cd), "--method", "energy"]) == 0  # no model needed, any rate
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(len(line.split("\t")) == 2 for line in lines)
    # the default (Silero) works with no configuration: the model is bundled (item 5)
    assert cli.main(["vad", str(cd)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(len(line.split("\t")) == 2 for line in lines)
    assert echoic.Recognizer("echoic-small-en", vad="silero").transcribe(clip).text  # no vad_model needed


def test_exit_codes_and_one_line_errors(tmp_path, speech_dev):
    """0 ok, 1 runtime failure, 2 usage; no tracebacks (issue #20 item 9)."""
    import os
    import subprocess
    import sys

    def run(*argv, env=None, shell_pipe=None):
        e = dict(os.environ, **(env or {}))
        return subprocess.run([sys.executable, "-m", "echoic", *argv], capture_output=True, text=True, env=e,
                              timeout=300)

    r = run("info", env={"ECHOIC_ORT_LIBRARY": "/nonexistent.so"})
    assert r.returncode == 1 and "onnxruntime: not loaded" in r.stdout
    r = run("transcribe", str(tmp_path / "missing.wav"), "--model", "echoic-small-en")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    r = run("transcribe", "--no-such-option", "a.wav")
    assert r.returncode == 2
    r = run("kws")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_broken_pipe_is_quiet(speech_dev):
    import os
    import subprocess
    import sys

    files = sorted(str(p) for p in speech_dev.glob("*.wav"))[:6]
    cmd = [sys.executable, "-m", "echoic", "transcribe", "--model", "echoic-small-en", *files]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    p.stdout.readline()
    p.stdout.close()  # like `| head -1`
    err = p.stderr.read().decode()
    p.wait(timeout=300)
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_ctrl_c_during_a_batch_is_one_line(speech_dev, monkeypatch, capsys):
    from echoic.cli import transcribe as transcribe_cli

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(transcribe_cli, "_make_recognizer", interrupted)
    assert cli.main(["transcribe", str(speech_dev / "ljspeech__LJ001-0002.wav")]) == 130
    assert capsys.readouterr().err.strip() == "echoic: interrupted"


def test_mic_without_portaudio_is_one_line(monkeypatch, capsys):
    import builtins
    import sys

    real_import = builtins.__import__

    def no_portaudio(name, *a, **k):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *a, **k)

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_portaudio)
    assert cli.main(["mic", "--duration", "1"]) == 1
    assert "PortAudio" in capsys.readouterr().err
    assert cli.main(["kws", "--mic"]) == 1
    assert "PortAudio" in capsys.readouterr().err


def test_personalize_without_onnx_is_a_typed_error(monkeypatch):
    import sys

    from echoic.kws import model as kws_model

    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx -> ImportError
    with pytest.raises(echoic.UnsupportedError, match=r"echoic\[personalize\]"):
        kws_model.KwsNet.from_onnx("model.onnx")


def test_download_progress_true_is_accepted(monkeypatch, tmp_path):
    from echoic import registry

    with pytest.raises(echoic.NotFoundError):  # not a TypeError from calling True
        registry.download("no-such-model", progress=True, cache=tmp_path, manifest=[])
    with pytest.raises(echoic.InvalidArgumentError, match="progress"):
        registry.download("no-such-model", progress="yes", cache=tmp_path)
    assert callable(registry.stderr_progress("x"))


def test_keyword_events_report_the_peak_not_the_threshold_crossing(shared_dir):
    """Time and score of a detection do not move with the threshold (issue #20 item 10)."""
    from echoic import kws

    clip = shared_dir / "eval" / "keywords" / "multiple_keywords.wav"
    runs = {}
    for thr in (0.5, 0.7, 0.9):
        events = kws.KeywordSpotter(None, thresholds=thr).spot(clip)
        runs[thr] = {(e.keyword, round(e.time, 3)): e.score for e in events}
    for thr in (0.5, 0.7):  # every detection at the highest threshold is the same event at lower ones
        for key, score in runs[0.9].items():
            assert runs[thr].get(key) == score, (thr, key)
    # chunking still gives identical events
    import soundfile as sf

    a, rate = sf.read(clip, dtype="float32")
    sp = kws.KeywordSpotter(None, thresholds=0.7)
    for i in range(0, len(a), 1234):
        sp.accept(a[i:i + 1234], rate)
    sp.finish()
    assert {(e.keyword, round(e.time, 3)): e.score for e in sp.events()} == runs[0.7]


def test_models_list_shows_the_keyword_model_and_eval_has_a_default(capsys, monkeypatch, tmp_path):
    assert cli.main(["models", "list"]) == 0
    assert any(line.startswith("echoic-kws-en") for line in capsys.readouterr().out.splitlines())
    args = cli.build_parser().parse_args(["eval", "--set", str(tmp_path)])
    assert args.model is None  # resolved to registry.default_model() when run


def test_many_files_output_dir_stdin_and_json_schema(speech_dev, tmp_path, capsys, monkeypatch):
    """Issue #20 item 8: -o/--output-dir, '-' for stdin, JSON schema and segment end, no timing unless asked."""
    import io
    import json
    import sys

    a = str(speech_dev / "ljspeech__LJ001-0002.wav")
    b = str(speech_dev / "ljspeech__LJ001-0003.wav")
    m = ["--model", "echoic-small-en"]
    assert cli.main(["transcribe", a, b, "--srt", *m]) == 2  # would run two documents together
    assert "--output-dir" in capsys.readouterr().err
    out = tmp_path / "out"
    assert cli.main(["transcribe", a, b, "--srt", "-o", str(out), *m]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["ljspeech__LJ001-0002.srt", "ljspeech__LJ001-0003.srt"]
    assert all((out / n).read_text().startswith("1\n") for n in os.listdir(out))
    assert capsys.readouterr().out == ""

    assert cli.main(["transcribe", a, "--json", *m]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == 2 and "rtf" not in doc and all("end" in s for s in doc["segments"])
    assert cli.main(["transcribe", a, "--json", "--timing", *m]) == 0
    assert "rtf" in json.loads(capsys.readouterr().out)

    with open(a, "rb") as f:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(f.read())))
    assert cli.main(["transcribe", "-", "--json", *m]) == 0
    from_stdin = json.loads(capsys.readouterr().out)
    assert from_stdin["file"] == "-" and from_stdin["text"] == doc["text"]


def test_readme_states_the_shipped_model_sizes():
    """Issue #20 item 11: the README said 3.5 MB and 1.1 MB for 5.11 MB and 1.53 MB files."""
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    readme = (repo / "README.md").read_text(encoding="utf-8")
    for name in ("echoic-small-en", "echoic-tiny-en"):
        mb = (repo / "sdk" / "echoic" / "models" / name / "model.onnx").stat().st_size / 1e6
        assert f"{mb:.2f} MB" in readme, (name, mb)
    assert "Exit codes" in readme and "--output-dir" in readme


def test_speaker_cli_runs_with_the_bundled_model(tmp_path, shared_dir, capsys, monkeypatch):
    """Issue #20 item 5: no --model, no $ECHOIC_SPEAKER_MODEL: the bundled d-vector model,
    byte-identical to the one the benchmarks used."""
    import hashlib

    from echoic import speaker

    monkeypatch.delenv("ECHOIC_SPEAKER_MODEL", raising=False)
    bundled = speaker.default_model_path()
    shared = shared_dir / "models" / "speaker-dvector" / "embedder.int8.onnx"
    digest = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()  # noqa: E731
    assert digest(bundled) == digest(shared)
    spk = shared_dir / "eval" / "speaker"
    idx = str(tmp_path / "s.idx")
    assert cli.main(["speaker", "enroll", str(spk / "speaker_1_utt_1.wav"), "--index", idx, "--name", "one"]) == 0
    assert cli.main(["speaker", "identify", str(spk / "speaker_1_test_utt.wav"), "--index", idx]) == 0
    assert capsys.readouterr().out.splitlines()[-1].split("\t")[1] == "one"
    assert speaker.SpeakerModel().dim == 256


def test_segments_arrive_lazily_with_progress(speech_dev):
    """'Also expected': results while a long file is decoded, with a progress callback."""
    import numpy as np

    rec = echoic.Recognizer("echoic-small-en")
    clips = [echoic.audio.read(speech_dev / f"ljspeech__LJ001-000{i}.wav", target_rate=16000) for i in (1, 2, 3)]
    silence = np.zeros(16000 * 3, dtype=np.float32)  # pauses long enough to end utterances
    audio = np.concatenate([x for c in clips for x in (c.samples, silence)])
    seen = []
    it = rec.segments(audio, 16000, progress=lambda done, total: seen.append((done, total)))
    first = next(it)
    assert first.is_final and first.text and seen[-1][0] < seen[-1][1]  # before the end was read
    rest = list(it)
    assert seen[-1][0] == seen[-1][1] and all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))
    assert [r.text for r in [first, *rest]] == [r.text for r in rec.transcribe(audio, 16000).segments]


def test_old_cli_module_paths_still_work_with_a_warning():
    import importlib
    import sys

    for old, new in (("echoic.transcribe_cli", "echoic.cli.transcribe"), ("echoic.models_cli", "echoic.cli.models")):
        sys.modules.pop(old, None)
        with pytest.warns(DeprecationWarning, match=new):
            mod = importlib.import_module(old)
        assert mod is importlib.import_module(new)
