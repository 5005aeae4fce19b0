# Type checkers see the native module through its stubs (echoic/_echoic.pyi).
from . import _echoic as native

__all__ = ["native"]
