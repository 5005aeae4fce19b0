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
from .clib import c_header_path, c_library_path
from .ort import Session, load_ort_library, ort_library_info, ort_library_path, ort_version
from . import audio, features, vad
from .asr import Recognizer, Result, Stream, Transcript, Word
from .adaptive import AdaptiveRecognizer, AdaptiveStream
from .index import EmbeddingIndex
from . import speaker, keyword_lookup
from .kws import KeywordEvent, KeywordSpotter, spot
from . import kws

__version__: str = _native.version()

__all__ = [
    "__version__",
    "audio",
    "features",
    "vad",
    "AdaptiveRecognizer",
    "AdaptiveStream",
    "speaker",
    "keyword_lookup",
    "Recognizer",
    "KeywordSpotter",
    "KeywordEvent",
    "kws",
    "spot",
    "Result",
    "Stream",
    "Transcript",
    "Word",
    "Session",
    "c_header_path",
    "c_library_path",
    "load_ort_library",
    "ort_library_info",
    "ort_library_path",
    "ort_version",
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
