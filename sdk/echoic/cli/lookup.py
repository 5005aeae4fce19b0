"""`echoic lookup enroll|find`: keyword lookup by example."""
from __future__ import annotations

import argparse
import sys


def _cmd_lookup(args: argparse.Namespace) -> int:
    import json

    from ..kws.lookup import KeywordLookup

    options = {} if args.threshold_offset is None else {"threshold_offset": args.threshold_offset}
    with KeywordLookup(args.index, model=args.model, threads=args.threads,
                       read_only=args.action == "find", **options) as kl:
        if args.action == "enroll":
            ids = kl.enroll(args.name, args.files)
            print(f"enrolled {args.name}: {len(ids)} example(s), {kl.bytes_per_example} B each", file=sys.stderr)
            return 0
        rows = []
        for f in args.files:
            for d in kl.detect(f):
                rows.append({"file": f, "start": round(d.start, 2), "end": round(d.end, 2), "word": d.keyword,
                             "score": round(d.score, 4)})
                if not args.json:
                    print(f"{f}\t{d.start:.2f}\t{d.end:.2f}\t{d.keyword}\t{d.score:.4f}", flush=True)
        if args.json:
            print(json.dumps(rows))
    return 0


def add_parsers(sub) -> None:
    sp = sub.add_parser("lookup", help="keyword lookup by example: enroll a word from recordings, find it in audio")
    verbs = sp.add_subparsers(dest="action", required=True, metavar="VERB")
    for verb, helptext in (("enroll", "add 1-5 recordings of a word to the index (creates it)"),
                           ("find", "print detections (file, start, end, word, score) in each audio file")):
        p = verbs.add_parser(verb, help=helptext, description=helptext)
        p.add_argument("files", nargs="+", metavar="CLIP" if verb == "enroll" else "AUDIO", help="audio files")
        p.add_argument("--index", required=True,
                       help="keyword index file" + (" (created if missing)" if verb == "enroll" else " (must exist)"))
        if verb == "enroll":
            p.add_argument("--name", required=True, help="the word (or phrase) the recordings say")
        else:
            p.add_argument("--json", action="store_true", help="one JSON list instead of TSV")
            p.add_argument("--threshold-offset", type=float, default=None,
                           help="added to every keyword's calibrated threshold (negative: more hits and alarms)")
        p.add_argument("--model", default="whisper-tiny.en", help="Whisper model (name or imported folder)")
        p.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads (default 1)")
        p.set_defaults(func=_cmd_lookup, threshold_offset=None)
