"""echoic: on-device streaming speech recognition.

The work happens in the C++ core (``_echoic``); this package adds Python ergonomics.
Without the compiled core, the pure-Python modules still import (``echoic.text``,
``echoic.kws.model``: the training recipes use them); anything else raises the
ImportError that says how to build it.
"""
from typing import TYPE_CHECKING, Any, Optional

try:
    from ._native import native as _native
except ImportError as _exc:
    _NATIVE_ERROR: Optional[ImportError] = _exc
else:
    _NATIVE_ERROR = None
    from . import audio, features, vad
    from .adaptive import AdaptiveRecognizer, AdaptiveStream
    from .asr import Recognizer, Result, Stream, Transcript, Word
    from .clib import c_header_path, c_library_path
    from .decoding import DecodingOptions
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
    from .ort import Session, load_ort_library, ort_library_info, ort_library_path, ort_version

    __version__: str = _native.version()

if TYPE_CHECKING:
    from . import kws, speaker
    from .index import EmbeddingIndex
    from .kws import KeywordEvent, KeywordSpotter, spot

# Imported on first use: the index (hashlib, hence libcrypto) and the keyword/speaker modules
# cost a few MB of resident memory that a process only recognizing speech never needs.
_LAZY = {"EmbeddingIndex": ("index", "EmbeddingIndex"), "speaker": ("speaker", None),
         "kws": ("kws", None),
         "KeywordEvent": ("kws", "KeywordEvent"), "KeywordSpotter": ("kws", "KeywordSpotter"), "spot": ("kws", "spot")}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        if _NATIVE_ERROR is not None and not name.startswith("__"):
            raise _NATIVE_ERROR
        raise AttributeError(f"module 'echoic' has no attribute '{name}'")
    import importlib

    module, attr = _LAZY[name]
    mod = importlib.import_module(f".{module}", __name__)
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value
    return value


__all__ = [
    "__version__",
    "audio",
    "features",
    "vad",
    "AdaptiveRecognizer",
    "AdaptiveStream",
    "DecodingOptions",
    "speaker",
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
