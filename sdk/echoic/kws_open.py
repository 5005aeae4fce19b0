"""Deprecated alias of :mod:`echoic.kws.open_vocabulary`; it goes away in the next release."""
import sys
import warnings

from .kws import open_vocabulary as _moved

warnings.warn("echoic.kws_open is deprecated: import echoic.kws.open_vocabulary", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved
