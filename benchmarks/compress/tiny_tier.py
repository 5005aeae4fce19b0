#!/usr/bin/env python3
"""A tiny tier made by `echoic compress` from echoic-small-en, against the hand-distilled
echoic-tiny-en that ships (#16: at least as accurate, at most its size), measured in one run.

    apt-get install -y espeak-ng flite sox fortunes fortunes-min wamerican asterisk-core-sounds-en-wav
    python3 benchmarks/compress/recovery_audio.py --out /tmp/recovery-audio
    python3 benchmarks/compress/tiny_tier.py --recovery-audio /tmp/recovery-audio --minutes 30 \\
        --out benchmarks/compress/TINY.md   # the defaults: heads 6 -> 3, feed-forward -87.5 %, conv -75 %

Rows: the two bundled tiers as shipped, the compression recipe without recovery, and the same recipe
with ``--minutes`` of recovery (distillation from echoic-small-en on the recovery audio; no
transcripts). Every figure is measured here (echoic.compress.measure_model): file bytes, peak RSS of a
fresh process, WER/CER/RTF on ``--set`` (greedy, one thread). The data-aware steps are fitted on the
calibration audio (shared/eval/speaker + keywords/multiple_keywords.wav), never on ``--set``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from bench_compress import SHARED, _cpu, default_calibration  # noqa: E402

RECIPE = dict(data_aware=True, refit=True, quantize="int4", asymmetric=True, block_size=64, quantize_conv=True,
              float16=True)


def _label(a) -> str:
    cut = [f"feed-forward channels {100 * a.prune_ffn:g} %"]
    if a.prune_conv:
        cut.append(f"convolution channels {100 * a.prune_conv:g} %")
    if a.prune_heads:
        cut.append(f"attention heads {100 * a.prune_heads:g} %")
    svd = f" + SVD {100 * a.low_rank:g} % (data-aware)" if a.low_rank else ""
    return (f"prune {', '.join(cut)} (data-aware, refit){svd} + int4 with zero points (blocks of 64), "
            "convolutions too + float16")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recovery-audio", required=True, type=Path)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--lr", type=float, default=3e-4, help="recovery's peak learning rate")
    ap.add_argument("--blank-weight", type=float, default=1.0, help="recovery's weight of blank frames")
    ap.add_argument("--hidden-weight", type=float, default=3.0, help="recovery's weight of the hidden-state loss")
    ap.add_argument("--prune-ffn", type=float, default=0.875, help="share of feed-forward channels removed")
    ap.add_argument("--prune-conv", type=float, default=0.75, help="share of conv1 -> conv2 channels removed")
    ap.add_argument("--prune-heads", type=float, default=0.5, help="share of every block's attention heads removed")
    ap.add_argument("--low-rank", type=float, default=0.0, help="SVD's kept weight energy (0: no SVD)")
    ap.add_argument("--set", default=str(SHARED / "eval" / "speech-dev"))
    ap.add_argument("--out", type=Path, required=True, help="Markdown file (a .json of the same name is written)")
    a = ap.parse_args(argv)
    from echoic.compress import _clips, _seconds, compress, measure_model
    from echoic.registry import resolve_model

    rows, card = [], ""
    with tempfile.TemporaryDirectory(prefix="echoic-tiny-tier-") as tmp:
        work = Path(tmp)
        calibration = default_calibration(work / "calibration")
        clips = _clips(calibration)
        for name in ("echoic-tiny-en", "echoic-small-en"):
            folder = resolve_model(name)[0].parent
            st, _ = measure_model(folder, name, "as shipped", eval_set=a.set, clips=clips)
            rows.append((f"{name} (bundled, int8)", st))
        r = compress("echoic-small-en", work / "plain", eval_set=a.set, calibration=calibration,
                     measure_every_step=False, prune_ffn=a.prune_ffn, prune_conv=a.prune_conv,
                     prune_heads=a.prune_heads, low_rank=a.low_rank or None, **RECIPE)
        rows.append((f"compress: {_label(a)}", r.stages[-1]))
        t0 = time.monotonic()
        r = compress("echoic-small-en", work / "recovered", eval_set=a.set, calibration=calibration,
                     recover=a.minutes, recovery_audio=a.recovery_audio, recovery_lr=a.lr,
                     recovery_blank_weight=a.blank_weight, recovery_hidden_weight=a.hidden_weight,
                     prune_ffn=a.prune_ffn,
                     prune_conv=a.prune_conv, prune_heads=a.prune_heads, low_rank=a.low_rank or None,
                     **RECIPE)
        took = time.monotonic() - t0
        rows.append((f"compress: the same + recovery {a.minutes:g} min", r.stages[-1]))
        card = r.to_markdown()
        audio_s = _seconds(_clips(a.recovery_audio, limit=5000, what="recovery"))
        recovery = r.recovery
    tiny = rows[0][1]
    lines = ["# A tiny tier by `echoic compress` vs the hand-distilled echoic-tiny-en", "",
             f"Same audio (`{Path(a.set).name}`, {tiny.words} words), one run, greedy decoding by echoic's engine, "
             "one thread; peak RSS: a fresh process loading the model and transcribing the first calibration clip. "
             f"Recovery audio: {audio_s:.0f} s (`{a.recovery_audio.name}`: benchmarks/compress/recovery_audio.py), "
             "no transcripts.", "",
             "| model | files | x tiny | peak RSS | WER | CER | RTF |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, s in rows:
        lines.append(f"| {label} | {s.file_bytes / 1e6:.2f} MB | {s.file_bytes / tiny.file_bytes:.2f} | "
                     f"{s.peak_rss_bytes / 2**20:.1f} MiB | {100 * s.wer:.1f} % | {100 * s.cer:.1f} % | {s.rtf:.4f} |")
    lines += ["", f"Measured {time.strftime('%Y-%m-%d')} on {_cpu()} ({os.cpu_count()} cores, shared machine) by "
              f"`benchmarks/compress/tiny_tier.py --prune-ffn {a.prune_ffn:g} --prune-conv {a.prune_conv:g} "
              f"--prune-heads {a.prune_heads:g} --low-rank {a.low_rank:g} "
              f"--minutes {a.minutes:g} --lr {a.lr:g} --blank-weight {a.blank_weight:g} "
              f"--hidden-weight {a.hidden_weight:g}` ({took / 60:.0f} min for "
              "the recovered run, its measurements included).", "",
              "The recovered run's own card (every step measured):", "", "#" + card]
    a.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    a.out.with_suffix(".json").write_text(json.dumps({"rows": [dict(asdict(s), variant=l) for l, s in rows],
                                                      "recovery": recovery, "minutes": a.minutes}, indent=2),
                                          encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
