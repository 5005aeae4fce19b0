"""The README's first snippets run exactly as printed (issue #20 item 11): the shell block of
"Set up and test" after the install, and the Python block of "Streaming recognition in Python",
in a folder holding a real `speech.wav`, with a private model cache."""
from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _blocks(section: str, lang: str):
    text = (REPO / "README.md").read_text(encoding="utf-8")
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{lang}\n(.*?)```", body, flags=re.S)


def _env(tmp_path: Path) -> dict:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "echoic"  # the console script, for a source tree on PYTHONPATH
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m echoic \"$@\"\n")
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    env = dict(os.environ, ECHOIC_CACHE=str(tmp_path / "cache"))
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    return env


def test_readme_quick_start_runs_as_printed(tmp_path, speech_dev):
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(speech_dev / "ljspeech__LJ001-0002.wav", work / "speech.wav")
    env = _env(tmp_path)
    shell = _blocks("Set up and test", "bash")[1]  # the block after `pip install`
    assert "echoic info" in shell and "echoic transcribe speech.wav" in shell
    r = subprocess.run(["bash", "-e", "-c", shell], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "onnxruntime:" in r.stdout
    from echoic.registry import default_model

    whisper = default_model().startswith("whisper")  # with the [whisper] extra; else the weak bundled model
    assert "comparatively modern" in r.stdout.lower() or not whisper

    (python_block,) = _blocks("Streaming recognition in Python", "python")
    r = subprocess.run([sys.executable, "-c", python_block], cwd=work, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "final" in r.stdout and ("modern" in r.stdout.lower() or not whisper)
