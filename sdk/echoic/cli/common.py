"""What every `echoic` subcommand shares: exit codes, the usage error, the parser class."""
from __future__ import annotations

import argparse

#: Exit codes of every `echoic` command.
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A command line that cannot be run as given (exit code 2, like argparse's own errors)."""


class Parser(argparse.ArgumentParser):
    """Leaf parsers (no subcommands of their own) accept options before, between or after
    their positional arguments: `echoic speaker enroll a.wav --name alice b.wav`."""

    _intermixing = False

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        if self._subparsers is None and not self._intermixing:
            self._intermixing = True
            try:
                return self.parse_known_intermixed_args(args, namespace)
            finally:
                self._intermixing = False
        return super().parse_known_args(args, namespace)
