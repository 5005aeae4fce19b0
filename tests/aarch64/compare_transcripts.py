"""Compare the C example's transcript of one clip on two builds (x86-64 and aarch64).

    compare_transcripts.py REFERENCE.txt OTHER.txt

The two builds run the same model through different SIMD kernels (AVX2 against NEON), so
sums round differently and a frame where two characters nearly tie can flip: byte-identical
output is the usual result, not a guarantee. What must hold: the same words, give or take one
edit per 10 words, and each word both builds agree on starts and ends within 0.1 s. Prints
what it found; exit status 1 when the transcripts differ more than that.
"""
from __future__ import annotations

import re
import sys

TIMED = re.compile(r"^\s+(-?\d+\.\d+)\s+(-?\d+\.\d+)\s+(\S+)\s*$")


def words(path: str) -> list[tuple[str, float, float]]:
    """The timed words of every segment, in order ("[segment N] text" lines are skipped)."""
    out = []
    for line in open(path, encoding="utf-8"):
        m = TIMED.match(line)
        if m:
            out.append((m.group(3), float(m.group(1)), float(m.group(2))))
    return out


def align(a: list[str], b: list[str]) -> tuple[int, list[tuple[int, int]]]:
    """Word-level edit distance and the pairs of equal words on one optimal alignment."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
    pairs, i, j = [], len(a), len(b)
    while i and j:
        if a[i - 1] == b[j - 1] and d[i][j] == d[i - 1][j - 1]:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif d[i][j] == d[i - 1][j - 1] + 1:
            i, j = i - 1, j - 1
        elif d[i][j] == d[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    return d[len(a)][len(b)], pairs[::-1]


def main(argv: list[str]) -> int:
    ref, other = words(argv[1]), words(argv[2])
    if not ref or not other:
        print(f"compare_transcripts: no timed words in {argv[1] if not ref else argv[2]}")
        return 1
    edits, pairs = align([w for w, _, _ in ref], [w for w, _, _ in other])
    allowed = len(ref) // 10
    drift = max(max(abs(ref[i][1] - other[j][1]), abs(ref[i][2] - other[j][2])) for i, j in pairs) if pairs else 0.0
    print(f"compare_transcripts: {len(ref)} words, {edits} word edits (allowed {allowed}), "
          f"largest time difference of a shared word {drift:.2f} s (allowed 0.10)")
    return 0 if edits <= allowed and drift <= 0.1 + 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
