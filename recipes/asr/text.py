"""Training-side text: the package's normalizer plus the character vocabulary.

The normalizer lives in sdk/echoic/text.py (evaluation reuses it). It is loaded
by file path so the recipe works without the compiled `_echoic` module.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

_SDK_TEXT = Path(__file__).resolve().parents[2] / "sdk" / "echoic" / "text.py"
_spec = importlib.util.spec_from_file_location("echoic_text", _SDK_TEXT)
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)

normalize = _mod.normalize
wer = _mod.wer
edit_distance = _mod.edit_distance

BLANK = "<blk>"
WORD_START = "\u2581"  # SentencePiece-style word boundary, printed as a space by sherpa-onnx
# id 0 blank, id 1 word boundary, then apostrophe and a-z.
TOKENS = [BLANK, WORD_START] + list(_mod.ALPHABET[-1] + _mod.ALPHABET[:-1])
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
