#!/usr/bin/env python3
"""What the word LM (lm.arpa beside a bundled model) buys and costs: WER, CER and RTF of
greedy search vs beam search + LM on each set, the RSS the LM adds to a loaded recognizer
(fresh process each), and how many reference words lie outside the LM's lexicon.

    python3 benchmarks/asr/bench_word_lm.py --set ../shared/eval/speech-dev \
        --set ~/.cache/echoic/asr-data/test/wav --out benchmarks/asr/WORD_LM.md
"""
import argparse
import datetime
import json
import platform
import subprocess
import sys
from pathlib import Path

import echoic
from echoic import registry
from echoic.evaluate import evaluate, read_transcripts
from echoic.text import normalize

RSS_PROBE = """
import json, os, sys, echoic
rss = lambda: int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20
before = rss()
rec = echoic.Recognizer(sys.argv[1], **json.loads(sys.argv[2]))
print(rss() - before)
"""


def rss_added(model: str, options: dict) -> float:
    out = subprocess.run([sys.executable, "-c", RSS_PROBE, model, json.dumps(options)], check=True,
                         capture_output=True, text=True).stdout
    return float(out.strip())


def lexicon(arpa: Path) -> set:
    words, in_unigrams = set(), False
    for line in open(arpa, encoding="utf-8"):
        if line.startswith("\\"):
            in_unigrams = line.strip() == "\\1-grams:"
            continue
        parts = line.split("\t")
        if in_unigrams and len(parts) >= 2:
            words.add(parts[1].strip())
    return words


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", help="bundled model name (default: both tiers)")
    ap.add_argument("--set", action="append", required=True, help="folder with transcripts.tsv (repeatable)")
    ap.add_argument("--out", default=None, help="write a Markdown report here")
    a = ap.parse_args()
    models = a.model or list(registry.DEFAULT_TIERS)
    lines = [f"# Word LM: greedy vs beam search + LM ({datetime.date.today()})", "",
             f"- machine: {platform.machine()}, {platform.platform()}; echoic {echoic.__version__}; 1 thread; whole "
             "files",
             f"- command: `python3 benchmarks/asr/bench_word_lm.py {' '.join('--set ' + s for s in a.set)}`", "",
             "| model | set | words | out of lexicon | WER greedy | WER beam + LM | CER greedy | CER beam + LM "
             "| RTF greedy | RTF beam + LM |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    rss_rows = []
    for m in models:
        lm_rec = echoic.Recognizer(m)
        if lm_rec.word_lm is None:
            raise SystemExit(f"{m} has no word LM (lm.arpa)")
        words = lexicon(Path(lm_rec.word_lm["path"]))
        greedy_rec = echoic.Recognizer(m, decoding="greedy", lm=None)
        for s in a.set:
            refs = [w for _, ref in read_transcripts(s) for w in normalize(ref).split()]
            oov = sum(w not in words for w in refs)
            g = evaluate(m, s, recognizer=greedy_rec)
            b = evaluate(m, s, recognizer=lm_rec)
            label = "/".join(Path(s).parts[-2:]) if Path(s).name == "wav" else Path(s).name
            row = (f"| {m} | {label} | {g.ref_words} | {100 * oov / len(refs):.1f} % | {100 * g.wer:.1f} % | "
                   f"{100 * b.wer:.1f} % | {100 * g.cer:.1f} % | {100 * b.cer:.1f} % | {g.rtf:.4f} | {b.rtf:.4f} |")
            print(row, flush=True)
            lines.append(row)
        rss_rows.append(f"| {m} | {rss_added(m, {'lm': None}):.1f} | {rss_added(m, {}):.1f} |")
    lines += ["", "RSS added by loading the recognizer (MB, fresh process each):", "",
              "| model | without LM | with LM |", "| --- | ---: | ---: |", *rss_rows, ""]
    print("\n".join(lines[-len(rss_rows) - 3:]))
    if a.out:
        Path(a.out).write_text("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
