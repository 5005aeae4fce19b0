"""Deprecated alias of :mod:`echoic.kws.personalize`; it goes away in the next release."""
import sys
import warnings

from .kws import personalize as _moved

warnings.warn("echoic.kws_personalize is deprecated: import echoic.kws.personalize", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _moved
