#!/usr/bin/env python3
"""Word bigram LM for CTC beam search, written as ARPA (read by echoic's WordLm).

Text: the *training* pool of fortune sentences (data.sentence_pools: the synthetic test
sentences are never seen). Lexicon: those words plus the SCOWL `wamerican` list, so
the decoder can spell common words the text never uses. Unigrams: add-k smoothing over
the lexicon; bigrams: absolute discounting (D = 0.75) with back-off to unigrams, bigrams
seen fewer than --min-count times pruned (their mass goes to the back-off).

    python3 recipes/asr/lm.py --out sdk/echoic/models/echoic-small-en/lm.arpa
"""
from __future__ import annotations

import argparse
import collections
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import sentence_pools, word_list  # noqa: E402


def build(sentences: list[str], lexicon_extra: list[str], k: float = 0.5, discount: float = 0.75,
          min_count: int = 2) -> tuple[dict, dict, dict]:
    """(log10 unigram probs, log10 back-offs, log10 bigram probs); '<s>'/'</s>' included."""
    uni = collections.Counter()
    bi = collections.Counter()
    for s in sentences:
        w = ["<s>"] + s.split() + ["</s>"]
        uni.update(w[1:])
        bi.update(zip(w[:-1], w[1:]))
    vocab = set(uni) | set(lexicon_extra)
    vocab.discard("<s>")
    total = sum(uni.values())
    denom = total + k * len(vocab)
    p1 = {w: (uni[w] + k) / denom for w in vocab}
    history = collections.Counter()
    for (v, _w), c in bi.items():
        history[v] += c
    p2, kept_mass, kept_uni = {}, collections.defaultdict(float), collections.defaultdict(float)
    for (v, w), c in bi.items():
        if c < min_count:
            continue
        p = (c - discount) / history[v]
        p2[(v, w)] = p
        kept_mass[v] += p
        kept_uni[v] += p1[w]
    backoff = {}
    for v in set(history):
        # Mass left for unseen (or pruned) followers, spread by the unigram distribution.
        backoff[v] = (1.0 - kept_mass[v]) / max(1.0 - kept_uni[v], 1e-12)
    log10 = math.log10
    return ({w: log10(p) for w, p in p1.items()}, {v: log10(b) for v, b in backoff.items()},
            {vw: log10(p) for vw, p in p2.items()})


def write_arpa(path: Path, uni: dict, backoff: dict, bi: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f"\\data\\\nngram 1={len(uni) + 1}\nngram 2={len(bi)}\n\n\\1-grams:\n")
        f.write(f"-99\t<s>\t{backoff.get('<s>', 0.0):.4f}\n")
        for w in sorted(uni):
            b = backoff.get(w)
            f.write(f"{uni[w]:.4f}\t{w}" + (f"\t{b:.4f}\n" if b is not None else "\n"))
        f.write("\n\\2-grams:\n")
        for (v, w) in sorted(bi):
            f.write(f"{bi[(v, w)]:.4f}\t{v} {w}\n")
        f.write("\n\\end\\\n")
    tmp.replace(path)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--min-count", type=int, default=2, help="prune bigrams seen fewer times")
    a = ap.parse_args(argv)
    _, _test, train = sentence_pools()
    uni, backoff, bi = build(train, word_list(), min_count=a.min_count)
    write_arpa(a.out, uni, backoff, bi)
    print(f"{a.out}: {len(train)} sentences, {len(uni)} words, {len(bi)} bigrams, "
          f"{a.out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
