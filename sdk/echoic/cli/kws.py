"""`echoic kws`: keyword spotting in a file or from the microphone (or open vocabulary)."""
from __future__ import annotations

import argparse
import sys

from .common import UsageError


def _cmd_kws(args: argparse.Namespace) -> int:
    from .. import kws

    if not args.file and not args.mic:
        raise UsageError("kws: give an audio FILE or --mic")
    keywords = [k.strip() for k in args.keywords.split(",") if k.strip()] if args.keywords else None
    if args.open_vocabulary:
        from ..kws import open_vocabulary

        if not keywords or not args.file:
            raise UsageError("kws --open-vocabulary needs --keywords and a FILE")
        from ..registry import default_model

        model = args.asr_model or default_model()
        events = open_vocabulary.spot_open_vocabulary(args.file, keywords, model=model)
        for e in events:
            print(f"{e.time:.2f}\t{e.keyword}\t{e.score:.3f}")
        if not events:
            print(f"echoic: kws: none of {', '.join(keywords)} found in {args.file} (open vocabulary, "
                  f"recognizer {model})", file=sys.stderr)
        return 0
    spotter = kws.KeywordSpotter(args.model, keywords=keywords, thresholds=args.threshold,
                                 refractory=args.refractory)
    if args.file:
        events = spotter.spot(args.file)
        for e in events:
            print(f"{e.time:.2f}\t{e.keyword}\t{e.score:.3f}")
        if not events:
            print(f"echoic: kws: no keyword found in {args.file}", file=sys.stderr)
        return 0
    from ..microphone import Microphone

    mic = Microphone(chunk_ms=100.0)  # the device's rate: the spotter resamples
    print(f"listening for {', '.join(keywords or spotter.keywords)} on '{mic.name}' (Ctrl-C to stop)",
          file=sys.stderr)
    for x in mic.chunks(args.duration):
        spotter.accept(x, mic.sample_rate)
        for e in spotter.events():
            print(f"{e.time:.2f}\t{e.keyword}\t{e.score:.3f}", flush=True)
    spotter.finish()
    for e in spotter.events():
        print(f"{e.time:.2f}\t{e.keyword}\t{e.score:.3f}", flush=True)
    return 0


def add_parsers(sub) -> None:
    p = sub.add_parser("kws", help="spot keywords (time<TAB>keyword<TAB>score) in a file or from the mic")
    p.add_argument("file", nargs="?", help="audio file")
    p.add_argument("--mic", action="store_true", help="listen to the microphone (needs echoic[mic])")
    p.add_argument("--duration", type=float, default=None, help="with --mic: stop after this many seconds")
    p.add_argument("--keywords", default=None, help="comma-separated keywords to report (default: all the model's)")
    p.add_argument("--model", default=None, help="keyword model (.onnx or folder; default: bundled echoic-kws-en)")
    p.add_argument("--threshold", type=float, default=None, help="detection threshold (default: the model's)")
    p.add_argument("--refractory", type=float, default=None, help="seconds muted after a detection")
    p.add_argument("--open-vocabulary", action="store_true",
                   help="spot arbitrary keyword text with the streaming recognizer instead")
    p.add_argument("--asr-model", default=None,
                   help="recognizer model for --open-vocabulary (default: as for transcribe)")
    p.set_defaults(func=_cmd_kws)
