"""Cross-speaker keyword lookup by example: the Whisper word embeddings (echoic.kws.lookup)
against the log-mel template and d-vector baselines (baselines.py), in the same run.

TTS part: every voice of tts_corpus.py in turn enrolls all keywords (one clip each, the word
alone); the streams of every *other* voice are scanned. A hit is a detection of the keyword whose
midpoint lies inside a true occurrence (+-0.2 s); every other detection is a false alarm. FA/h is
per keyword per hour of scanned speech. Real part: porcupine.wav enrolls, multiple_keywords.wav is
scanned (porcupine at ~5.8 s and ~35.4 s, the starts of the two occurrences).

    PYTHONPATH=sdk:<build>/python python3 benchmarks/lookup/bench_lookup.py [--quick] [--methods awe,template,dvector]
        [--awe-options '{"projection": null}']   # the seeded random projection instead of the learned one
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Tuple

import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import tts_corpus  # noqa: E402

SHARED = Path(os.environ.get("ECHOIC_SHARED_DIR", HERE.parents[1].parent / "shared"))
# Porcupine starts in multiple_keywords.wav (listened to; labels.tsv gives only the order).
REAL_PORCUPINE = [(5.4, 6.7), (35.0, 36.3)]


def _fresh(d: Path, name: str) -> Path:
    p = d / name
    for f in (p, Path(str(p) + ".wal"), Path(str(p) + ".lock")):
        if f.exists():
            f.unlink()
    return p


class Awe:
    def __init__(self, d: Path, tag: str, **opts):
        from echoic.kws.lookup import KeywordLookup
        # The floor a user gets by default (the projection file's), reported beside the sweep.
        with KeywordLookup(_fresh(d, f"awe-default-{tag}.idx"), **opts) as probe:
            self.default_floor = float(probe.options["min_threshold"])
        self.kl = KeywordLookup(_fresh(d, f"awe-{tag}.idx"), min_threshold=-1.0, **opts)
        learned = bool(self.kl.options["projection"])
        self.name = f"whisper-awe, {'learned' if learned else 'random'} projection ({self.kl.embedding_id})"

    def enroll(self, kw: str, clip: np.ndarray) -> None:
        self.kl.enroll(kw, [clip])

    def detect(self, x: np.ndarray) -> List[Tuple[str, float, float, float, float]]:
        s = self.kl.scanner()
        s.accept(x)
        s.input_finished()
        self.enc_s, self.scan_s = s.encoder_seconds, s.scan_seconds
        # Enrolled with no floor: each detection keeps its calibrated part (thr - floor is >= 0
        # only where the clip's own context raised it), so any floor can be applied afterwards.
        return [(d.keyword, d.start, d.end, d.score, d.threshold) for d in s.take_detections()]

    def bytes(self) -> int:
        return self.kl.bytes_per_example


class Baseline:
    def __init__(self, d: Path, tag: str, method: str):
        from baselines import KeywordLookup
        model = None
        if method == "dvector":
            model = str(HERE.parents[1] / "sdk/echoic/models/speaker-dvector/embedder.int8.onnx")
        self.kl = KeywordLookup(_fresh(d, f"{method}-{tag}.idx"), method=method, model=model)
        self.name = f"{method} (old)"

    def enroll(self, kw: str, clip: np.ndarray) -> None:
        self.kl.enroll(kw, [clip])

    def detect(self, x: np.ndarray):
        return [(d.keyword, d.start, d.end, d.score, -1.0) for d in self.kl.detect(x, threshold=-1.0)]

    def bytes(self) -> int:
        return int(self.kl.index.stored_bytes_per_vector) if hasattr(self.kl.index, "stored_bytes_per_vector") \
            else self.kl.index.dim * 4


def score_stream(stream_dets, occ, floor_of) -> Tuple[int, int]:
    """(hits, false alarms) of one scanned stream: a detection counts when its score is at least
    max(floor_of(keyword), its calibrated threshold); a hit when its midpoint lies inside an
    occurrence of its keyword (+-0.2 s), each occurrence counted once."""
    found, fa = set(), 0
    for kw, a, b, score, thr in stream_dets:
        if score < max(floor_of(kw), thr):
            continue
        mid = (a + b) / 2
        m = [i for i, (k, s, e) in enumerate(occ) if k == kw and s - 0.2 <= mid <= e + 0.2]
        if m:
            found.add(m[0])
        else:
            fa += 1
    return len(found), fa


def sweep(dets, truth, hours, n_kw, floors):
    """(floor, hit rate, FA/h per keyword) for each floor (score_stream's rule)."""
    rows = []
    for f in floors:
        hits, fa, n = 0, 0, 0
        for stream_dets, occ in zip(dets, truth):
            n += len(occ)
            h, a = score_stream(stream_dets, occ, lambda _kw, f=f: f)
            hits, fa = hits + h, fa + a
        rows.append((f, hits / max(n, 1), fa / (hours * n_kw)))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="/tmp/echoic-lookup-tts")
    ap.add_argument("--methods", default="awe,template,dvector")
    ap.add_argument("--quick", action="store_true", help="2 enrollment voices instead of all")
    ap.add_argument("--awe-options", default="{}",
                    help='JSON options for the lookup, e.g. {"projection": null} for the random projection')
    args = ap.parse_args()
    import json
    awe_opts = json.loads(args.awe_options)
    clips, streams = tts_corpus.build(Path(args.corpus))
    voices = list(clips)
    enroll_voices = voices[::4] if args.quick else voices
    audio = {s.voice: sf.read(s.path, dtype="float32")[0] for s in streams}
    work = Path(tempfile.mkdtemp(prefix="bench-lookup-"))
    floors = [round(x, 2) for x in np.arange(0.3, 0.91, 0.05)]
    for m in args.methods.split(","):
        t0 = time.time()
        all_dets, truth, hours, enc_s, scan_s = [], [], 0.0, 0.0, 0.0
        for va in enroll_voices:
            lk = Awe(work, va, **awe_opts) if m == "awe" else Baseline(work, va, m)
            for kw, p in clips[va].items():
                lk.enroll(kw, sf.read(p, dtype="float32")[0])
            for s in streams:
                if s.voice == va:
                    continue
                all_dets.append(lk.detect(audio[s.voice]))
                truth.append(s.words)
                hours += s.duration / 3600
                if m == "awe":
                    enc_s, scan_s = enc_s + lk.enc_s, scan_s + lk.scan_s
            nbytes = lk.bytes()
            lk.kl.close()
        print(f"\n## {lk.name}: {len(enroll_voices)} enrollment voices x {len(voices) - 1} other voices, "
              f"{len(tts_corpus.KEYWORDS)} keywords, {hours * 3600:.0f} s scanned, {nbytes} B per example, "
              f"{time.time() - t0:.0f} s")
        if m == "awe":
            print(f"encoder RTF {enc_s / (hours * 3600):.3f}, scan (projection, windows, index search) RTF "
                  f"{scan_s / (hours * 3600):.3f}")
        print("| floor | hit rate | FA/h per keyword |\n| --- | --- | --- |")
        for f, hr, fa in sweep(all_dets, truth, hours, len(tts_corpus.KEYWORDS), floors):
            print(f"| {f:.2f} | {hr:.3f} | {fa:.2f} |")
        fine = sweep(all_dets, truth, hours, len(tts_corpus.KEYWORDS), [x / 100 for x in range(30, 96)])
        ok = [r for r in fine if r[2] <= 1.0]
        if ok:
            f, hr, fa = max(ok, key=lambda r: (r[1], -r[0]))
            print(f"best hit rate at <= 1 FA/h: {hr:.3f} (floor {f:.2f}, {fa:.2f} FA/h)")
        if m == "awe":
            (f, hr, fa), = sweep(all_dets, truth, hours, len(tts_corpus.KEYWORDS), [round(lk.default_floor, 2)])
            print(f"at the default floor {f:.2f}: hit rate {hr:.3f}, {fa:.2f} FA/h")
        # Real clips.
        lk = Awe(work, "real", **awe_opts) if m == "awe" else Baseline(work, "real", m)
        lk.enroll("porcupine", sf.read(SHARED / "eval/keywords/porcupine.wav", dtype="float32")[0])
        d = lk.detect(sf.read(SHARED / "eval/keywords/multiple_keywords.wav", dtype="float32")[0])
        top = sorted(d, key=lambda r: -r[3])[:5]
        print("real: multiple_keywords.wav top peaks (start s: score): "
              + ", ".join(f"{a:.1f}: {sc:.3f}" for _, a, _, sc, _ in top))
        lk.kl.close()
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
