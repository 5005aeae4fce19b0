"""Deprecated alias of :mod:`echoic.kws.model`; it goes away in the next release."""
import sys
import warnings

from .kws import model as _moved

warnings.warn("echoic.kws_model is deprecated: import echoic.kws.model", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved
