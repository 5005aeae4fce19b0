"""docs/LIMITS.md is the resource-limits contract: every quoted source line must be in the
code, and a sample of the limits is exercised at its boundary through the public API."""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

import echoic
from echoic.index import EmbeddingIndex

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "LIMITS.md"
# "| ... | `asr/model_metadata.h`: `kMaxLayers = 256` |"
SOURCE = re.compile(r"`([\w/]+\.(?:h|cc))`: `([^`]+)`\s*\|\s*$")


def _rows():
    rows = []
    for line in DOC.read_text().splitlines():
        m = SOURCE.search(line)
        if m:
            rows.append(m.groups())
    return rows


def test_the_contract_lists_every_kind_of_limit():
    text = DOC.read_text()
    for heading in ("## Models", "## Arguments", "## Embedding index"):
        assert heading in text
    assert len(_rows()) >= 40


@pytest.mark.parametrize("path,snippet", _rows(), ids=lambda v: str(v)[:40])
def test_each_quoted_source_line_is_in_the_code(path, snippet):
    code = (ROOT / "csrc" / "echoic" / path).read_text()
    squash = lambda s: re.sub(r"\s+", " ", s)  # noqa: E731 (lines may be wrapped)
    assert squash(snippet) in squash(code), f"docs/LIMITS.md quotes `{snippet}` from {path}, which no longer has it"


def test_index_limits_at_their_boundary(tmp_path):
    EmbeddingIndex.create(tmp_path / "ok.idx", 1024, encoding="flat").close()
    with pytest.raises(echoic.InvalidArgumentError, match="1..1024"):
        EmbeddingIndex.create(tmp_path / "big.idx", 1025, encoding="flat")
    with EmbeddingIndex.create(tmp_path / "a.idx", 4, encoding="flat") as ix:
        x = np.eye(4, dtype=np.float32)
        ix.add(x[:1], labels=["a" * 65536], namespace="n" * 256)
        with pytest.raises(echoic.InvalidArgumentError, match="65536"):
            ix.add(x[1:2], labels=["a" * 65537])
        with pytest.raises(echoic.InvalidArgumentError, match="1..256"):
            ix.add(x[1:2], namespace="n" * 257)
        ix.search(x[0], k=100000, namespace="n" * 256)
        with pytest.raises(echoic.InvalidArgumentError, match="1..100000"):
            ix.search(x[0], k=100001)


def test_recognizer_limits_at_their_boundary():
    rec = echoic.Recognizer("echoic-small-en", nbest=16)
    with pytest.raises(echoic.InvalidArgumentError, match="1..16"):
        echoic.Recognizer("echoic-small-en", nbest=17)
    with pytest.raises(echoic.InvalidArgumentError, match="0..64"):
        echoic.Recognizer("echoic-small-en", beam_size=65)
    max_threads = max(64, 4 * os.cpu_count())
    with pytest.raises(echoic.InvalidArgumentError, match=str(max_threads)):
        echoic.Recognizer("echoic-small-en", threads=max_threads + 1)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = [letters[i % 26] + letters[i // 26 % 26] + letters[i // 676] for i in range(1024)]  # distinct, spellable
    rec.create_stream(hotwords=words)
    with pytest.raises(echoic.InvalidArgumentError, match="1024"):
        rec.create_stream(hotwords=words + ["one more"])
    rec.create_stream(hotwords=["a" * 256])
    with pytest.raises(echoic.InvalidArgumentError, match="256 bytes"):
        rec.create_stream(hotwords=["a" * 257])
