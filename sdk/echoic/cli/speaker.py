"""`echoic speaker enroll|identify|verify|list|remove`."""
from __future__ import annotations

import argparse


def _cmd_speaker(args: argparse.Namespace) -> int:
    from ..speaker import DEFAULT_THRESHOLD, SpeakerRegistry

    threshold = getattr(args, "threshold", None)
    thr = DEFAULT_THRESHOLD if threshold is None else threshold
    with SpeakerRegistry(args.index, model=getattr(args, "model", None),
                         encoding=getattr(args, "encoding", "flat"), threshold=thr,
                         create=args.action == "enroll",
                         read_only=args.action in ("identify", "verify", "list")) as reg:
        if args.action == "enroll":
            ids = reg.enroll(args.name, args.files)
            print(f"enrolled {args.name}: {len(ids)} utterance(s)")
        elif args.action == "identify":
            for f in args.files:
                name, score = reg.identify(f)
                print(f"{f}\t{name or '<unknown>'}\t{score:.4f}")
        elif args.action == "verify":
            rc = 0
            for f in args.files:
                ok, score = reg.verify(args.name, f)
                print(f"{f}\t{'accept' if ok else 'reject'}\t{score:.4f}")
                rc = rc if ok else 1
            return rc
        elif args.action == "remove":
            print(f"removed {args.name}: {reg.remove(args.name)} utterance(s)")
        else:  # list
            for name in reg.list():
                print(name)
    return 0


def add_parsers(sub) -> None:
    sp = sub.add_parser("speaker", help="speaker enrollment, identification and verification")
    verbs = sp.add_subparsers(dest="action", required=True, metavar="VERB")
    for verb, helptext in (("enroll", "add a speaker's utterances to the index (creates it)"),
                           ("identify", "name the enrolled speaker of each file"),
                           ("verify", "accept or reject each file as the named speaker (exit 1 on a reject)"),
                           ("list", "print the enrolled speakers"),
                           ("remove", "remove a speaker from the index")):
        p = verbs.add_parser(verb, help=helptext, description=helptext)
        if verb in ("enroll", "identify", "verify"):
            p.add_argument("files", nargs="+", metavar="FILE", help="audio files")
        p.add_argument("--index", required=True,
                       help="speaker index file" + (" (created if missing)" if verb == "enroll" else " (must exist)"))
        if verb in ("enroll", "verify", "remove"):
            p.add_argument("--name", required=True, help="speaker name")
        p.add_argument("--model", default=None, help="speaker ONNX model (default: $ECHOIC_SPEAKER_MODEL, else the "
                                                     "bundled d-vector model)"
                       + ("; not needed" if verb in ("list", "remove") else ""))
        if verb == "enroll":
            p.add_argument("--encoding", choices=["flat", "sq8", "pq"], default="flat", help="new index encoding")
        if verb in ("identify", "verify"):
            p.add_argument("--threshold", type=float, default=None, help="accept score (cosine)")
        p.set_defaults(func=_cmd_speaker)
