"""Two ideas for more cross-voice hits at <= 1 FA/h, measured on bench_lookup.py's protocol (every
voice enrolls, the other voices' streams are scanned, the same hit/false-alarm rules):

* ``cohort``: per-keyword thresholds from the keyword's own scores on speech of voices the
  benchmark does not use (10 sentences x 4 espeak-ng voices, 158 s): threshold = mean of its top-N
  peak scores there + c (cohort normalisation, as in speaker verification);
* ``speeds``: each keyword enrolled from its clip plus copies played at other speeds
  (sox ``speed``, 0.9 and 1.1): one more index entry per copy.

Neither is the product's behaviour (RESULTS.md, "Enrollment and threshold experiments", says why).

    PYTHONPATH=sdk:<build>/python python3 benchmarks/lookup/enrollment_experiments.py [--quick] \\
        [--speeds 0.9,1.1] [--corpus /tmp/echoic-lookup-tts]
"""
from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_lookup  # noqa: E402
import tts_corpus  # noqa: E402

COHORT_TEXT = [
    "many people believe that the river will rise again before the spring is over",
    "the committee agreed to publish the report after a long and difficult meeting",
    "he found an old photograph of his grandmother hidden inside a book",
    "our neighbours are building a garden with flowers and a small pond",
    "please remember to switch off the lights when you leave the office",
    "the children played football in the park until it became too dark to see",
    "a famous writer visited the library and talked about her latest novel",
    "the engineers tested the new bridge with heavy trucks and measured everything",
    "she ordered coffee and a sandwich and waited for her friend by the window",
    "scientists discovered a strange signal coming from a distant galaxy",
]
# Voices outside the benchmark's (en-us, en-gb-x-rp, en-gb-scotland, en-029 and flite's).
COHORT_VOICES = [("espeak", "en-gb+m1"), ("espeak", "en-us-nyc+f4"), ("espeak", "en-gb-x-gbclan+m4"),
                 ("espeak", "en+klatt2")]
KEYWORDS = len(tts_corpus.KEYWORDS)


def at_speed(x: np.ndarray, speed: float) -> np.ndarray:
    with tempfile.TemporaryDirectory() as d:
        a, b = Path(d) / "a.wav", Path(d) / "b.wav"
        sf.write(a, x, tts_corpus.RATE)
        subprocess.run(["sox", str(a), str(b), "speed", str(speed), "rate", str(tts_corpus.RATE)], check=True)
        return sf.read(b, dtype="float32")[0]


def run(corpus: Path, quick: bool, speeds):
    """Detections (no floor) per enrollment voice: on the cohort stream and on every other voice's stream."""
    clips, streams = tts_corpus.build(corpus)
    voices = list(clips)
    cohort_path = corpus / "cohort.wav"
    if not cohort_path.exists():
        parts = []
        for v in COHORT_VOICES:
            for t in COHORT_TEXT:
                parts += [tts_corpus.synth(v, t), np.zeros(tts_corpus.RATE // 4, np.float32)]
        sf.write(cohort_path, np.concatenate(parts), tts_corpus.RATE)
    cohort = sf.read(cohort_path, dtype="float32")[0]
    audio = {s.voice: sf.read(s.path, dtype="float32")[0] for s in streams}
    work = Path(tempfile.mkdtemp(prefix="lookup-exp-"))
    out = []
    for va in (voices[::4] if quick else voices):
        lk = bench_lookup.Awe(work, va)
        for kw, p in clips[va].items():
            x = sf.read(p, dtype="float32")[0]
            try:
                lk.kl.enroll(kw, [x] + [at_speed(x, s) for s in speeds])
            except Exception as e:  # a sped-up copy with no speech the VAD finds: the clip alone
                print(f"{va} {kw}: copies not enrolled ({e})")
                lk.kl.enroll(kw, [x])
        scanned = [(lk.detect(audio[s.voice]), s.words, s.duration) for s in streams if s.voice != va]
        out.append((lk.detect(cohort), scanned))
        lk.kl.close()
    return out


def rates(runs, threshold_of):
    """Hit rate and FA/h per keyword when a detection needs score >= threshold_of(cohort stats)[kw]."""
    hits = fa = n = 0
    hours = 0.0
    for coh, scanned in runs:
        thr = threshold_of(coh)
        for dets, occ, dur in scanned:
            hours += dur / 3600
            n += len(occ)
            h, a = bench_lookup.score_stream(dets, occ, lambda kw, thr=thr: thr[kw])
            hits, fa = hits + h, fa + a
    return hits / n, fa / (hours * KEYWORDS)


def best(runs, rule, grid):
    ok = [(*rates(runs, lambda coh, g=g: rule(coh, g)), g) for g in grid]
    ok = [r for r in ok if r[1] <= 1.0]
    return max(ok) if ok else None


def cohort_stats(coh, top):
    by = collections.defaultdict(list)
    for kw, _a, _b, score, _t in coh:
        by[kw].append(score)
    return {k: float(np.mean(sorted(v)[-top:])) for k, v in by.items()}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/echoic-lookup-tts"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--speeds", default="", help="e.g. 0.9,1.1: enroll sped-up copies too")
    args = ap.parse_args()
    speeds = [float(s) for s in args.speeds.split(",") if s]
    runs = run(args.corpus, args.quick, speeds)

    def show(name, r):
        print(f"| {name} | " + ("none <= 1 FA/h" if r is None else f"{r[0]:.3f} | {r[1]:.2f} | {r[2]:.3f}") + " |")

    print(f"\nenrolled copies at speeds {speeds or 'none'}")
    print("| rule | hit rate | FA/h | setting |\n| --- | --- | --- | --- |")
    floors = np.arange(0.5, 0.9, 0.005)
    show("one floor for all keywords (the product's rule)",
         best(runs, lambda coh, f: collections.defaultdict(lambda: f), floors))
    if not speeds:
        for top in (10, 50):
            show(f"cohort: mean of top {top} + c", best(
                runs, lambda coh, c, top=top: collections.defaultdict(
                    lambda: 9.0, {k: m + c for k, m in cohort_stats(coh, top).items()}),
                np.arange(0.0, 0.6, 0.005)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
