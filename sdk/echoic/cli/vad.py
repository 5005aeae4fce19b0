"""`echoic vad`: speech segments of an audio file."""
from __future__ import annotations

import argparse


def _cmd_vad(args: argparse.Namespace) -> int:
    from .. import vad

    options = {} if args.min_silence_ms is None else {"min_silence_ms": args.min_silence_ms}
    method = args.method
    segments = vad.speech_segments(args.file, method=method, model=args.model, **options)
    for start, end in segments:
        print(f"{start:.2f}\t{end:.2f}")
    return 0


def add_parsers(sub) -> None:
    p = sub.add_parser("vad", help="print speech segments (start<TAB>end seconds) of an audio file")
    p.add_argument("file", help="audio file (any rate; resampled as the detector needs)")
    p.add_argument("--method", choices=["silero", "webrtc", "energy"], default="silero",
                   help="detector (default silero: the bundled Silero VAD; webrtc needs the webrtcvad package)")
    p.add_argument("--model", default=None,
                   help="silero_vad.onnx (default: $ECHOIC_VAD_MODEL, else the bundled Silero VAD)")
    p.add_argument("--min-silence-ms", type=int, default=None, help="silence that splits segments")
    p.set_defaults(func=_cmd_vad)
