"""echoic: on-device streaming speech recognition.

The work happens in the C++ core (``_echoic``); this package adds Python ergonomics.
"""
from ._native import native as _native
from .errors import (
    CorruptDataError,
    EchoicError,
    EchoicIOError,
    EchoicMemoryError,
    InvalidArgumentError,
    ModelError,
    NotFoundError,
    OnnxRuntimeError,
    StateError,
    UnsupportedError,
)
from .index import EmbeddingIndex

__version__: str = _native.version()

__all__ = [
    "__version__",
    "CorruptDataError",
    "EchoicError",
    "EchoicIOError",
    "EchoicMemoryError",
    "EmbeddingIndex",
    "InvalidArgumentError",
    "ModelError",
    "NotFoundError",
    "OnnxRuntimeError",
    "StateError",
    "UnsupportedError",
]
