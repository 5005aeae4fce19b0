#!/usr/bin/env python3
"""Where the bytes go: echoic vs sherpa-onnx on the same streaming model, and echoic's
Whisper vs faster-whisper on the same weights.

Every figure comes from a fresh subprocess that reads its own /proc/self/status
(VmRSS, VmHWM = peak, RssAnon, RssFile) after each stage, and /proc/self/smaps to
attribute file-backed pages to the ONNX Runtime library and the engine's own binary.
Medians over --repeats runs.

    python3 benchmarks/memory/bench_memory.py [--repeats 3] [--out benchmarks/memory/RESULTS.md]
    python3 benchmarks/memory/bench_memory.py --only levers   # echoic's session levers only

The streaming scenario is the one bench_streaming.py runs (its engine drivers are
imported, not copied): 12 speech-dev clips in 100 ms chunks, greedy, no LM, one
thread, both engines on the libonnxruntime bundled with sherpa-onnx.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "benchmarks" / "asr"))
sys.path.insert(0, str(ROOT / "benchmarks" / "whisper"))
MODEL = ROOT / "sdk" / "echoic" / "models" / "echoic-small-en"
CLIPS = 12


def status() -> dict:
    """This process's memory now, MB."""
    out = {}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
            out[key] = int(value.split()[0]) / 1024
    return out


def file_rss() -> dict:
    """Resident MB of file-backed mappings, grouped: ORT library, engine binary, model files, other."""
    groups = {"ort_lib": 0.0, "engine_lib": 0.0, "model_files": 0.0, "other_files": 0.0}
    path = None
    for line in open("/proc/self/smaps"):
        head = line.split()
        if len(head) >= 5 and "-" in head[0] and ":" not in head[0]:
            path = head[5] if len(head) >= 6 else None
        elif head and head[0] == "Rss:" and path and path.startswith("/"):
            name = os.path.basename(path)
            kb = int(head[1]) / 1024
            if "libonnxruntime" in name or "onnxruntime_pybind11" in name:
                groups["ort_lib"] += kb
            elif name.startswith(("_echoic", "libechoic", "_sherpa_onnx", "libsherpa", "libctranslate2", "_ext")):
                groups["engine_lib"] += kb
            elif name.endswith((".onnx", ".ort", ".bin")):
                groups["model_files"] += kb
            else:
                groups["other_files"] += kb
    return groups


STAGES: list = []


def mark(name: str) -> None:
    STAGES.append({"stage": name, **status(), **file_rss()})


# ---------------------------------------------------------------- child scenarios

def load_clips(n: int):
    import bench_streaming as bs  # numpy + soundfile: part of the baseline every engine pays

    return bs.load_clips(n)


def parse_opts(pairs):
    opts = {}
    for p in pairs or []:
        k, _, v = p.partition("=")
        opts[k] = {"true": True, "false": False}.get(v.lower(), int(v) if v.isdigit() else v)
    return opts


def import_engine(engine: str, opts: dict) -> None:
    if engine == "echoic":
        import functools

        import echoic

        mark("import engine")
        echoic.ort_library_info()  # loads libonnxruntime
        mark("ORT library loaded")
        if opts:  # a lever: bench_streaming's driver builds the Recognizer, with these options added
            echoic.Recognizer = functools.partial(echoic.Recognizer, **opts)
    else:
        import sherpa_onnx  # noqa: F401

        mark("import engine")
        mark("ORT library loaded")  # sherpa-onnx's module links it: loaded by the import


def child_clips(engine: str, opts: dict) -> dict:
    """The 12 clips one after another through one recognizer, driven by bench_streaming.py's
    single-stream loop (greedy, no LM, endpointing off, 1 thread): the issue's headline figure."""
    import bench_streaming as bs

    clips = load_clips(CLIPS)
    mark("python + numpy + soundfile + audio")
    import_engine(engine, opts)
    fn = bs.run_echoic if engine == "echoic" else bs.run_sherpa
    c0 = time.process_time()
    r = fn(str(MODEL), 1, clips, "single", 1, True)
    cpu = time.process_time() - c0  # includes the load: same for both engines' share of it
    mark("12 clips transcribed")
    audio = sum(len(x) / sr for _, x, sr in clips)
    return {"rtf": r["rtf"], "cpu_rtf": cpu / audio, "texts": r["texts"]}


def child_streams(engine: str, n: int, opts: dict) -> dict:
    """Load, decode a first chunk, then n concurrent streams fed 2 s of speech each, batched."""
    clips = load_clips(1)
    x = clips[0][1]
    mark("python + numpy + soundfile + audio")
    import_engine(engine, opts)
    if engine == "echoic":
        import echoic

        rec = echoic.Recognizer(str(MODEL), threads=1, endpoint=False, decoding="greedy", lm=None)
        create, accept = rec.create_stream, lambda s, a: s.accept_waveform(a, 16000)

        def decode(ss):
            while True:
                ready = [s for s in ss if s.is_ready]
                if not ready:
                    return
                rec.decode(ready)
    else:
        import sherpa_onnx

        info = json.loads(os.environ["BENCH_MODEL_INFO"])
        rec = sherpa_onnx.OnlineRecognizer.from_wenet_ctc(
            tokens=str(MODEL / "tokens.txt"), model=str(MODEL / "model.onnx"), chunk_size=info["chunk_size"],
            num_left_chunks=info["num_left_chunks"], num_threads=1)
        create, accept = rec.create_stream, lambda s, a: s.accept_waveform(16000, a)

        def decode(ss):
            while True:
                ready = [s for s in ss if rec.is_ready(s)]
                if not ready:
                    return
                rec.decode_streams(ready)
    mark("recognizer loaded")
    first = create()
    accept(first, x[:16000])
    decode([first])
    mark("first chunk decoded")
    ss = [create() for _ in range(n)]
    mark(f"{n} streams created")
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(0, 32000, 1600):
        for s in ss:
            accept(s, x[i : i + 1600])
        decode(ss)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    mark(f"{n} streams after 2 s of audio")
    # CPU seconds per audio second: on a shared machine far steadier than wall time (1 thread).
    return {"streams_per_rt": n * 2.0 / wall, "cpu_rtf": cpu / (n * 2.0)}


def child_whisper(engine: str, opts: dict) -> dict:
    """Whole-file transcription of the 12 clips (bench_whisper.py's way), after a warm-up."""
    import bench_whisper as bw
    import numpy as np  # noqa: F401
    import soundfile  # noqa: F401

    items = bw.clips()[:CLIPS]
    mark("python + numpy + soundfile + audio")
    t0 = time.perf_counter()
    if engine == "faster-whisper":
        from faster_whisper import WhisperModel

        mark("import engine")
        model = WhisperModel(str(bw.ct2_dir()), device="cpu", compute_type="int8", cpu_threads=1)
        mark("recognizer loaded")
        list(model.transcribe(str(items[0][0]), beam_size=1, language="en")[0])
        mark("first file transcribed")
        for path, _, _ in items:
            " ".join(s.text for s in model.transcribe(str(path), beam_size=1, language="en")[0])
    else:
        import echoic

        mark("import engine")
        echoic.ort_library_info()
        mark("ORT library loaded")
        rec = echoic.Recognizer("whisper-tiny.en", threads=1, decoding="greedy", **opts)
        mark("recognizer loaded")
        rec.transcribe(str(items[0][0]))
        mark("first file transcribed")
        for path, _, _ in items:
            rec.transcribe(str(path))
    mark("12 files transcribed")
    return {"seconds": time.perf_counter() - t0}


def child_main(args) -> None:
    opts = parse_opts(args.opt)
    if args.scenario == "clips":
        extra = child_clips(args.engine, opts)
    elif args.scenario == "streams":
        extra = child_streams(args.engine, args.streams, opts)
    else:
        extra = child_whisper(args.engine, opts)
    print("RESULT " + json.dumps({"stages": STAGES, **extra}))


# ---------------------------------------------------------------- parent

ORT_LIBRARY = ""
PACKAGE_ORT = ""
MODEL_INFO = None


def spawn(engine: str, scenario: str, streams: int = 1, opts=()) -> dict:
    cmd = [sys.executable, __file__, "--child", "--engine", engine, "--scenario", scenario,
           "--streams", str(streams)] + [a for o in opts for a in ("--opt", o)]
    env = dict(os.environ, BENCH_MODEL_INFO=MODEL_INFO or "{}", OMP_NUM_THREADS="1")
    # Streaming: sherpa-onnx's bundled ORT for both engines; Whisper: the onnxruntime package's
    # (bench_whisper.py's setup).
    env["ECHOIC_ORT_LIBRARY"] = PACKAGE_ORT if scenario == "whisper" else ORT_LIBRARY
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    line = [l for l in p.stdout.splitlines() if l.startswith("RESULT ")]
    if p.returncode != 0 or not line:
        raise SystemExit(f"{engine} {scenario} {opts} failed:\n{p.stderr[-3000:]}")
    return json.loads(line[0][7:])


def medians(runs: list) -> dict:
    """Stage-by-stage medians over runs (same stages in each run)."""
    out = {"stages": []}
    for i, st in enumerate(runs[0]["stages"]):
        row = {"stage": st["stage"]}
        for k in st:
            if k != "stage":
                row[k] = statistics.median(r["stages"][i][k] for r in runs)
        out["stages"].append(row)
    for k in ("seconds", "rtf", "cpu_rtf", "streams_per_rt"):
        if k in runs[0]:
            out[k] = statistics.median(r[k] for r in runs)
    return out


def run(engine, scenario, repeats, streams=1, opts=()):
    return medians([spawn(engine, scenario, streams, opts) for _ in range(repeats)])


def stage_table(title: str, result: dict) -> list:
    lines = [f"### {title}", "",
             "| stage | RSS | added | anon | file | of which ORT lib | engine lib | model files | peak (VmHWM) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    prev = None
    for st in result["stages"]:
        added = st["VmRSS"] - prev if prev is not None else 0.0
        lines.append(f"| {st['stage']} | {st['VmRSS']:.1f} | {added:+.1f} | {st['RssAnon']:.1f} | {st['RssFile']:.1f} "
                     "| "
                     f"{st['ort_lib']:.1f} | {st['engine_lib']:.1f} | {st['model_files']:.1f} | {st['VmHWM']:.1f} |")
        prev = st["VmRSS"]
    return lines + [""]


def last(result: dict, key: str) -> float:
    return result["stages"][-1][key]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--engine", default="echoic")
    ap.add_argument("--scenario", default="clips")
    ap.add_argument("--streams", type=int, default=1)
    ap.add_argument("--opt", action="append", help="Recognizer keyword for echoic, key=value")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", choices=["all", "streaming", "levers", "whisper"], default="all")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if args.child:
        return child_main(args)

    global ORT_LIBRARY, MODEL_INFO, PACKAGE_ORT
    import onnxruntime
    import sherpa_onnx

    PACKAGE_ORT = str(sorted((Path(onnxruntime.__file__).parent / "capi").glob("libonnxruntime.so*"))[-1])
    ORT_LIBRARY = str(sorted((Path(sherpa_onnx.__file__).parent / "lib").glob("libonnxruntime.so*"))[-1])
    MODEL_INFO = subprocess.run(
        [sys.executable, "-c", "import json,echoic,sys;print(json.dumps(echoic.Recognizer(sys.argv[1]).model_info))",
         str(MODEL)], capture_output=True, text=True, check=True, env=dict(os.environ, ECHOIC_ORT_LIBRARY=ORT_LIBRARY)
    ).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    lines = []

    def say(s=""):
        print(s, flush=True)
        lines.append(s)

    say(f"# Memory benchmark ({_dt.date.today()})")
    say()
    say(f"Machine: {cpu}, {os.cpu_count()} cores. Medians of {args.repeats} fresh processes per row. MB = 2^20 bytes. "
        "`added` = RSS growth since the previous stage; anon/file from /proc/self/status (RssAnon, RssFile); "
        "the ORT-lib / engine-lib / model-file columns are resident file-backed pages from /proc/self/smaps.")
    say()
    if args.only in ("all", "streaming"):
        say(f"## Streaming: {MODEL.name}, {CLIPS} speech-dev clips, 100 ms chunks, greedy, 1 thread, whole process")
        say()
        e = run("echoic", "clips", args.repeats)
        s = run("sherpa", "clips", args.repeats)
        pe, ps = last(e, "VmHWM"), last(s, "VmHWM")
        say("| engine | peak RSS (VmHWM) | steady RSS after | anon | file | real-time factor | CPU s per audio s |")
        say("| --- | --- | --- | --- | --- | --- | --- |")
        for name, r in (("echoic", e), ("sherpa-onnx", s)):
            say(f"| {name} | {last(r, 'VmHWM'):.1f} | {last(r, 'VmRSS'):.1f} | {last(r, 'RssAnon'):.1f} | "
                f"{last(r, 'RssFile'):.1f} | {r['rtf']:.4f} | {r['cpu_rtf']:.4f} |")
        say()
        say(f"Peak ratio echoic / sherpa-onnx: {pe / ps:.3f} (target <= 0.8).")
        say()
        say("### Stage by stage: load, first chunk, then 100 concurrent streams (2 s of audio each, batched)")
        say()
        per = {}
        for eng, title in (("echoic", "echoic"), ("sherpa", "sherpa-onnx")):
            one, hundred = run(eng, "streams", args.repeats, 1), run(eng, "streams", args.repeats, 100)
            per[title] = (one, hundred)
            for line in stage_table(title, hundred):
                say(line)
        say("| engine | RSS, 1 stream | RSS, 100 streams | per extra stream (KB) | peak, 100 streams "
            "| 100 streams: CPU s per audio s |")
        say("| --- | --- | --- | --- | --- | --- |")
        for title, (one, hundred) in per.items():
            kb = (last(hundred, "VmRSS") - last(one, "VmRSS")) / 99 * 1024
            say(f"| {title} | {last(one, 'VmRSS'):.1f} | {last(hundred, 'VmRSS'):.1f} | {kb:.0f} | "
                f"{last(hundred, 'VmHWM'):.1f} | {hundred['cpu_rtf']:.4f} |")
        say()
    if args.only in ("all", "levers"):
        say("## echoic session levers (same streaming scenario; each row one option changed from the default)")
        say()
        say("| lever | 12 clips: peak RSS | steady RSS | anon | RTF | CPU s per audio s | 100 streams: RSS | peak "
            "| x real time | CPU s per audio s |")
        say("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for label, opts in LEVERS:
            r = run("echoic", "clips", args.repeats, opts=opts)
            h = run("echoic", "streams", args.repeats, 100, opts=opts)
            say(f"| {label} | {last(r, 'VmHWM'):.1f} | {last(r, 'VmRSS'):.1f} | {last(r, 'RssAnon'):.1f} | "
                f"{r['rtf']:.4f} | {r['cpu_rtf']:.4f} | {last(h, 'VmRSS'):.1f} | {last(h, 'VmHWM'):.1f} | "
                f"{h['streams_per_rt']:.0f} | {h['cpu_rtf']:.4f} |")
        say()
    if args.only in ("all", "whisper"):
        say("## Whisper tiny.en (int8, greedy, 1 thread, 12 files whole, after one warm-up file)")
        say()
        w = run("echoic", "whisper", args.repeats)
        f = run("faster-whisper", "whisper", args.repeats)
        for line in stage_table("echoic", w) + stage_table("faster-whisper", f):
            say(line)
        say(f"Peak RSS: echoic {last(w, 'VmHWM'):.1f} MB, faster-whisper {last(f, 'VmHWM'):.1f} MB, ratio "
            f"{last(w, 'VmHWM') / last(f, 'VmHWM'):.3f} (target <= 0.8). Time for the 12 files: echoic "
            f"{w['seconds']:.1f} s, faster-whisper {f['seconds']:.1f} s.")
        say()
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")


# Recognizer keyword options compared in the levers table (label, ("key=value", ...)).
LEVERS = [
    ("defaults (max_batch chosen by the model: 1 here; pre-packing on, arena on)", ()),
    ("max_batch=4", ("max_batch=4",)),
    ("max_batch=8 (the default until #22's streaming half)", ("max_batch=8",)),
    ("cpu_mem_arena=False", ("cpu_mem_arena=false",)),
    ("shared_arena=True", ("shared_arena=true",)),
    ("mem_pattern=False", ("mem_pattern=false",)),
    ("prepacking=False", ("prepacking=false",)),
]

if __name__ == "__main__":
    main()
