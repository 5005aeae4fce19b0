#!/usr/bin/env python3
"""Open-vocabulary keyword spotting against the trained spotter, on the same audio.

The open-vocabulary path (echoic.kws.open_vocabulary: the streaming recognizer, CTC prefix beam search
biased towards the keyword texts as hotwords, then an exact match on the recognized words)
needs no keyword model. Here it meets the always-on spotter (echoic-kws-en) on the audio of
bench_kws.py: the >= 1 h negative stream (false alarms per hour), the held-out synthetic
users' test clips (false-reject rate) and the real multiple_keywords.wav (keywords found in
order), at several hotword boosts. The spotter's figures are read from bench_kws.py's
results.json (its base model at <= 0.5 FA/h).

    PYTHONPATH=sdk:build/dev/python python3 benchmarks/kws/bench_open_vocabulary.py \
        --data ~/.cache/echoic/kws-data --out benchmarks/kws/OPEN_VOCABULARY.md
"""
import argparse
import datetime
import json
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_kws as B  # noqa: E402

import echoic  # noqa: E402
from echoic.kws import open_vocabulary  # noqa: E402
from echoic.kws.model import KwsNet  # noqa: E402

SR = B.SR


def in_order(found, expected):
    """Longest common subsequence: how many expected keywords appear in the right order."""
    t = [[0] * (len(expected) + 1) for _ in range(len(found) + 1)]
    for i, f in enumerate(found):
        for j, e in enumerate(expected):
            t[i + 1][j + 1] = t[i][j] + 1 if f == e else max(t[i][j + 1], t[i + 1][j])
    return t[-1][-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.expanduser("~/.cache/echoic/kws-data"))
    ap.add_argument("--asr-model", default="echoic-small-en")
    ap.add_argument("--kws-model", default=os.path.join(B.REPO, "sdk/echoic/models/echoic-kws-en/model.onnx"))
    ap.add_argument("--boosts", default="1.5,3,4.5", help="hotword scores to try")
    ap.add_argument("--beam", type=int, default=8)
    ap.add_argument("--users", type=int, default=5)
    ap.add_argument("--noise-minutes", type=float, default=10.0)
    ap.add_argument("--out", default=os.path.join(HERE, "OPEN_VOCABULARY.md"))
    a = ap.parse_args()

    keywords = KwsNet.from_onnx(a.kws_model).keywords
    stream, _ = B.negative_stream(a.data, a.noise_minutes)
    hours = len(stream) / SR / 3600
    clips, labels, _, per_user = B.user_splits(a.data, keywords, a.users)
    test = [i for v in per_user for i in per_user[v][1]]
    pad_a, pad_b = np.zeros(int(0.4 * SR), np.float32), np.zeros(int(0.8 * SR), np.float32)
    shared = os.path.join(B.SHARED, "eval", "keywords")
    expected = ["porcupine", "americano", "blueberry", "bumblebee", "grapefruit", "grasshopper", "picovoice",
                "porcupine", "terminator"]

    rows = []
    for boost in [float(b) for b in a.boosts.split(",")]:
        rec = echoic.Recognizer(a.asr_model, decoding="beam", beam_size=a.beam, hotword_score=boost, threads=1)
        t0 = time.perf_counter()
        fa = open_vocabulary.spot_open_vocabulary(stream, keywords, sample_rate=SR, recognizer=rec)
        rtf = (time.perf_counter() - t0) / (len(stream) / SR)
        hits = 0
        for i in test:
            ev = open_vocabulary.spot_open_vocabulary(np.concatenate([pad_a, clips[i], pad_b]), keywords,
                                               sample_rate=SR, recognizer=rec)
            hits += any(e.keyword == labels[i] for e in ev)
        mk = [e.keyword for e in open_vocabulary.spot_open_vocabulary(os.path.join(shared, "multiple_keywords.wav"),
                                                                 keywords, recognizer=rec)]
        row = {"boost": boost, "fa_per_hour": len(fa) / hours, "frr": 1 - hits / len(test),
               "false_alarms": len(fa), "by_keyword": {k: sum(e.keyword == k for e in fa) for k in keywords},
               "rtf": rtf, "multiple_keywords": mk,
               "in_order": in_order(mk, expected)}
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k not in ("multiple_keywords", "by_keyword")}), flush=True)

    spotter = {}
    rj = os.path.join(HERE, "results.json")
    if os.path.exists(rj):
        r = json.load(open(rj))["results"]
        spotter = {"base": {k: v for k, v in r["base"].items() if k != "curve"},
                   "multiple_keywords": r["real_clips"]["multiple_keywords.wav"]["base"]}

    lines = [
        "# Open-vocabulary keyword spotting vs the trained spotter",
        "",
        f"- date: {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC; machine: {platform.machine()}, "
        f"{os.cpu_count()} CPUs (shared, busy); one thread",
        f"- open vocabulary: `{a.asr_model}` (beam {a.beam}) with the {len(keywords)} keywords as hotwords, "
        "an event where the recognized words spell a keyword",
        f"- negative stream: {hours:.2f} h (bench_kws.py's, no keyword in it); positives: {len(test)} test clips "
        f"of {len(per_user)} held-out synthetic users; real: multiple_keywords.wav (9 keywords in order)",
        f"- command: `python3 benchmarks/kws/bench_open_vocabulary.py --boosts {a.boosts}`",
        "",
        "| method | false alarms / h | FRR | multiple_keywords.wav in order | compute (x real time) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    if spotter:
        b = spotter["base"]
        lines.append(f"| spotter echoic-kws-en (threshold {b['threshold']:.2f}) | {b['fa_per_hour']:.2f} | "
                     f"{b['frr']:.3f} | {in_order(spotter['multiple_keywords'], expected)}/9 | see RESULTS.md |")
    for r in rows:
        lines.append(f"| open vocabulary, boost {r['boost']:g} | {r['fa_per_hour']:.1f} | {r['frr']:.3f} | "
                     f"{r['in_order']}/9 | {r['rtf']:.4f} |")
    lines += ["", "False alarms on the negative stream by keyword:", ""]
    lines += [f"- boost {r['boost']:g}: " + ", ".join(f"{k} {n}" for k, n in r["by_keyword"].items() if n)
              for r in rows]
    lines += ["", "Keywords the open-vocabulary path reported on multiple_keywords.wav:", ""]
    lines += [f"- boost {r['boost']:g}: {', '.join(r['multiple_keywords']) or '(none)'}" for r in rows]
    lines.append("")
    with open(a.out, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
