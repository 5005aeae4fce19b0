"""Exception classes raised by echoic.

All derive from :class:`EchoicError`. Several also derive from the matching builtin,
so ``except ValueError`` catches :class:`InvalidArgumentError` and
:class:`CorruptDataError`, ``except OSError`` catches :class:`EchoicIOError`, and
``except MemoryError`` catches :class:`EchoicMemoryError`.
"""
from ._native import native as _n

EchoicError = _n.EchoicError
InvalidArgumentError = _n.InvalidArgumentError
EchoicIOError = _n.EchoicIOError
CorruptDataError = _n.CorruptDataError
ModelError = _n.ModelError
OnnxRuntimeError = _n.OnnxRuntimeError
UnsupportedError = _n.UnsupportedError
EchoicMemoryError = _n.EchoicMemoryError
StateError = _n.StateError
NotFoundError = _n.NotFoundError

__all__ = [
    "EchoicError",
    "InvalidArgumentError",
    "EchoicIOError",
    "CorruptDataError",
    "ModelError",
    "OnnxRuntimeError",
    "UnsupportedError",
    "EchoicMemoryError",
    "StateError",
    "NotFoundError",
]
