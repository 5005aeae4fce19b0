#!/usr/bin/env python3
"""Streaming ASR benchmark: echoic vs sherpa-onnx on the same model files and audio.

Each engine runs in its own subprocess (so peak RSS is its own); figures are
medians over repeats and are printed as ratios echoic / sherpa-onnx.

    python3 benchmarks/asr/bench_streaming.py --model DIR [--repeats 3] [--out benchmarks/asr/RESULTS.md]
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("ECHOIC_SHARED_DIR", ROOT.parent / "shared"))
CHUNK_MS = 100


def load_clips(n: int):
    d = SHARED / "eval" / "speech-dev"
    files = sorted(p for p in d.glob("*.wav"))[:n]
    return [(p.name, *sf.read(p, dtype="float32")) for p in files]


def run_echoic(model_dir: str, threads: int, clips, mode: str, streams: int, batch: bool):
    import echoic

    # Greedy and no word LM: the decoding sherpa-onnx runs on the same files.
    rec = echoic.Recognizer(model_dir, threads=threads, endpoint=False, max_batch=32 if batch else 1,
                            decoding="greedy", lm=None)
    return _drive(rec, clips, mode, streams,
                  create=lambda: rec.create_stream(),
                  accept=lambda s, x, sr: s.accept_waveform(x, sr),
                  finish=lambda s: s.input_finished(),
                  ready=lambda s: s.is_ready,
                  decode=lambda ss: rec.decode(ss),
                  partial=lambda s: s.partial().text,
                  final=lambda s: " ".join(r.text for r in s.pop_final_results() if r.text))


def run_sherpa(model_dir: str, threads: int, clips, mode: str, streams: int, batch: bool):
    import sherpa_onnx

    info = json.loads(subprocess.run([sys.executable, "-c",
        "import json,echoic,sys;print(json.dumps(echoic.Recognizer(sys.argv[1]).model_info))", model_dir],
        capture_output=True, text=True, check=True).stdout)
    rec = sherpa_onnx.OnlineRecognizer.from_wenet_ctc(
        tokens=str(Path(model_dir) / "tokens.txt"), model=str(Path(model_dir) / "model.onnx"),
        chunk_size=info["chunk_size"], num_left_chunks=info["num_left_chunks"], num_threads=threads)
    pad = np.zeros(int(info["chunk_frames"] * 160), dtype=np.float32)

    def finish(s):
        s.accept_waveform(16000, pad)  # same tail padding as echoic applies
        s.input_finished()

    return _drive(rec, clips, mode, streams,
                  create=lambda: rec.create_stream(),
                  accept=lambda s, x, sr: s.accept_waveform(sr, x),
                  finish=finish,
                  ready=lambda s: rec.is_ready(s),
                  decode=lambda ss: rec.decode_streams(ss) if len(ss) > 1 else rec.decode_stream(ss[0]),
                  partial=lambda s: rec.get_result(s),
                  final=lambda s: rec.get_result(s))


def _drive(rec, clips, mode, n_streams, create, accept, finish, ready, decode, partial, final):
    out = {}
    if mode == "single":
        texts, lat, first_partial, audio_s, wall = [], [], [], 0.0, 0.0
        for _name, x, sr in clips:
            s = create()
            step = sr * CHUNK_MS // 1000
            t0 = time.perf_counter()
            fp = None
            for i in range(0, len(x), step):
                accept(s, x[i : i + step], sr)
                while ready(s):
                    c0 = time.perf_counter()
                    decode([s])
                    lat.append(time.perf_counter() - c0)
                if fp is None and partial(s).strip():
                    fp = (i + step) / sr  # audio position when the first words appeared
            finish(s)
            while ready(s):
                decode([s])
            wall += time.perf_counter() - t0
            audio_s += len(x) / sr
            texts.append(final(s).strip())
            first_partial.append(fp if fp is not None else float("nan"))
        out.update(rtf=wall / audio_s, lat_p50=float(np.percentile(lat, 50)) * 1e3,
                   lat_p99=float(np.percentile(lat, 99)) * 1e3,
                   first_partial=float(np.nanmedian(first_partial)), texts=texts)
    else:
        name, x, sr = clips[0]
        ss = [create() for _ in range(n_streams)]
        step = sr * CHUNK_MS // 1000
        t0 = time.perf_counter()
        for i in range(0, len(x), step):
            for s in ss:
                accept(s, x[i : i + step], sr)
            while True:
                rd = [s for s in ss if ready(s)]
                if not rd:
                    break
                decode(rd)
        for s in ss:
            finish(s)
        while True:
            rd = [s for s in ss if ready(s)]
            if not rd:
                break
            decode(rd)
        wall = time.perf_counter() - t0
        out.update(streams_per_rt=n_streams * (len(x) / sr) / wall)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["engine_rss_mb"] = out["peak_rss_mb"] - BASE_RSS_MB
    return out


BASE_RSS_MB = 0.0


def child(args):
    global BASE_RSS_MB
    clips = load_clips(args.clips)
    # What the interpreter, numpy and the audio already hold, before either engine is imported.
    BASE_RSS_MB = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    fn = run_echoic if args.engine == "echoic" else run_sherpa
    print(json.dumps(fn(args.model, args.threads, clips, args.mode, args.streams, args.batch)))


ORT_LIBRARY = None  # set in main(): the ONNX Runtime build echoic loads


def spawn(model, engine, threads, mode, streams=1, batch=True, clips=8):
    cmd = [sys.executable, __file__, "--child", "--engine", engine, "--model", model, "--threads", str(threads),
           "--mode", mode, "--streams", str(streams), "--clips", str(clips)] + (["--batch"] if batch else [])
    env = dict(os.environ)
    if ORT_LIBRARY:
        env["ECHOIC_ORT_LIBRARY"] = ORT_LIBRARY
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise SystemExit(f"{engine} child failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "sdk" / "echoic" / "models" / "echoic-small-en"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--out", default=None)
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--engine", default="echoic")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mode", default="single")
    ap.add_argument("--streams", type=int, default=1)
    ap.add_argument("--batch", action="store_true")
    ap.add_argument("--ort", choices=["sherpa", "own"], default="sherpa",
                    help="sherpa: echoic loads the libonnxruntime bundled with sherpa-onnx, so both engines run "
                         "the same ONNX Runtime build; own: echoic's usual resolution (the onnxruntime package)")
    args = ap.parse_args()
    if args.child:
        return child(args)
    global ORT_LIBRARY
    if args.ort == "sherpa":
        import sherpa_onnx

        libs = sorted((Path(sherpa_onnx.__file__).parent / "lib").glob("libonnxruntime.so*"))
        if not libs:
            raise SystemExit("sherpa-onnx's bundled libonnxruntime not found; use --ort own")
        ORT_LIBRARY = str(libs[-1])

    lines = []
    def say(s=""):
        print(s, flush=True)
        lines.append(s)

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except Exception:
        pass
    say(f"# Streaming ASR benchmark ({_dt.date.today()})")
    say(f"machine: {cpu}, {os.cpu_count()} cores; model: {Path(args.model).name}; "
        f"{args.clips} speech-dev clips fed in {CHUNK_MS} ms chunks; medians of {args.repeats} runs; "
        "ONNX Runtime: "
        f"{'the build bundled with sherpa-onnx, for both engines' if ORT_LIBRARY else 'echoic: onnxruntime package'}")
    say()
    say("| metric | threads | echoic | sherpa-onnx | ratio echoic/sherpa |")
    say("| --- | --- | --- | --- | --- |")
    same_text = True
    for threads in (1, 2):
        e = [spawn(args.model, "echoic", threads, "single", clips=args.clips) for _ in range(args.repeats)]
        s = [spawn(args.model, "sherpa", threads, "single", clips=args.clips) for _ in range(args.repeats)]
        same_text &= e[0]["texts"] == s[0]["texts"]
        for key, label in (("rtf", "real-time factor"), ("lat_p50", "chunk latency p50 (ms)"),
                           ("lat_p99", "chunk latency p99 (ms)"), ("first_partial", "first partial at audio s"),
                           ("peak_rss_mb", "peak RSS, whole process (MB)"),
                           ("engine_rss_mb", "peak RSS added by the engine (MB)")):
            a, b = median_of(e, key), median_of(s, key)
            say(f"| {label} | {threads} | {a:.4g} | {b:.4g} | {a / b:.3f} |")
    say()
    say(f"identical transcripts: {same_text}")
    say()
    say("| concurrent streams | echoic batched (x real time) | echoic unbatched | sherpa-onnx |")
    say("| --- | --- | --- | --- |")
    for n in (1, 8, 32, 100):
        def streams_per_rt(engine, batched, n=n):
            runs = [spawn(args.model, engine, 1, "multi", n, batched) for _ in range(args.repeats)]
            return median_of(runs, "streams_per_rt")

        eb, eu, sh = streams_per_rt("echoic", True), streams_per_rt("echoic", False), streams_per_rt("sherpa", True)
        say(f"| {n} | {eb:.1f} | {eu:.1f} | {sh:.1f} |")
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
