"""`echoic compress`: shrink an acoustic model for a device and measure what each step cost.

    echoic compress echoic-small-en --out small-int4 --prune-ffn 0.25 --low-rank 0.95 \\
        --quantize int4 --keep-float 2 --calibration clips/ --eval dev/
    echoic compress echoic-small-en --out tiny --prune-heads 0.5 --prune-ffn 0.875 --prune-conv 0.75 \\
        --data-aware --refit \\
        --recover 20 --recovery-audio speech/ --quantize int4 --asymmetric --block-size 64 \\
        --quantize-conv --float16 --calibration clips/ --eval dev/

Steps run in this order, each optional and each measured (size on disk, weights, peak RSS of a fresh
process that loads the model and decodes one clip, WER/CER and real-time factor on ``eval_set``; CER
against the uncompressed model's own transcripts on ``calibration``):

0. ``window`` (Whisper): a shorter audio window than the model's 30 s, in seconds: the encoder
   attends over fewer frames (window.py);
1. ``prune_ffn`` / ``prune_conv`` / ``prune_heads``: structured pruning of feed-forward hidden
   channels / of the channels between two 1-D convolutions (prune.py) / of whole attention heads,
   the same number from every block of an echoic streaming model (heads.py);
2. ``low_rank``: truncated-SVD factorization of linear layers at an energy target (lowrank.py);
3. ``recover`` (minutes): distillation: the compressed graph's weights are trained with PyTorch to
   reproduce the input model's outputs on ``recovery_audio`` (any speech, no transcripts; default:
   the calibration audio), within that many minutes; kept only if they lower the loss on held-out
   chunks of that audio (recover.py); ``recovery_blank_weight`` < 1 weighs the frames a CTC teacher
   calls blank less than those where it emits a character; ``recovery_hidden_weight`` (default 3; 0:
   outputs only) adds the teacher's residual stream (every block's output) as a target; with
   ``quantize`` too, the training is quantization-aware (weights read through that block grid);
4. ``quantize``: weight-only int8 / int4 with one scale (``asymmetric``: and a zero point) per
   ``block_size`` weights (quantize.py); the
   ``keep_float`` layers that lose most when quantized alone, measured on the calibration audio with
   echoic's engine (sensitivity.py), stay float; with ``quantize_conv`` convolution weights are stored
   in ``bits`` bits too (blocks of ``block_size`` per output channel, unpacked when ONNX Runtime loads
   the model: the file shrinks, compute and memory stay float);
5. ``float16``: float16 storage of the remaining float tensors (file size only: compute stays float32).

``data_aware``: steps 1-2 score channels and heads and take the SVD from the layers' activations on the
calibration audio (the engine transcribes it with the input model; calibrate.py replays the runs)
instead of from the weights alone. ``refit`` (with ``data_aware``): recovery by layer-wise
distillation: each pruned block's output weights are re-solved by least squares so the block
reproduces the input model's output on that audio (the teacher's activations; no transcripts,
no gradient training). Each fitted layer's output error before/after is in compress.json.

A model that is already int8 (the bundled tiers) is first turned back into float weights, so it can be
pruned, factorized or re-quantized to int4. The compressed folder gets ``MODEL_CARD.md`` and
``compress.json`` with every figure (all measured in this run; the source folder is never written).
Needs ``pip install "echoic[compress]"`` (onnx, onnx-ir); ``recover`` needs PyTorch as well.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Optional

from ..errors import CorruptDataError, InvalidArgumentError, UnsupportedError
from .graph import Graph, onnx_module
from .recover import HIDDEN_WEIGHT

__all__ = ["compress", "CompressionReport", "Stage"]


@dataclass
class Stage:
    """One row of the report: the model after a step."""

    step: str
    detail: str
    file_bytes: int
    weight_bytes: int
    peak_rss_bytes: int = -1  # peak RSS of a fresh process that loads the model and decodes one clip
    wer: Optional[float] = None
    cer: Optional[float] = None
    rtf: Optional[float] = None
    words: int = 0
    agreement_cer: Optional[float] = None  # CER against the input model's transcripts (calibration)


@dataclass
class CompressionReport:
    model: str
    out: str
    stages: List[Stage] = field(default_factory=list)
    pruned: List[dict] = field(default_factory=list)
    factorized: List[dict] = field(default_factory=list)
    sensitivity: List[dict] = field(default_factory=list)
    kept_float: List[str] = field(default_factory=list)
    failure_modes: List[str] = field(default_factory=list)
    window: dict = field(default_factory=dict)
    recovery: dict = field(default_factory=dict)
    machine: str = ""

    def to_markdown(self) -> str:
        lines = [f"# Compression of `{Path(self.model).name}`", "",
                 "| step | what | file | weights | peak RSS, load + one clip | WER | CER | RTF | CER vs input |",
                 "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        pct = lambda v: "-" if v is None else f"{100 * v:.1f} %"  # noqa: E731
        for s in self.stages:
            lines.append(f"| {s.step} | {s.detail} | {s.file_bytes / 1e6:.2f} MB | {s.weight_bytes / 1e6:.2f} MB | "
                         f"{'-' if s.peak_rss_bytes < 0 else f'{s.peak_rss_bytes / 2**20:.1f} MiB'} | {pct(s.wer)} | "
                         f"{pct(s.cer)} | {'-' if s.rtf is None else f'{s.rtf:.4f}'} | {pct(s.agreement_cer)} |")
        words = next((s.words for s in self.stages if s.words), 0)
        lines += ["", f"WER/CER: greedy decoding by echoic's engine on the eval set ({words} words); "
                  "CER vs input: character error rate against the uncompressed model's transcripts of the "
                  "calibration clips; RTF: decoding time / audio time, one thread.", ""]
        if self.pruned:
            lines += ["Pruned channels (layer reading them, kept / width, criterion; data-aware: that layer's output "
                      "error on the calibration audio before -> after the refit): " +
                      ", ".join(f"{p['layer']} {p['kept']}/{p['width']} ({p.get('kind', 'feed-forward')}, "
                                f"{p['criterion']}"
                                + ("" if p.get("error") is None else f"; {100 * p['error']:.1f} %"
                                   + ("" if p.get("error_refit") is None else f" -> {100 * p['error_refit']:.1f} %"))
                                + ")" for p in self.pruned), ""]
        if self.factorized:
            lines += ["Factorized layers (rank, kept weight energy, factors from): " +
                      ", ".join(f"{f['layer']} r={f['rank']} ({f['energy']:.3f}, {f.get('criterion', 'weights')})"
                                for f in self.factorized), ""]
        if self.recovery:
            r = self.recovery
            lines += [f"Recovery: {r['steps']} steps of {r['batch']} chunks ({r['epochs']} passes over "
                      f"{r['train_runs']} chunks of {r['audio_seconds']:.0f} s of audio, {r['clips']} clips) in "
                      f"{r['seconds'] / 60:.1f} min, {r['parameters']:,} weights in {r['tensors']} tensors; "
                      f"loss ({r['loss']}) on {r['held_out_runs']} held-out chunks {r['held_out_before']:.4f} -> "
                      f"{r['held_out_after']:.4f}" + ("" if r["kept"] else " (not lower: trained weights dropped)"),
                      ""]
        if self.sensitivity:
            lines += ["Quantization sensitivity, measured (most sensitive first; character errors vs the float "
                      "model when that layer alone is quantized, relative weight error):", "",
                      "| layer | char errors | weight error | kept float |", "| --- | ---: | ---: | --- |"]
            lines += [f"| {s['layer']} | {s['char_errors']} | {s['weight_error']:.4f} | "
                      f"{'yes' if s['layer'] in self.kept_float else ''} |" for s in self.sensitivity]
            lines.append("")
        if self.failure_modes:
            lines += ["Failure modes seen in this run:", ""] + [f"- {f}" for f in self.failure_modes] + [""]
        lines += [f"Measured {time.strftime('%Y-%m-%d')} on {self.machine} by `echoic compress`.", ""]
        return "\n".join(lines)


# Peak RSS (VmHWM: ru_maxrss would survive exec and report the parent's peak) of a fresh process
# that loads the model and transcribes one clip, and its peak before loading.
_RSS_PROBE = """
import sys, echoic
def hwm():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
before = hwm()
rec = echoic.Recognizer(sys.argv[1], threads=int(sys.argv[3]), decoding="greedy")
rec.transcribe(sys.argv[2])
print(before, hwm())
"""


def rss_probe(model: "str | os.PathLike[str]", clip: "str | os.PathLike[str]", threads: int = 1):
    """(peak RSS before loading, peak RSS after loading ``model`` and decoding ``clip``) in bytes, in a
    fresh process; (-1, -1) where /proc is not there to read it."""
    import subprocess
    import sys

    if not Path("/proc/self/status").exists():
        return -1, -1
    res = subprocess.run([sys.executable, "-c", _RSS_PROBE, os.fspath(model), os.fspath(clip), str(threads)],
                         check=True, capture_output=True, text=True)
    before, peak = (int(v) * 1024 for v in res.stdout.split()[-2:])
    return before, peak


def peak_rss(model: "str | os.PathLike[str]", clip: "str | os.PathLike[str]", threads: int = 1) -> int:
    """Bytes; -1 where /proc is not there to read it."""
    return rss_probe(model, clip, threads)[1]


def measure_model(folder: "str | os.PathLike[str]", step: str = "model", detail: str = "", *,
                  eval_set: "str | os.PathLike[str] | None" = None, clips: Optional[List[Path]] = None,
                  reference: Optional[List[str]] = None, threads: int = 1):
    """One report row for the model in ``folder``, all measured now: file and weight bytes, peak RSS of a
    fresh process, WER/CER/RTF on ``eval_set`` (greedy), and the transcripts of ``clips`` with their CER
    against ``reference`` (when given). Returns (Stage, transcripts of clips)."""
    from ..asr import Recognizer
    from ..evaluate import evaluate, read_transcripts
    from ..text import edit_distance

    folder = Path(folder)
    files = [f for f in folder.iterdir() if f.suffix == ".onnx" or f.name.endswith(".onnx.data")]
    onnx = onnx_module()
    weights = sum(Graph(onnx.load(str(f))).weight_bytes() for f in files if f.suffix == ".onnx")
    st = Stage(step, detail, sum(f.stat().st_size for f in files), weights)
    rec = Recognizer(str(folder), threads=threads, decoding="greedy")
    clips = clips or []
    probe_clip = clips[0] if clips else (read_transcripts(eval_set)[0][0] if eval_set is not None else None)
    if probe_clip is not None:
        st.peak_rss_bytes = peak_rss(folder, probe_clip, threads)
    if eval_set is not None:
        r = evaluate(str(folder), eval_set, recognizer=rec)
        st.wer, st.cer, st.rtf, st.words = r.wer, r.cer, r.rtf, r.ref_words
    hyps = [rec.transcribe(str(c)).text for c in clips]
    if reference is not None:
        chars = sum(len(r) for r in reference)
        st.agreement_cer = sum(edit_distance(list(r), list(h)) for r, h in zip(reference, hyps)) / max(chars, 1)
    elif clips:
        st.agreement_cer = 0.0  # the reference itself
    return st, hyps


def _source_folder(model: "str | os.PathLike[str]") -> Path:
    from ..registry import resolve_model

    path, _ = resolve_model(model)
    return path if path.is_dir() else path.parent


def _onnx_files(folder: Path) -> List[Path]:
    files = sorted(folder.glob("*.onnx"))
    if not files:
        raise InvalidArgumentError(f"'{folder}' holds no .onnx file to compress")
    return files


def _clips(calibration: "str | os.PathLike[str] | None", limit: int = 32, what: str = "calibration") -> List[Path]:
    if calibration is None:
        return []
    p = Path(calibration)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise InvalidArgumentError(f"{what} audio '{p}' does not exist")
    clips = sorted(f for f in p.rglob("*") if f.suffix.lower() in (".wav", ".flac", ".ogg"))
    if not clips:
        raise InvalidArgumentError(f"{what} folder '{p}' holds no .wav/.flac/.ogg file")
    return clips[:limit]


def compress(
    model: "str | os.PathLike[str]",
    out: "str | os.PathLike[str]",
    *,
    window: Optional[float] = None,
    prune_ffn: float = 0.0,
    prune_conv: float = 0.0,
    prune_heads: float = 0.0,
    low_rank: Optional[float] = None,
    data_aware: bool = False,
    refit: bool = False,
    recover: Optional[float] = None,
    recovery_audio: "str | os.PathLike[str] | None" = None,
    recovery_lr: float = 3e-4,
    recovery_blank_weight: float = 1.0,
    recovery_hidden_weight: float = HIDDEN_WEIGHT,
    quantize: Optional[str] = None,
    block_size: int = 32,
    asymmetric: bool = False,
    keep_float: int = 0,
    quantize_conv: bool = False,
    float16: bool = False,
    calibration: "str | os.PathLike[str] | None" = None,
    eval_set: "str | os.PathLike[str] | None" = None,
    threads: int = 1,
    measure_every_step: bool = True,
) -> CompressionReport:
    """Compress ``model`` (name, folder or .onnx) into the folder ``out``; see the module doc.
    ``measure_every_step=False`` measures only the input and the result (what a preset search needs)."""
    onnx = onnx_module()
    if quantize not in (None, "int8", "int4"):
        raise InvalidArgumentError(f"quantize must be 'int8' or 'int4', not {quantize!r}")
    if keep_float and (quantize is None or calibration is None):
        raise InvalidArgumentError("keep_float needs quantize= and calibration= (sensitivity is measured on audio)")
    if refit and not data_aware:
        raise InvalidArgumentError("refit needs data_aware=True (it is fitted on the calibration activations)")
    if recover is not None and (recover <= 0 or (recovery_audio is None and calibration is None)):
        raise InvalidArgumentError("recover= needs a positive number of minutes and recovery_audio= (or "
                                   "calibration=) audio")
    if recover is not None:
        from .recover import check_loss_weights
        from .torch_graph import require_torch

        check_loss_weights(recovery_blank_weight, recovery_hidden_weight)
        require_torch()  # before any work: recovery trains with PyTorch
    pruning = prune_ffn > 0 or prune_conv > 0 or prune_heads > 0
    if data_aware and (calibration is None or not (pruning or low_rank is not None)):
        raise InvalidArgumentError("data_aware needs calibration= audio and prune_ffn=, prune_conv=, prune_heads= "
                                   "or low_rank=")
    src = _source_folder(model)
    dst = Path(out)
    if dst.resolve() == src.resolve():
        raise InvalidArgumentError(f"--out '{dst}' is the model's own folder: pick another")
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if (f.is_file() and f.suffix != ".onnx" and not f.name.endswith(".onnx.data")
                and f.name not in ("MODEL_CARD.md", "release.json", "compress.json") and not f.name.startswith(".")):
            shutil.copyfile(f, dst / f.name)
    graphs = {f.name: _load(onnx, f) for f in _onnx_files(src)}
    clips = _clips(calibration)

    from ..asr import Recognizer

    def transcribe(folder: Path) -> List[str]:
        rec = Recognizer(str(folder), threads=threads, decoding="greedy")
        return [rec.transcribe(str(c)).text for c in clips]

    report = CompressionReport(model=str(src), out=str(dst),
                               machine=f"{platform.machine()}, {os.cpu_count()} cores")
    reference: List[str] = []

    def save() -> None:
        for name, g in graphs.items():
            del g.model.graph.value_info[:]  # shapes of narrowed tensors changed; ORT infers them again
            onnx.save(g.model, str(dst / name))

    steps: List[str] = []

    def measure(step: str, detail: str, last: bool = False) -> None:
        nonlocal reference
        steps.append(f"{step} ({detail})")
        if not (measure_every_step or last or not report.stages):
            return
        if not measure_every_step and report.stages:
            step, detail = "+".join(s.split(" (")[0] for s in steps[1:]), "; ".join(steps[1:])
        save()
        st, hyps = measure_model(dst, step, detail, eval_set=eval_set, clips=clips, reference=reference or None,
                                 threads=threads)
        reference = reference or hyps
        report.stages.append(st)

    enabled = [n for n, on in (("window", window is not None), ("prune", pruning),
                                ("low-rank", low_rank is not None), ("recover", recover is not None),
                                ("quantize", quantize is not None),
                                ("float16", float16)) if on]
    final = enabled[-1] if enabled else "input"
    dequantized = sum(_dequantize(g) for g in graphs.values())
    measure("input", f"{'int8 weights turned back to float' if dequantized else 'as given'}")
    if window is not None:
        from .window import shorten_window

        w = shorten_window(graphs, window)
        report.window = w
        measure("window", f"{window:g} s audio window ({w['frames_before']} -> {w['frames_after']} encoder frames)",
                last=final == "window")
    teacher, seqs, main = {}, {}, max(graphs, key=lambda n: graphs[n].weight_bytes())
    if recover is not None:  # the teacher: the input model (after the window step), as the engine runs it
        from .calibrate import carried_states, record_sequences

        teacher = {name: Graph(_copy(g.model)) for name, g in graphs.items()}
        rclips = _clips(recovery_audio if recovery_audio is not None else calibration, limit=5000,
                        what="recovery")
        if window is not None:
            save()
        seqs = record_sequences(dst if window is not None else src, rclips,
                                {main: list(carried_states(teacher[main]).values())}, threads=threads)
        if not seqs.get(main):
            raise InvalidArgumentError(f"recovery: the engine never ran {main} on the recovery audio")
    runs = {}
    if data_aware:
        from .calibrate import record_inputs

        if window is not None:
            save()  # calibrate on the model as it now is: its encoder takes the shorter window
        runs = record_inputs(dst if window is not None else src, clips, threads=threads)

    def acts(name: str, tensors: List[str], rows_of=None):
        from .calibrate import activations

        return (activations(graphs[name], runs[name], tensors, rows_of=rows_of)
                if runs.get(name) and tensors else None)

    student_feeds = None  # recorded inputs of the input model -> inputs of the pruned one
    if pruning:
        from .prune import conv_input_tensors, conv_patches, hidden_tensors, prune_convolutions, prune_feed_forward

        what = []
        if prune_ffn > 0:
            for name, g in graphs.items():
                hidden = (acts(name, hidden_tensors(g)) or {}) if data_aware else None
                report.pruned += [asdict(p) for p in prune_feed_forward(g, prune_ffn, hidden=hidden, refit=refit)]
            if not report.pruned:
                raise UnsupportedError("--prune-ffn: no feed-forward block (MatMul, bias, activation, MatMul) found")
            what.append(f"feed-forward channels -{100 * prune_ffn:.0f} %")
        if prune_conv > 0:
            before = len(report.pruned)
            for name, g in graphs.items():
                patches = None
                if data_aware:
                    shapes = conv_input_tensors(g)
                    rows_of = {t: (lambda v, k=k, s=s, d=d: conv_patches(v, k, s, d))
                               for t, (k, s, d) in shapes.items()}
                    patches = acts(name, list(shapes), rows_of) or {}
                report.pruned += [asdict(p) for p in prune_convolutions(g, prune_conv, patches=patches, refit=refit)]
            if len(report.pruned) == before:
                raise UnsupportedError("--prune-conv: no convolution pair (1-D Conv, activation, 1-D Conv) found")
            what.append(f"convolution channels -{100 * prune_conv:.0f} %")
        if prune_heads > 0:  # last: the replays above use the input model's caches, all heads
            from .heads import cached_heads, output_projection_inputs
            from .heads import prune_heads as cut

            g = graphs[main]
            context = (acts(main, output_projection_inputs(g)) or {}) if data_aware else None
            kept = cut(g, prune_heads, context=context, refit=refit)
            report.pruned += [asdict(p) for p in kept]

            def student_feeds(feeds, kept=kept):
                return cached_heads(feeds, kept)

            if runs.get(main):
                runs[main] = [student_feeds(f) for f in runs[main]]
            what.append(f"attention heads {kept[0].width} -> {kept[0].kept}")
        how = "magnitude" if not data_aware else ("activations, refit" if refit else "activations")
        measure("prune", f"{', '.join(what)} ({how})", last=final == "prune")
    if low_rank is not None:
        from .lowrank import factorize, input_tensors

        for name, g in graphs.items():
            inputs = acts(name, input_tensors(g)) if data_aware else None
            report.factorized += [asdict(f) for f in factorize(g, low_rank, inputs=inputs)]
        measure("low-rank", f"SVD at {100 * low_rank:.0f} % {'output' if data_aware else 'weight'} energy, "
                f"{len(report.factorized)} layers", last=final == "low-rank")
    if recover is not None:
        from .recover import distill

        report.recovery = distill(graphs[main], teacher[main], seqs[main], recover, lr=recovery_lr,
                                  student_feeds=student_feeds, blank_weight=recovery_blank_weight,
                                  hidden_weight=recovery_hidden_weight,
                                  quantization=None if quantize is None else dict(
                                      bits=8 if quantize == "int8" else 4, block_size=block_size,
                                      symmetric=not asymmetric, convolutions=quantize_conv))
        report.recovery.update(file=main, clips=len(rclips), audio_seconds=_seconds(rclips))
        r = report.recovery
        measure("recover", f"distillation from the input model, {r['seconds'] / 60:.1f} min on "
                f"{r['audio_seconds']:.0f} s of audio; held-out loss {r['held_out_before']:.4f} -> "
                f"{r['held_out_after']:.4f}{'' if r['kept'] else ' (not kept)'}", last=final == "recover")
    if quantize is not None:
        from .quantize import quantize_convolutions, quantize_weights

        bits = 8 if quantize == "int8" else 4
        if not any(g.weight_matmuls() for g in graphs.values()):
            raise UnsupportedError(f"'{src}' has no float weight MatMul to quantize (weights already quantized "
                                   "in a form echoic cannot turn back, e.g. MatMulInteger): pass its float32 "
                                   "version (Whisper: echoic.whisper_import.import_whisper(..., precision='float32'))")
        keep: List[str] = []
        if keep_float:
            from .sensitivity import measure as measure_sensitivity

            main = max(graphs, key=lambda n: graphs[n].weight_bytes())
            save()
            sens = measure_sensitivity(graphs[main], main, dst, transcribe, reference, bits, block_size,
                                       symmetric=not asymmetric)
            report.sensitivity = [asdict(s) for s in sens]
            keep = [s.layer for s in sens[:keep_float]]
            report.kept_float = keep
        convs = 0
        for name in graphs:
            graphs[name] = quantize_weights(graphs[name], bits=bits, block_size=block_size, keep_float=keep,
                                            symmetric=not asymmetric)
            if quantize_conv:
                convs += quantize_convolutions(graphs[name], bits=bits, block_size=block_size,
                                               symmetric=not asymmetric)
        measure("quantize", f"{quantize} weights, blocks of {block_size}{', zero points' if asymmetric else ''}" +
                (f", {len(keep)} most sensitive layers float" if keep else "") +
                (f", {convs} convolution weights" if convs else ""), last=final == "quantize")
    if float16:
        from .quantize import float16_storage

        n = sum(float16_storage(g) for g in graphs.values())
        measure("float16", f"float16 storage of {n} float tensors", last=final == "float16")
    report.failure_modes = _failure_modes(report)
    (dst / "compress.json").write_text(json.dumps(asdict(report), indent=2), encoding="utf-8")
    (dst / "MODEL_CARD.md").write_text(report.to_markdown(), encoding="utf-8")
    return report


def _failure_modes(report: CompressionReport) -> List[str]:
    """What the measurements say went wrong, step by step (thresholds: 1 WER point, 5 % CER vs input)."""
    out, prev = [], report.stages[0] if report.stages else None
    whole = [p for p in report.pruned if p["kept"] == p["width"] and p["criterion"].startswith("kept whole")]
    if whole:
        out.append(f"prune: {len(whole)} of {len(report.pruned)} channel groups kept whole: too few rows of "
                   "calibration activations to fit them (give more audio, or the block runs once per token)")
    r = report.recovery
    if r and not r["kept"]:
        out.append(f"recover: training did not lower the held-out loss ({r['held_out_before']:.4f} -> "
                   f"{r['held_out_after']:.4f}); the weights before it were kept (more audio or minutes may help)")
    for s in report.stages[1:]:
        if s.wer is not None and prev is not None and prev.wer is not None and s.wer > prev.wer + 0.01:
            out.append(f"{s.step}: WER {100 * prev.wer:.1f} % -> {100 * s.wer:.1f} % on the eval set")
        if s.agreement_cer is not None and s.agreement_cer > 0.05:
            out.append(f"{s.step}: transcripts of the calibration clips differ from the input model's "
                       f"({100 * s.agreement_cer:.1f} % of characters)")
        if s.rtf is not None and prev is not None and prev.rtf is not None and s.rtf > prev.rtf * 1.1:
            out.append(f"{s.step}: slower than the step before (RTF {prev.rtf:.4f} -> {s.rtf:.4f})")
        if prev is not None and 0 < prev.peak_rss_bytes < s.peak_rss_bytes:
            out.append(f"{s.step}: peak RSS grew ({prev.peak_rss_bytes / 2**20:.1f} -> "
                       f"{s.peak_rss_bytes / 2**20:.1f} MiB)")
        prev = s
    return out


def _copy(model):
    m = type(model)()
    m.CopyFrom(model)
    return m


def _seconds(clips: List[Path]) -> float:
    import soundfile as sf

    total = 0.0
    for c in clips:
        try:
            total += sf.info(str(c)).duration
        except RuntimeError:  # the engine read it, so only soundfile's container list is narrower
            pass
    return total


def _load(onnx, path: Path) -> Graph:
    try:
        return Graph(onnx.load(str(path)))
    except Exception as e:  # protobuf's DecodeError, a truncated external-data file, ...
        raise CorruptDataError(f"'{path}' is not a readable ONNX model: {e}") from None


def _dequantize(graph: Graph) -> int:
    from .quantize import dequantize_nbits

    return dequantize_nbits(graph)
