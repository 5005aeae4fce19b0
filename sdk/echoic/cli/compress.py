"""`echoic compress`: prune, factorize and quantize an acoustic model, with a measured report."""
from __future__ import annotations

import argparse

from ..compress.recover import HIDDEN_WEIGHT


def _size(text: str) -> int:
    """'10MB', '512KB', '2.5MiB' or a byte count."""
    t = text.strip().upper()
    for unit, mult in (("MIB", 2**20), ("KIB", 2**10), ("MB", 10**6), ("KB", 10**3), ("B", 1)):
        if t.endswith(unit):
            return int(float(t[: -len(unit)]) * mult)
    return int(float(t))


def _cmd_compress(args: argparse.Namespace) -> int:
    from ..compress import compress

    if args.target_size is not None or args.target_rtf is not None:
        from ..compress.search import search

        summary = search(args.model, args.out, target_size=args.target_size, target_rtf=args.target_rtf,
                         calibration=args.calibration, eval_set=args.eval_set, threads=args.threads,
                         recover=args.recover, recovery_audio=args.recovery_audio)
        for t in summary["tried"]:
            r = t["result"]
            print(f"{'*' if t['recipe'] == summary['chosen'] else ' '} {t['recipe']:<36} "
                  f"{r['file_bytes'] / 1e6:7.2f} MB  WER {100 * r['wer']:5.1f} %  RTF {r['rtf']:.4f}"
                  f"{'' if t['meets_target'] else '  (misses the target)'}")
        print(f"chose {summary['chosen']}; wrote {args.out} (MODEL_CARD.md, compress.json, search.json"
              f"{', search.png' if summary['plot'] else ''})")
        return 0

    report = compress(args.model, args.out, window=args.window, prune_ffn=args.prune_ffn,
                      prune_conv=args.prune_conv, prune_heads=args.prune_heads, low_rank=args.low_rank,
                      data_aware=args.data_aware, refit=args.refit, recover=args.recover,
                      recovery_audio=args.recovery_audio, recovery_lr=args.recovery_lr,
                      recovery_blank_weight=args.recovery_blank_weight,
                      recovery_hidden_weight=args.recovery_hidden_weight, quantize=args.quantize,
                      block_size=args.block_size, asymmetric=args.asymmetric,
                      keep_float=args.keep_float, quantize_conv=args.quantize_conv,
                      float16=args.float16, calibration=args.calibration, eval_set=args.eval_set,
                      threads=args.threads)
    print(report.to_markdown())
    print(f"wrote {report.out} (MODEL_CARD.md, compress.json)")
    return 0


def add_parsers(sub) -> None:
    p = sub.add_parser("compress", help="shrink a model (prune, low-rank, int8/int4, float16) and measure each step",
                       description="Steps run in the order listed; each is measured (size, peak RSS, WER/CER, "
                                   "RTF). Needs pip install \"echoic[compress]\".")
    p.add_argument("model", help="model name, folder or .onnx (int8 models are turned back to float first)")
    p.add_argument("--out", required=True, help="folder for the compressed model and its COMPRESSION.md")
    p.add_argument("--window", type=float, default=None, metavar="SECONDS",
                   help="Whisper: a shorter audio window than 30 s (e.g. 10): the encoder attends over fewer "
                        "frames; longer audio is cut into more windows")
    p.add_argument("--prune-ffn", type=float, default=0.0, metavar="FRACTION",
                   help="remove this fraction of every feed-forward block's hidden channels (e.g. 0.25)")
    p.add_argument("--prune-conv", type=float, default=0.0, metavar="FRACTION",
                   help="remove this fraction of the channels between two 1-D convolutions (Whisper's conv1 -> "
                        "conv2: conv1's outputs, conv2's inputs)")
    p.add_argument("--prune-heads", type=float, default=0.0, metavar="FRACTION",
                   help="remove this fraction of every attention block's heads (the same number from each: "
                        "echoic streaming models; metadata 'head' and the cache shrink with them)")
    p.add_argument("--low-rank", type=float, default=None, metavar="ENERGY",
                   help="factorize linear layers by truncated SVD keeping this share of the spectrum (e.g. 0.95)")
    p.add_argument("--data-aware", action="store_true",
                   help="--prune-ffn / --prune-conv / --prune-heads / --low-rank: score channels and heads and take "
                        "the SVD from the layers' activations on --calibration audio, not from the weights")
    p.add_argument("--refit", action="store_true",
                   help="with --data-aware: re-solve each pruned block's output weights by least squares so it "
                        "reproduces the input model's outputs on the calibration audio (recovery without training)")
    p.add_argument("--recover", type=float, default=None, metavar="MINUTES",
                   help="after pruning / low-rank: train the compressed weights (PyTorch) for this many minutes to "
                        "reproduce the input model's outputs on --recovery-audio (distillation; no transcripts)")
    p.add_argument("--recovery-audio", default=None, metavar="DIR",
                   help="speech for --recover (any: the input model provides the targets; default: --calibration)")
    p.add_argument("--recovery-lr", type=float, default=3e-4, metavar="LR",
                   help="--recover: Adam's peak learning rate (warm-up, then cosine decay to 0; default 3e-4)")
    p.add_argument("--recovery-blank-weight", type=float, default=1.0, metavar="W",
                   help="--recover, CTC models: weight of a frame the input model calls blank, against 1 for a "
                        "frame where it emits a character (0 < W <= 1; default 1: every frame alike)")
    p.add_argument("--recovery-hidden-weight", type=float, default=HIDDEN_WEIGHT, metavar="W",
                   help="--recover: also match the input model's residual stream at every layer norm (its "
                        f"squared error relative to the input model's power, times W; default {HIDDEN_WEIGHT:g}; "
                        "0: the outputs only)")
    p.add_argument("--quantize", choices=["int8", "int4"], default=None, help="weight-only quantization")
    p.add_argument("--block-size", type=int, default=32, help="weights per quantization scale (default 32)")
    p.add_argument("--asymmetric", action="store_true",
                   help="a zero point per block as well as a scale (less error at 4 bits, slightly larger)")
    p.add_argument("--keep-float", type=int, default=0, metavar="N",
                   help="keep the N layers most hurt by quantization (measured on --calibration) in float")
    p.add_argument("--quantize-conv", action="store_true",
                   help="with --quantize: store convolution weights in the same bits (file size only: ONNX Runtime "
                        "unpacks them to float when it loads the model)")
    p.add_argument("--float16", action="store_true", help="store the remaining float tensors as float16")
    p.add_argument("--calibration", default=None,
                   help="audio file or folder (no transcripts needed) for sensitivity and agreement")
    p.add_argument("--eval", dest="eval_set", default=None, metavar="DIR",
                   help="folder with transcripts.tsv: WER/CER/RTF of every step")
    p.add_argument("--target-size", type=_size, default=None, metavar="SIZE",
                   help="preset search: the most accurate of a ladder of recipes whose files fit SIZE (e.g. 10MB); "
                        "needs --eval")
    p.add_argument("--target-rtf", type=float, default=None, metavar="RTF",
                   help="preset search: ... whose real-time factor (1 thread) is at most RTF")
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(func=_cmd_compress)
