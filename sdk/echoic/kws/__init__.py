"""Keyword spotting.

* :mod:`echoic.kws.spotter`: the always-on :class:`KeywordSpotter` (a small keyword model).
* :mod:`echoic.kws.open_vocabulary`: any keyword text, found by the streaming recognizer.
* :mod:`echoic.kws.personalize`: on-device adaptation and pruning of a keyword model.
* :mod:`echoic.kws.model`: the keyword network as numpy arrays (ONNX import/export).
* :mod:`echoic.kws.lookup`: keyword lookup by example (enroll a word from recordings, find it
  spoken by anyone), over Whisper encoder states and the embedding index.

Names are imported on first use, so ``echoic.kws.model`` (used by the training recipe)
imports without the compiled core.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import lookup, model, open_vocabulary, personalize, spotter  # noqa: F401
    from .lookup import KeywordLookup  # noqa: F401
    from .open_vocabulary import OpenVocabularyEvent, spot_open_vocabulary
    from .spotter import (  # noqa: F401
        DEFAULT_KWS_MODEL,
        KeywordEvent,
        KeywordSpotter,
        Thresholds,
        resolve_kws_model,
        spot,
    )

_SUBMODULES = ("lookup", "model", "open_vocabulary", "personalize", "spotter")
_NAMES = {
    "DEFAULT_KWS_MODEL": "spotter", "KeywordEvent": "spotter", "KeywordSpotter": "spotter", "Thresholds": "spotter",
    "resolve_kws_model": "spotter", "spot": "spotter",
    "OpenVocabularyEvent": "open_vocabulary", "spot_open_vocabulary": "open_vocabulary", "KeywordLookup": "lookup",
}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    elif name in _NAMES:
        value = getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    else:
        raise AttributeError(f"module 'echoic.kws' has no attribute '{name}'")
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_SUBMODULES) | set(_NAMES))


__all__ = ["KeywordSpotter", "KeywordEvent", "spot", "resolve_kws_model", "DEFAULT_KWS_MODEL",
           "OpenVocabularyEvent", "spot_open_vocabulary"]
