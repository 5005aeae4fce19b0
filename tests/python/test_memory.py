"""Memory: the core's report against RSS measured in fresh processes, the CLI that prints it,
and the levers that really lower resident memory. RSS comes from /proc/self/status."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SPEECH = Path(__file__).resolve().parents[2].parent / "shared" / "eval" / "speech-dev"

# Runs in a fresh interpreter: loads echoic-small-en with the given Recognizer options, then
# creates idle streams, then feeds them 1 s of real speech each, reading RSS between steps.
CHILD = r"""
import json, sys
import numpy as np
import soundfile as sf
import echoic

def status():
    out = {}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon"):
            out[key] = int(value.split()[0]) * 1024
    return out

kw, n, wav = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
audio, rate = sf.read(wav, dtype="float32")
# The ORT library, its environment and kernel registry come once per process, not per model
# (the report leaves them out): a first, smaller model pays for them.
warm = echoic.Recognizer("echoic-tiny-en", threads=1, decoding="greedy", lm=None, **kw)
r = {"start": status()}
rec = echoic.Recognizer("echoic-small-en", threads=1, decoding="greedy", lm=None, endpoint=False, **kw)
r["loaded"] = status()
r["report_before_decode"] = rec.memory_report()
streams = [rec.create_stream() for _ in range(n)]
r["idle"] = status()
for s in streams:
    s.accept_waveform(audio[:rate], rate)
while any(s.is_ready for s in streams):
    rec.decode([s for s in streams if s.is_ready])
r["decoded"] = status()
r["report"] = rec.memory_report(n)
r["hashlib_imported"] = "hashlib" in sys.modules
print(json.dumps(r))
"""


def run_child(n: int = 20, **kw) -> dict:
    wav = sorted(SPEECH.glob("*.wav"))[0]
    p = subprocess.run([sys.executable, "-c", CHILD, json.dumps(kw), str(n), str(wav)], capture_output=True,
                       text=True, env=dict(os.environ), timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def default_run() -> dict:
    return run_child()


def test_report_load_figure_matches_measured_rss(default_run):
    r = default_run
    measured = r["loaded"]["VmRSS"] - r["start"]["VmRSS"]
    rep = r["report"]
    assert rep["model_file_bytes"] == sum(
        (Path(__file__).resolve().parents[2] / "sdk" / "echoic" / "models" / "echoic-small-en" / f).stat().st_size
        for f in ("model.onnx",))
    # The core measures the same thing from inside (after trimming the heap): within 20 % + 2 MB.
    assert abs(rep["load_bytes"] - measured) <= 0.2 * measured + (2 << 20), (rep, measured)
    # ORT holds more than the file: weights, pre-packed copies, the graph.
    assert rep["load_bytes"] > rep["model_file_bytes"]


def test_report_first_run_and_streams(default_run):
    r = default_run
    assert r["report_before_decode"]["first_run_bytes"] == -1  # nothing decoded yet
    rep = r["report"]
    assert rep["first_run_bytes"] >= 0
    assert rep["stream_bytes"] > 100_000  # echoic-small-en's attention + conv caches alone are ~480 KB
    # What streams and decoding added, against the report's estimate of it (load excluded).
    measured = r["decoded"]["VmRSS"] - r["loaded"]["VmRSS"]
    estimated = rep["estimated_bytes"] - rep["load_bytes"]
    assert 0.5 * estimated <= measured <= 2.0 * estimated, (measured, estimated, rep)


def test_idle_streams_hold_no_encoder_state(default_run):
    # Lever: caches are allocated by a stream's first chunk, so idle streams cost next to nothing.
    r = default_run
    idle = r["idle"]["VmRSS"] - r["loaded"]["VmRSS"]
    assert idle < 20 * r["report"]["stream_bytes"] / 4, idle


def test_import_does_not_load_hashlib(default_run):
    # Lever: hashlib (libcrypto, ~3.5 MB resident) is imported only where a checksum is computed.
    assert default_run["hashlib_imported"] is False


def test_prepacking_off_lowers_anonymous_rss(default_run):
    off = run_child(n=1, prepacking=False)
    on_anon = default_run["loaded"]["RssAnon"] - default_run["start"]["RssAnon"]
    off_anon = off["loaded"]["RssAnon"] - off["start"]["RssAnon"]
    # echoic-small-en's MatMulNBits packs ~0.6 MB of weights; Whisper's encoder (off by default) far more.
    assert off_anon < on_anon - (256 << 10), (on_anon, off_anon)
    assert off["report"]["load_bytes"] < default_run["report"]["load_bytes"]


def test_memory_report_rejects_negative_streams():
    import echoic

    rec = echoic.Recognizer("echoic-tiny-en", lm=None)
    with pytest.raises(echoic.InvalidArgumentError):
        rec.memory_report(-1)


def test_cli_info_memory():
    p = subprocess.run([sys.executable, "-m", "echoic", "info", "--memory", "echoic-tiny-en", "--streams", "10"],
                       capture_output=True, text=True, env=dict(os.environ), timeout=300)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "memory of" in out and "echoic-tiny-en" in out
    for label in ("model files on disk", "resident after load", "first decode", "per stream",
                  "estimated for 10 stream(s)"):
        assert label in out, out
    line = next(l for l in out.splitlines() if "resident after load" in l)
    assert float(line.split(":")[1].split()[0]) > 0
