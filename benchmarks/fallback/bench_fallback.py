#!/usr/bin/env python3
"""Memory-pressure fallback benchmark: what each tier costs in memory, how fast a
stream moves to the fallback tier, and what the fallback costs in accuracy.

  * peak RSS per tier: each tier alone in a fresh subprocess, transcribing the
    dev set (ru_maxrss minus the RSS after ORT was loaded), plus the RSS after
    loading and after one decode with the ORT CPU arena on and off;
  * switch latency: from signal_memory_pressure("low") to the next partial
    result, which already comes from the new tier (the small tier is loaded
    by the signal, the stream's open segment re-decoded at the partial);
  * WER of each tier alone and of a run that switches mid-file.

    python3 benchmarks/fallback/bench_fallback.py [--tiers BIG SMALL] [--trials 20] \
        [--out benchmarks/fallback/RESULTS.md]

Tiers default to the bundled models in sdk/echoic/models/ when there are two
or more, else the random-weight test tiers in tests/data (whose WER is
meaningless: random weights; they show the mechanics and the memory/latency).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("ECHOIC_SHARED_DIR", ROOT.parent / "shared"))
DEV = SHARED / "eval" / "speech-dev"
CHUNK_MS = 100

CHILD = r"""
import json, resource, sys, time
import numpy as np, soundfile as sf
import echoic
from echoic.adaptive import process_rss
tier, other, files = sys.argv[1], sys.argv[2], sys.argv[3:]
echoic.Session(sys.argv[0] if False else %(warm)r)  # ORT library + environment first
base = process_rss()
# Profile with the tier not loaded: a 1-byte budget starts the pool on the last tier (the other one).
prof_rec = echoic.AdaptiveRecognizer([tier, other], memory_budget=1, system_probes=False, poll_interval=0)
prof = dict(prof_rec._r.profile_tier(0))
del prof_rec
rec = echoic.Recognizer(tier)
t0 = time.perf_counter(); audio = 0.0; hyps = []
for f in files:
    x, sr = sf.read(f, dtype="float32"); audio += len(x) / sr
    hyps.append(rec.transcribe(x, sr, chunk_ms=%(chunk)d).text)
el = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"peak_rss": peak - base, "profile": prof, "rtf": el / audio, "hyps": hyps}))
"""


def default_tiers() -> tuple[list[Path], str]:
    models = ROOT / "sdk" / "echoic" / "models"
    found = sorted((d for d in models.glob("*") if (d / "model.onnx").is_file()),
                   key=lambda d: -(d / "model.onnx").stat().st_size) if models.is_dir() else []
    if len(found) >= 2:
        return found[:2], "bundled models (sdk/echoic/models)"
    return [ROOT / "tests/data/asr-random-wenet-large", ROOT / "tests/data/asr-random-wenet"], \
        "random-weight test tiers (tests/data; WER is meaningless)"


def dev_set(limit: int) -> tuple[list[Path], list[str]]:
    rows = [l.split("\t") for l in (DEV / "transcripts.tsv").read_text().splitlines()[1:] if l.strip()]
    rows = rows[:limit]
    return [DEV / r[0] for r in rows], [r[3] for r in rows]


def mb(b: float) -> str:
    return f"{b / 2**20:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiers", nargs=2, type=Path)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--files", type=int, default=22)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT / "sdk"))
    import soundfile as sf

    import echoic
    from echoic.text import normalize, wer

    tiers, which = (list(a.tiers), "given on the command line") if a.tiers else default_tiers()
    files, refs = dev_set(a.files)
    warm = ROOT / "tests" / "data" / "linear.onnx"

    # 1. memory + accuracy per tier, each in its own process
    per = {}
    for i, t in enumerate(tiers):
        other = tiers[1 - i]
        p = subprocess.run([sys.executable, "-c", CHILD % {"warm": str(warm), "chunk": CHUNK_MS}, str(t), str(other),
                            *map(str, files)], capture_output=True, text=True, env=dict(os.environ))
        if p.returncode != 0:
            sys.exit(f"tier {t}: {p.stderr[-2000:]}")
        d = json.loads(p.stdout.strip().splitlines()[-1])
        d["wer"] = wer([normalize(r) for r in refs], [normalize(h) for h in d["hyps"]])
        per[t.name] = d

    # 2. switch latency: signal -> next partial from the new tier; the small tier
    #    loaded at the signal (cold) or kept loaded beforehand (preload_fallback)
    x, sr = sf.read(files[0], dtype="float32")
    step = sr * CHUNK_MS // 1000
    latency = {}
    for preload in (False, True):
        lat, lat_signal, redecoded, released = [], [], [], []
        for k in range(a.trials):
            rec = echoic.AdaptiveRecognizer(tiers, poll_interval=0, system_probes=False, endpoint=False,
                                            preload_fallback=preload)
            s = rec.create_stream()
            cut = step * (10 + (k * 7) % max(1, (len(x) // step - 12)))  # switch points spread over the file
            for i in range(0, cut, step):
                s.accept_waveform(x[i:i + step], sr)
                rec.decode_available(s)
            t0 = time.perf_counter()
            rec.signal_memory_pressure("low")
            t1 = time.perf_counter()
            part = s.partial()
            t2 = time.perf_counter()
            assert part.model == tiers[1].name, part.model
            lat.append(t2 - t0)
            lat_signal.append(t1 - t0)
            redecoded.append(rec.counters["redecoded_seconds"])
            released.append(rec.tier_stats(0)["released_bytes"])  # RSS the big tier's unload gave back
        latency[preload] = (lat, lat_signal, redecoded, released)

    # 3. a run that switches mid-file, for WER: every file switches at its middle
    hyps = []
    for f in files:
        y, r = sf.read(f, dtype="float32")
        rec = echoic.AdaptiveRecognizer(tiers, poll_interval=0, system_probes=False)
        s = rec.create_stream()
        out = []
        for i in range(0, len(y), step):
            if i >= len(y) // 2 and rec.current_tier == tiers[0].name:
                rec.signal_memory_pressure("low")
            s.accept_waveform(y[i:i + step], r)
            rec.decode_available(s)
            out += s.pop_final_results()
        s.input_finished()
        rec.decode_available(s)
        out += s.pop_final_results()
        hyps.append(" ".join(o.text for o in out if o.text))
    switched_wer = wer([normalize(r) for r in refs], [normalize(h) for h in hyps])

    lines = []
    lines.append(f"tiers: {', '.join(t.name for t in tiers)} ({which}); {len(files)} dev files; chunks {CHUNK_MS} ms")
    lines.append("")
    lines.append("| tier | model MB | peak RSS MB (dev set) | load MB arena on / off | after 1st decode MB on / off | "
                 "RTF | WER |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- |")
    for t in tiers:
        d = per[t.name]
        pr = d["profile"]
        lines.append(f"| {t.name} | {mb((t / 'model.onnx').stat().st_size)} | {mb(d['peak_rss'])} | "
                     f"{mb(pr['load_bytes_arena'])} / {mb(pr['load_bytes_no_arena'])} | "
                     f"{mb(pr['run_bytes_arena'])} / {mb(pr['run_bytes_no_arena'])} | {d['rtf']:.3f} | "
                     f"{d['wer']:.3f} |")
    lines.append(f"| switched mid-file | | | | | | {switched_wer:.3f} |")
    lines.append("")
    def q(v, p):
        return sorted(v)[min(len(v) - 1, int(p * len(v)))]

    lines.append(f"Switch latency, signal_memory_pressure('low') -> next partial from '{tiers[1].name}' "
                 f"({a.trials} trials each, switch points spread over a {len(x) / sr:.1f} s file):")
    lines.append("")
    lines.append("| small tier | re-decoded s | median ms | p90 ms | max ms | signal alone (median ms) "
                 "| RSS returned by unloading the big tier (median MB) |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- |")
    for preload, (lat, lat_signal, redecoded, released) in latency.items():
        lines.append(f"| {'preloaded (preload_fallback=True)' if preload else 'loaded at the signal'} | "
                     f"{min(redecoded):.1f}-{max(redecoded):.1f} | {statistics.median(lat) * 1000:.1f} | "
                     f"{q(lat, 0.9) * 1000:.1f} | {max(lat) * 1000:.1f} | {statistics.median(lat_signal) * 1000:.1f} | "
                     f"{mb(statistics.median(released))} |")
    table = "\n".join(lines)
    print(table)
    if a.out:
        head = (f"# Memory-pressure fallback benchmark\n\n"
                f"Machine: {platform.machine()}, {os.cpu_count()} cores "
                f"({platform.processor() or platform.platform()}), "
                f"Python {platform.python_version()}, onnxruntime {echoic.ort_version()}; "
                f"date {_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}.\n\n"
                f"Command: `python3 benchmarks/fallback/bench_fallback.py --trials {a.trials} --out {a.out}`\n\n")
        notes = ("\n\nNotes: peak RSS is each tier alone in a fresh process, minus the RSS once ONNX Runtime was "
                 "loaded (so it is the model + decoding cost, not Python's). 'load MB' / 'after 1st decode MB' come "
                 "from ModelPool::Profile (RSS deltas; the arena grows on the first run). The switch latency is "
                 "dominated by loading the small tier when it is not preloaded, and that varies with CPU contention "
                 "on this shared 2-core machine; re-decoding the buffered audio on the small tier is the rest. "
                 "'RSS returned' is the RSS drop measured around the big tier's unload + malloc_trim(0).\n")
        a.out.write_text(head + table + notes)


if __name__ == "__main__":
    main()
