"""Deprecated alias of :mod:`echoic.cli.transcribe`; it goes away in the next release."""
import sys
import warnings

from .cli import transcribe as _moved

warnings.warn("echoic.transcribe_cli is deprecated: import echoic.cli.transcribe", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved
