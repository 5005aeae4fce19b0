"""Deprecated alias of :mod:`echoic.kws.lookup`; it goes away in the next release."""
import sys
import warnings

from .kws import lookup as _moved

warnings.warn("echoic.keyword_lookup is deprecated: import echoic.kws.lookup", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved
