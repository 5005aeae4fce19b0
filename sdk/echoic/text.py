"""Text normalization shared by ASR training targets and evaluation (WER).

``normalize("Dr. Smith paid $3.50 on May 1st, 1999!")`` gives
``"dr smith paid three dollars fifty on may first nineteen ninety nine"``.
Output alphabet: lower-case a-z, apostrophe, single spaces. Pure Python, no
dependencies, so the training recipe and the package agree exactly.
"""
from __future__ import annotations

import re
import unicodedata

__all__ = [
    "normalize", "normalize_basic", "number_to_words", "ordinal_to_words", "ALPHABET", "wer", "edit_distance",
    "error_counts",
]

ALPHABET = "abcdefghijklmnopqrstuvwxyz'"

_ONES = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = [(10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand")]
_ORDINAL_IRREGULAR = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    if n >= 100:
        words += [_ONES[n // 100], "hundred"]
        n %= 100
    if n >= 20:
        words.append(_TENS[n // 10])
        n %= 10
        if n:
            words.append(_ONES[n])
    elif n or not words:
        words.append(_ONES[n])
    return words


def number_to_words(n: int) -> str:
    """Cardinal in words: 1234 -> 'one thousand two hundred thirty four'."""
    if not isinstance(n, int):
        raise TypeError(f"number_to_words expects an int, got {type(n).__name__}")
    if n < 0:
        return "minus " + number_to_words(-n)
    if n >= 10**15:  # too long to be read as a number; spell the digits
        return " ".join(_ONES[int(d)] for d in str(n))
    words: list[str] = []
    for value, name in _SCALES:
        if n >= value:
            words += _below_thousand(n // value) + [name]
            n %= value
    if n or not words:
        words += _below_thousand(n)
    return " ".join(words)


def ordinal_to_words(n: int) -> str:
    """Ordinal in words: 21 -> 'twenty first'."""
    words = number_to_words(n).split()
    last = words[-1]
    if last in _ORDINAL_IRREGULAR:
        words[-1] = _ORDINAL_IRREGULAR[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def _year_to_words(n: int) -> str:
    # 1999 -> nineteen ninety nine; 1905 -> nineteen oh five; 1900 -> nineteen hundred
    hi, lo = divmod(n, 100)
    if lo == 0:
        return number_to_words(hi) + " hundred"
    if lo < 10:
        return number_to_words(hi) + " oh " + number_to_words(lo)
    return number_to_words(hi) + " " + number_to_words(lo)


def _digits_to_words(text: str) -> str:
    return " ".join(_ONES[int(d)] for d in text)


def _money(m: re.Match) -> str:
    whole = int(m.group(1).replace(",", ""))
    cents = m.group(2)
    out = number_to_words(whole) + (" dollar" if whole == 1 else " dollars")
    if cents:
        c = int(cents.ljust(2, "0")[:2])
        if c:
            out += " " + number_to_words(c)
    return f" {out} "


def _decimal(m: re.Match) -> str:
    return f" {number_to_words(int(m.group(1).replace(',', '')))} point {_digits_to_words(m.group(2))} "


def _ordinal(m: re.Match) -> str:
    return f" {ordinal_to_words(int(m.group(1)))} "


def _integer(m: re.Match) -> str:
    raw = m.group(0)
    if "," in raw:
        return f" {number_to_words(int(raw.replace(',', '')))} "
    if len(raw) > 1 and raw.startswith("0"):  # codes like 007: read digit by digit
        return f" {_digits_to_words(raw)} "
    n = int(raw)
    if len(raw) == 4 and 1100 <= n <= 1999 or 2010 <= n <= 2099:
        return f" {_year_to_words(n)} "
    return f" {number_to_words(n)} "


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_SYMBOLS = [("&", " and "), ("%", " percent "), ("+", " plus "), ("@", " at ")]
_MONEY_RE = re.compile(r"\$\s?(\d[\d,]*)(?:\.(\d+))?")
_DECIMAL_RE = re.compile(r"(\d[\d,]*)\.(\d+)")
_ORDINAL_RE = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b")
_INTEGER_RE = re.compile(r"\d{1,3}(?:,\d{3})+(?!\d)|\d+")
_NOT_ALLOWED_RE = re.compile(r"[^a-z' ]+")
_EDGE_APOSTROPHE_RE = re.compile(r"(?<![a-z])'|'(?![a-z])")


def normalize(text: str) -> str:
    """Lower-case, spell numbers, drop punctuation; keep in-word apostrophes."""
    if not isinstance(text, str):
        raise TypeError(f"normalize expects str, got {type(text).__name__}")
    # Fold accents (café -> cafe) and typographic apostrophes.
    text = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    for sym, word in _SYMBOLS:
        text = text.replace(sym, word)
    text = _MONEY_RE.sub(_money, text)
    text = _DECIMAL_RE.sub(_decimal, text)
    text = _ORDINAL_RE.sub(_ordinal, text)
    text = _INTEGER_RE.sub(_integer, text)
    text = _NOT_ALLOWED_RE.sub(" ", text)
    # Quotes are not apostrophes: drop ' unless between letters (don't, o'clock).
    text = _EDGE_APOSTROPHE_RE.sub(" ", text)
    return " ".join(text.split())


# ASCII punctuation (Python's string.punctuation), deleted rather than replaced by a space.
_BASIC_DROP = str.maketrans("", "", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def normalize_basic(text: str) -> str:
    """Lower-case and delete ASCII punctuation; numbers stay digits, and 'forty-two'
    becomes 'fortytwo'. The plain scoring behind pocketsphinx's reference figure on
    speech-dev (26.6 %); use ``normalize`` for echoic's own WER."""
    if not isinstance(text, str):
        raise TypeError(f"normalize_basic expects str, got {type(text).__name__}")
    return " ".join(text.lower().translate(_BASIC_DROP).split())


def error_counts(ref: list, hyp: list) -> tuple:
    """(substitutions, deletions, insertions) of a minimum edit alignment; they sum to
    ``edit_distance(ref, hyp)``. Ties prefer substitutions, as sclite does."""
    n, m = len(ref), len(hyp)
    # Each cell: (cost, S, D, I); compare on cost first, then fewer D+I.
    prev = [(j, 0, 0, j) for j in range(m + 1)]
    for i in range(1, n + 1):
        cur = [(i, 0, i, 0)] + [None] * m  # type: ignore[list-item]
        for j in range(1, m + 1):
            c, s, d, ins = prev[j - 1]
            best = (c, s, d, ins) if ref[i - 1] == hyp[j - 1] else (c + 1, s + 1, d, ins)
            c, s, d, ins = prev[j]
            cand = (c + 1, s, d + 1, ins)
            if cand[0] < best[0]:
                best = cand
            c, s, d, ins = cur[j - 1]
            cand = (c + 1, s, d, ins + 1)
            if cand[0] < best[0]:
                best = cand
            cur[j] = best
        prev = cur
    _, s, d, ins = prev[m]
    return s, d, ins


def edit_distance(ref: list, hyp: list) -> int:
    """Levenshtein distance between two token sequences."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def wer(refs: list[str], hyps: list[str]) -> float:
    """Corpus word error rate of normalized texts (errors / reference words)."""
    if len(refs) != len(hyps):
        raise ValueError(f"wer: {len(refs)} references but {len(hyps)} hypotheses")
    errors = words = 0
    for r, h in zip(refs, hyps):
        rw, hw = normalize(r).split(), normalize(h).split()
        errors += edit_distance(rw, hw)
        words += len(rw)
    if words == 0:
        raise ValueError("wer: references contain no words")
    return errors / words
