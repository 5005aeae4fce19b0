"""`echoic info` (versions, ONNX Runtime, CPU; --memory MODEL) and `echoic features`."""
from __future__ import annotations

import argparse
import sys

import echoic


def _cmd_info(args: argparse.Namespace) -> int:
    n = echoic._native
    print(f"echoic {echoic.__version__}")
    print(f"python {sys.version.split()[0]}")
    print(f"cpu features: {' '.join(n.cpu_features()) or '(none detected)'}")
    # Older native modules (an installed wheel behind the source tree) lack index_kernels.
    kernels = n.index_kernels() if hasattr(n, "index_kernels") else "unknown"
    print(f"index kernels: {kernels}")
    print(f"hardware threads: {n.hardware_threads()}")
    try:
        ort = echoic.ort_library_info()
        print(f"onnxruntime: {ort['version']} (C API {ort['api_version']})")
        print(f"onnxruntime library: {ort['path']} (resolved by: {ort['resolved_by']})")
    except echoic.OnnxRuntimeError as exc:
        # info still prints the rest and says why ORT is unusable, but fails: nothing
        # else can run (the README uses `echoic info` as the "does it work" check).
        print(f"onnxruntime: not loaded: {exc}")
        return 1
    if args.memory:
        _print_memory(args.memory, args.streams, args.threads)
    return 0


def _print_memory(model: str, streams: int, threads: int) -> None:
    """Loads the model, decodes one second of silence (so ORT's arena has grown) and prints the
    core's memory report: what a user needs to pick a tier for a device."""
    import numpy as np

    rec = echoic.Recognizer(model, threads=threads)
    s = rec.create_stream()
    s.accept_waveform(np.zeros(rec.sample_rate, dtype=np.float32), rec.sample_rate)
    rec.decode_available(s)
    m = rec.memory_report(streams)
    mb = lambda b: "unknown" if b < 0 else f"{b / 2**20:.1f} MB"  # noqa: E731
    print(f"memory of {rec.model_path} ({threads} thread(s), decoding {rec.decoding}):")
    print(f"  model files on disk:            {mb(m['model_file_bytes'])}")
    print(f"  resident after load (weights):  {mb(m['load_bytes'])}")
    print(f"  first decode (arena, buffers):  {mb(m['first_run_bytes'])}")
    print(f"  per stream:                     {m['stream_bytes'] / 1024:.0f} KB")
    print(f"  estimated for {streams} stream(s):     {mb(m['estimated_bytes'])} "
          "(plus the process: Python, ONNX Runtime's library)")


def _cmd_features(args: argparse.Namespace) -> int:
    import numpy as np

    from .. import audio, features

    clip = audio.read(args.file, target_rate=args.sample_rate, downmix=True)
    # Kaldi/WeNet convention: int16-range samples.
    feats = features.compute_fbank(clip.samples * 32768.0, sample_rate=clip.sample_rate,
                                   num_bins=args.num_bins, dither=args.dither)
    print(f"{args.file}: {feats.shape[0]} frames x {feats.shape[1]} dims "
          f"({clip.duration:.2f} s at {clip.sample_rate} Hz)")
    if args.out:
        try:
            np.save(args.out, feats)
        except OSError as exc:
            raise echoic.EchoicIOError(f"cannot write '{args.out}': {exc}") from exc
        print(f"saved {args.out}")
    return 0


def add_parsers(sub) -> None:
    p = sub.add_parser("info", help="versions, ONNX Runtime library, CPU features, threads")
    p.add_argument("--memory", metavar="MODEL", default=None,
                   help="also load MODEL (bundled name, folder or .onnx) and print what it costs in memory")
    p.add_argument("--streams", type=int, default=1, help="concurrent streams for the --memory estimate (default 1)")
    p.add_argument("--threads", type=int, default=1, help="threads for --memory (default 1)")
    p.set_defaults(func=_cmd_info)
    p = sub.add_parser("features", help="log-mel filterbank of an audio file (Kaldi compatible)")
    p.add_argument("file", help="wav/flac/ogg file")
    p.add_argument("--out", help="save the (frames, dims) float32 matrix as .npy")
    p.add_argument("--num-bins", type=int, default=80, help="mel bins (default 80)")
    p.add_argument("--dither", type=float, default=0.0, help="dither amount (default 0)")
    p.add_argument("--sample-rate", type=int, default=16000, help="resample to this rate first (default 16000)")
    p.set_defaults(func=_cmd_features)
