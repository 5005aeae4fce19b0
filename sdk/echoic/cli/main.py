"""The `echoic` command line: one parser, a module per command (each adds its parsers)."""
from __future__ import annotations

import os
import sys
from typing import List, Optional

import echoic

from . import compress, info, kws, lookup, models, speaker, transcribe, vad
from .common import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, Parser, UsageError


def build_parser() -> Parser:
    parser = Parser(prog="echoic", description="On-device streaming speech recognition.")
    parser.add_argument("--version", action="version", version=f"echoic {echoic.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (info, vad, speaker, kws, lookup, transcribe, models, compress):
        command.add_parsers(sub)
    return parser


def _message(exc: BaseException) -> str:
    # NotFoundError is also a KeyError, whose str() adds quotes; print the message itself.
    return str(exc.args[0]) if len(exc.args) == 1 else str(exc)


def main(argv: Optional[List[str]] = None) -> int:
    """Runs one command. Exit codes: 0 success; 1 the command failed (bad input file,
    missing model, I/O error; `speaker verify` also returns 1 when a file is rejected);
    2 usage error (bad options); 130 interrupted (Ctrl-C). Errors are one line on stderr
    (set ECHOIC_DEBUG=1 for a traceback)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"echoic: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("echoic: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`echoic transcribe *.wav | head -1`): stop quietly. Point
        # stdout at /dev/null so the interpreter's final flush does not complain.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_FAILURE
    except (echoic.EchoicError, OSError) as exc:
        if os.environ.get("ECHOIC_DEBUG"):
            raise
        print(f"echoic: error: {_message(exc)}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
