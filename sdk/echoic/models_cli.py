"""Deprecated alias of :mod:`echoic.cli.models`; it goes away in the next release."""
import sys
import warnings

from .cli import models as _moved

warnings.warn("echoic.models_cli is deprecated: import echoic.cli.models", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved
