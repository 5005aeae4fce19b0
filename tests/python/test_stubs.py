"""Type stubs of the native module (issue #20 item 12): shipped, complete, and checked by mypy."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import echoic

REPO = Path(__file__).resolve().parents[2]
STUBS = Path(echoic.__file__).resolve().parent / "_echoic.pyi"


def test_stubs_are_shipped_and_name_everything_the_module_has():
    assert STUBS.is_file() and (STUBS.parent / "_native.pyi").is_file() and (STUBS.parent / "py.typed").is_file()
    text = STUBS.read_text()
    missing = [n for n in dir(echoic._native) if not n.startswith("_")
               and f"class {n}(" not in text and f"class {n}:" not in text and f"def {n}(" not in text
               and f"{n}: " not in text]
    assert not missing, f"regenerate with bindings/python/stubgen.py; missing: {missing}"


def _mypy(*files: str):
    pytest.importorskip("mypy")
    env = dict(os.environ)
    # A source tree needs MYPYPATH; an installed package is found through py.typed (and mypy
    # refuses site-packages in MYPYPATH).
    if STUBS.parent.parent.name not in ("site-packages", "dist-packages"):
        env["MYPYPATH"] = str(STUBS.parent.parent)
    return subprocess.run([sys.executable, "-m", "mypy", "--follow-imports=silent", "--ignore-missing-imports",
                           "--no-incremental", "--python-version", "3.11", *files],
                          capture_output=True, text=True, env=env, cwd=REPO / "tests", timeout=600)


def test_mypy_checks_the_public_api_through_the_stubs(tmp_path):
    ok = _mypy("typing/usage.py")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = tmp_path / "bad.py"
    bad.write_text("import echoic\n"
                   "def f(r: echoic.Result) -> int:\n"
                   "    return r.words[0].word\n"           # str, not int: caught only if not Any
                   "def g(e: echoic.KeywordEvent) -> str:\n"
                   "    return e.time\n")
    res = _mypy(str(bad))
    assert res.returncode == 1 and res.stdout.count("error:") == 2, res.stdout
