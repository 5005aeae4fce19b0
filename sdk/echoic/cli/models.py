"""`echoic models` and `echoic eval`: the CLI front of echoic.registry and echoic.evaluate."""
from __future__ import annotations

import argparse
import json
import sys
import time

from .. import registry


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover


def _dir_size(d) -> int:
    return sum(p.stat().st_size for p in d.rglob("*") if p.is_file())


def cmd_list(args: argparse.Namespace) -> int:
    installed = registry.list_models()
    published = registry.load_manifest(args.manifest)
    rows = []
    for name, d in installed.items():
        where = "bundled" if d.parent == registry.BUNDLED_DIR else "cached"
        rows.append((name, where, _size(_dir_size(d)), str(d)))
    # Keyword spotters (echoic kws --model), bundled beside the recognizers.
    if registry.BUNDLED_DIR.is_dir():
        for d in sorted(registry.BUNDLED_DIR.iterdir()):
            if d.name not in installed and (d / "model.onnx").is_file() and not (d / "tokens.txt").exists():
                rows.append((d.name, "bundled", _size(_dir_size(d)), f"{d} (keyword spotter: echoic kws)"))
            elif (d / "embedder.int8.onnx").is_file():
                rows.append((d.name, "bundled", _size(_dir_size(d)), f"{d} (speaker embedder: echoic speaker)"))
            elif (d / "silero_vad.onnx").is_file():
                rows.append((d.name, "bundled", _size(_dir_size(d)), f"{d} (voice activity detector: echoic vad)"))
    for name, e in published.items():
        if name not in installed:
            rows.append((name, "downloadable", _size(e.size), e.description or e.url))
    if not rows:
        print("no models installed or published; pass a model folder, or add a manifest with "
              "ECHOIC_MODEL_MANIFEST (see README, Models)")
        return 0
    w = max(len(r[0]) for r in rows)
    for name, where, size, info in rows:
        print(f"{name:<{w}}  {where:<12}  {size:>9}  {info}")
    return 0


def cmd_path(args: argparse.Namespace) -> int:
    model, _ = registry.resolve_model(args.name)
    print(model if model.is_dir() else model.parent)
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    progress = registry.stderr_progress(args.name)

    from ..whisper_import import OPENAI_MODELS, download_whisper
    size = args.name[len("whisper-"):] if args.name.startswith("whisper-") else None
    if size in OPENAI_MODELS and args.name not in registry.load_manifest(args.manifest):
        # OpenAI's official checkpoint, verified by its sha256, then converted (echoic.whisper_import)
        path = download_whisper(size, precision=args.precision, cache=args.cache,
                                progress=None if args.quiet else progress)
        print(path)
        return 0
    path = registry.download(args.name, manifest=args.manifest, cache=args.cache,
                             progress=None if args.quiet else progress)
    print(path)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from ..whisper_import import import_whisper
    t0 = time.monotonic()
    path = import_whisper(args.src, args.name, precision=args.precision, cache=args.cache, tokenizer=args.tokenizer)
    if not args.quiet:
        sys.stderr.write(f"{args.name}: converted in {time.monotonic() - t0:.1f} s, {_size(_dir_size(path))}\n")
    print(path)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from ..evaluate import evaluate
    from .transcribe import decoding_options

    def on_file(f) -> None:
        if not args.json:
            wer = f"{100 * f.wer:6.1f} %" if f.wer is not None else "     - "
            print(f"{f.file}\t{wer}\tN={f.ref_words} S={f.substitutions} D={f.deletions} "
                  f"I={f.insertions}\tRTF={f.seconds / f.duration if f.duration else 0:.3f}", flush=True)

    if args.model is None:
        args.model = registry.default_model()
    rep = evaluate(args.model, args.set, chunk_ms=args.chunk_ms, on_file=on_file, options=decoding_options(args))
    if args.json:
        print(json.dumps(rep.to_dict(), indent=1))
    else:
        print(f"model {rep.model}: WER {100 * rep.wer:.2f} % ({rep.errors} errors / {rep.ref_words} words: "
              f"S={rep.substitutions} D={rep.deletions} I={rep.insertions}), CER {100 * rep.cer:.2f} %, "
              f"over {len(rep.files)} files, "
              f"{rep.duration:.1f} s of audio, RTF {rep.rtf:.4f}")
    return 0


def add_parsers(sub: "argparse._SubParsersAction") -> None:
    from .transcribe import add_decoding_arguments

    m = sub.add_parser("models", help="list, locate, download and import models")
    msub = m.add_subparsers(dest="models_command", required=True)
    p = msub.add_parser("list", help="bundled, cached and downloadable models with sizes")
    p.add_argument("--manifest", action="append", help="extra manifest JSON (also $ECHOIC_MODEL_MANIFEST)")
    p.set_defaults(func=cmd_list)
    p = msub.add_parser("path", help="print the folder of an installed model")
    p.add_argument("name")
    p.set_defaults(func=cmd_path)
    p = msub.add_parser("download", help="download, verify (sha256) and unpack a published model into the cache; "
                                         "whisper-<size> (tiny.en, tiny, base.en, base, small.en, small, "
                                         "medium.en, medium) fetches OpenAI's checkpoint and converts it")
    p.add_argument("name")
    p.add_argument("--manifest", action="append", help="extra manifest JSON (also $ECHOIC_MODEL_MANIFEST)")
    p.add_argument("--cache", help="cache folder (default $ECHOIC_CACHE or ~/.cache/echoic/models)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--precision", choices=("int8", "float32"), default="int8",
                   help="for whisper-<size> (OpenAI checkpoints, converted after download): weight precision")
    p.set_defaults(func=cmd_download)

    p = msub.add_parser(
        "import", help="convert Whisper weights (CTranslate2 / transformers folder, OpenAI .pt) into the cache",
        description="Converts OpenAI Whisper weights into an echoic model folder (encoder.onnx, decoder.onnx, "
                    "vocabulary.txt, merges.txt) in the cache. SRC is a CTranslate2 folder (faster-whisper), a "
                    "Hugging Face transformers folder (config.json + model.safetensors) or an OpenAI .pt file. "
                    "Needs the onnx package (pip install 'echoic[whisper]').")
    p.add_argument("src", help="CTranslate2 or transformers folder, or an OpenAI .pt checkpoint")
    p.add_argument("--name", required=True, help="model name (the cache folder), e.g. whisper-tiny.en")
    p.add_argument("--precision", choices=("int8", "float32"), default="int8",
                   help="int8 MatMul weights (default, ~1/3 of the size) or float32")
    p.add_argument("--tokenizer", help="tokenizer folder or .tiktoken file (for .pt checkpoints without "
                                       "openai-whisper installed)")
    p.add_argument("--cache", help="cache folder (default $ECHOIC_CACHE or ~/.cache/echoic/models)")
    p.add_argument("--quiet", action="store_true", help="no summary on stderr")
    p.set_defaults(func=cmd_import)

    e = sub.add_parser(
        "eval", help="word error rate of a model on a folder with transcripts.tsv",
        description="Transcribes every file listed in SET/transcripts.tsv (tab separated, columns 'file' and "
                    "'transcript') and reports per-file and total WER with substitutions/deletions/insertions, "
                    "the real-time factor and the model. Reference and hypothesis are both normalized by "
                    "echoic.text.normalize: lower-case, punctuation stripped (in-word apostrophes kept), "
                    "numbers, money and ordinals spelled out as words.")
    e.add_argument("--model", default=None,
                   help="model name, model folder or .onnx file (default: as for transcribe)")
    e.add_argument("--set", required=True, help="folder holding transcripts.tsv and the audio files")
    e.add_argument("--chunk-ms", type=float, default=None,
                   help="feed audio in chunks of this many ms (default: whole file at once)")
    add_decoding_arguments(e)
    e.add_argument("--json", action="store_true", help="print one JSON report (per-file and totals)")
    e.set_defaults(func=cmd_eval)
