"""Training-side text: the package's normalizer plus the character vocabulary.

The normalizer is ``echoic.text`` (evaluation reuses it), which imports without the
compiled core: ``pip install ".[train]"`` or ``PYTHONPATH=sdk`` is all it needs.
"""
from __future__ import annotations

from pathlib import Path

from echoic.text import ALPHABET, edit_distance, normalize, wer

__all__ = ["normalize", "wer", "edit_distance", "encode", "decode", "write_tokens", "TOKENS", "TOKEN_ID", "BLANK",
           "WORD_START"]

BLANK = "<blk>"
WORD_START = "\u2581"  # SentencePiece-style word boundary, printed as a space by sherpa-onnx
# id 0 blank, id 1 word boundary, then apostrophe and a-z.
TOKENS = [BLANK, WORD_START] + list(ALPHABET[-1] + ALPHABET[:-1])
TOKEN_ID = {t: i for i, t in enumerate(TOKENS)}


def encode(text: str) -> list[int]:
    """Normalized text -> token ids; each word is preceded by the boundary token."""
    ids: list[int] = []
    for word in normalize(text).split():
        ids.append(TOKEN_ID[WORD_START])
        ids.extend(TOKEN_ID[c] for c in word)
    return ids


def decode(ids) -> str:
    return "".join(" " if TOKENS[i] == WORD_START else TOKENS[i] for i in ids if i != 0).strip()


def write_tokens(path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for i, t in enumerate(TOKENS):
            f.write(f"{t} {i}\n")
