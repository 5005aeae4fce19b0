"""Presets: try a fixed ladder of compression recipes, keep the most accurate one that meets a size
and/or speed target, and plot accuracy against size for every candidate tried."""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Dict, List, Optional

from ..errors import InvalidArgumentError, NotFoundError, UnsupportedError

# Cheapest to most aggressive; every candidate is measured, none is assumed.
CANDIDATES: List[Dict] = [
    {"quantize": "int8"},
    {"quantize": "int4"},
    {"quantize": "int4", "asymmetric": True},
    {"quantize": "int4", "asymmetric": True, "block_size": 128, "float16": True},
    {"quantize": "int4", "keep_float": 2},
    {"quantize": "int4", "low_rank": 0.95},
    {"prune_ffn": 0.25, "quantize": "int4"},
    {"prune_ffn": 0.25, "low_rank": 0.9, "quantize": "int4"},
    {"prune_ffn": 0.5, "quantize": "int4", "float16": True},
    # the tiny-tier recipe: a quarter of the feed-forward channels, SVD at 60 %, every weight in 4 bits
    {"prune_ffn": 0.75, "low_rank": 0.6, "quantize": "int4", "asymmetric": True, "block_size": 64,
     "quantize_conv": True, "float16": True},
    # the same size without SVD: half the attention heads, an eighth of the feed-forward channels, a
    # quarter of the conv1 -> conv2 channels (echoic streaming models only: others skip it)
    {"prune_heads": 0.5, "prune_ffn": 0.875, "prune_conv": 0.75, "quantize": "int4", "asymmetric": True,
     "block_size": 64, "quantize_conv": True, "float16": True},
]

PRUNING = ("prune_ffn", "prune_conv", "prune_heads", "low_rank")


def _label(c: Dict) -> str:
    parts = []
    if c.get("prune_ffn"):
        parts.append(f"prune {int(100 * c['prune_ffn'])}%")
    if c.get("prune_conv"):
        parts.append(f"conv {int(100 * c['prune_conv'])}%")
    if c.get("prune_heads"):
        parts.append(f"heads {int(100 * c['prune_heads'])}%")
    if c.get("low_rank"):
        parts.append(f"svd {int(100 * c['low_rank'])}%")
    if c.get("recover"):
        parts.append(f"recover {c['recover']:g} min")
    parts.append(c["quantize"] + (" asym" if c.get("asymmetric") else "") +
                 (f"/{c['block_size']}" if c.get("block_size") else "") +
                 (f" +{c['keep_float']} float" if c.get("keep_float") else "") +
                 (" +conv" if c.get("quantize_conv") else ""))
    if c.get("float16"):
        parts.append("fp16")
    return " + ".join(parts) + (" (data-aware" + (", refit)" if c.get("refit") else ")") if c.get("data_aware") else "")


def search(model, out, *, target_size: Optional[int] = None, target_rtf: Optional[float] = None,
           calibration=None, eval_set=None, threads: int = 1, recover: Optional[float] = None,
           recovery_audio=None) -> Dict:
    """Compress ``model`` with every candidate into ``out/candidates/``; copy the most accurate one meeting
    the targets to ``out``. Accuracy is WER on ``eval_set`` (required: the choice must rest on measured
    accuracy). With ``recover`` (minutes), every pruned or factorized candidate is distilled that long
    on ``recovery_audio`` (default: the calibration audio). Writes ``out/search.json`` and, when
    matplotlib is installed, ``out/search.png``."""
    from . import compress

    if target_size is None and target_rtf is None:
        raise InvalidArgumentError("a search needs --target-size and/or --target-rtf")
    if eval_set is None:
        raise InvalidArgumentError("a search needs --eval DIR (transcripts.tsv): it keeps the most accurate model")
    out = Path(out)
    tried: List[Dict] = []
    skipped: List[Dict] = []
    for i, cand in enumerate(CANDIDATES):
        if cand.get("keep_float") and calibration is None:
            continue
        pruned = any(cand.get(k) for k in PRUNING)
        if calibration is not None and pruned:
            # With audio to fit on, pruning and SVD are data-aware and pruned layers refitted.
            cand = dict(cand, data_aware=True, refit=any(cand.get(k) for k in PRUNING[:3]))
        if recover is not None and pruned:
            cand = dict(cand, recover=recover, recovery_audio=None if recovery_audio is None else str(recovery_audio))
        try:
            r = compress(model, out / "candidates" / f"{i}", calibration=calibration, eval_set=eval_set,
                         threads=threads, measure_every_step=False, **cand)
        except UnsupportedError as e:  # a step this model has nothing for (heads in Whisper)
            skipped.append({"candidate": i, "recipe": _label(cand), "why": str(e)})
            continue
        last = r.stages[-1]
        ok = (target_size is None or last.file_bytes <= target_size) and (target_rtf is None or last.rtf <= target_rtf)
        tried.append({"candidate": i, "recipe": _label(cand), "options": cand, "meets_target": ok,
                      "input": asdict(r.stages[0]), "result": asdict(last)})
    fits = [t for t in tried if t["meets_target"]]
    if not fits:
        smallest = min(tried, key=lambda t: t["result"]["file_bytes"])
        raise NotFoundError(f"no candidate meets the target (smallest: {smallest['recipe']}, "
                            f"{smallest['result']['file_bytes'] / 1e6:.2f} MB, RTF {smallest['result']['rtf']:.4f}); "
                            f"see {out / 'candidates'}")
    best = min(fits, key=lambda t: (t["result"]["wer"], t["result"]["file_bytes"]))
    src = out / "candidates" / str(best["candidate"])
    for f in src.iterdir():
        if f.is_file():
            shutil.copyfile(f, out / f.name)
    summary = {"target_size": target_size, "target_rtf": target_rtf, "chosen": best["recipe"], "tried": tried,
               "skipped": skipped}
    (out / "search.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    summary["plot"] = _plot(tried, best, out / "search.png", target_size)
    return summary


def _plot(tried, best, path: Path, target_size) -> Optional[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    base = tried[0]["input"]
    ax.scatter([base["file_bytes"] / 1e6], [100 * base["wer"]], marker="s", color="black", label="input (float)")
    for t in tried:
        r = t["result"]
        ax.scatter([r["file_bytes"] / 1e6], [100 * r["wer"]], color="tab:green" if t is best else
                   ("tab:blue" if t["meets_target"] else "tab:gray"))
        ax.annotate(t["recipe"], (r["file_bytes"] / 1e6, 100 * r["wer"]), fontsize=7, xytext=(4, 2),
                    textcoords="offset points")
    if target_size:
        ax.axvline(target_size / 1e6, color="tab:red", linestyle="--", linewidth=1, label="target size")
    ax.set_xlabel("model files (MB)")
    ax.set_ylabel("WER (%)")
    ax.set_title("echoic compress: candidates tried (green: chosen)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)
