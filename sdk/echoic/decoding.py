"""Decoding options shared by :class:`echoic.Recognizer`, :class:`echoic.AdaptiveRecognizer`,
the CLI and ``echoic.evaluate``: one set of names, whose defaults are read from the core's
``RecognizerConfig`` (so a default lives in one place, the C++ struct).

    opts = echoic.DecodingOptions(decoding="beam", nbest=4)
    rec = echoic.Recognizer("echoic-small-en", options=opts)            # same as the keywords
    rec = echoic.Recognizer("echoic-small-en", decoding="beam", nbest=4)
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Union

import numpy as np

from ._native import native as _n

# Option -> attribute of the native RecognizerConfig it sets.
_NATIVE_NAME: Dict[str, str] = {
    "decoding": "decoding_method",
    "beam_size": "beam_size",
    "hotword_score": "hotword_score",
    "nbest": "nbest",
    "lm": "lm",
    "lm_scale": "lm_scale",
    "word_bonus": "word_bonus",
    "endpoint": "enable_endpoint",
    "rule1_min_trailing_silence": "rule1_min_trailing_silence",
    "rule2_min_trailing_silence": "rule2_min_trailing_silence",
    "rule3_max_utterance_length": "rule3_max_utterance_length",
    "threads": "intra_op_threads",
    "cpu_mem_arena": "cpu_mem_arena",
    "ort_library": "ort_library",
    "max_batch": "max_batch",
    "prepacking": "prepacking",
    "mem_pattern": "mem_pattern",
    "shared_arena": "shared_arena",
}
_CORE_DEFAULTS = _n.RecognizerConfig()


def _core_default(name: str) -> Any:
    value = getattr(_CORE_DEFAULTS, _NATIVE_NAME[name])
    if isinstance(value, float):
        # The core keeps float32: 0.8f reads back as 0.800000011920929; give the short decimal.
        return float(str(np.float32(value)))
    if name == "ort_library":
        return value or None  # "": the library's own resolution order
    return value


@dataclass(frozen=True)
class DecodingOptions:
    """How a recognizer decodes; everything but the model and the VAD.

    ``decoding``: "auto" (beam search when the model folder has a word LM, else greedy),
    "greedy" or "beam". ``beam_size`` 0: 16 with a word LM, else 4 (Whisper: 5).
    ``hotword_score``: default boost per hotword token. ``nbest`` > 1: up to that many
    distinct texts per final result (needs beam search). ``lm``: word LM for CTC beam
    search ("auto": the model folder's ``lm.arpa``; None: off; else an ARPA file), weighted
    by ``lm_scale`` plus ``word_bonus`` per word. ``endpoint`` and the three rules: when an
    utterance ends (trailing silence with nothing decoded, after speech, maximum length, in
    seconds). ``threads``: ONNX Runtime intra-op threads. ``cpu_mem_arena``,
    ``mem_pattern``, ``shared_arena``, ``prepacking``: ONNX Runtime memory options
    (benchmarks/memory/RESULTS.md). ``ort_library``: an explicit libonnxruntime path.
    ``max_batch``: streams per encoder run (0: chosen by the model, 1 for large per-stream
    states such as echoic-small-en's, else 8; ``config`` reports the choice).
    """

    decoding: str = _core_default("decoding")
    beam_size: int = _core_default("beam_size")
    hotword_score: float = _core_default("hotword_score")
    nbest: int = _core_default("nbest")
    lm: Union[str, "os.PathLike[str]", None] = _core_default("lm")
    lm_scale: float = _core_default("lm_scale")
    word_bonus: float = _core_default("word_bonus")
    endpoint: bool = _core_default("endpoint")
    rule1_min_trailing_silence: float = _core_default("rule1_min_trailing_silence")
    rule2_min_trailing_silence: float = _core_default("rule2_min_trailing_silence")
    rule3_max_utterance_length: float = _core_default("rule3_max_utterance_length")
    threads: int = _core_default("threads")
    cpu_mem_arena: bool = _core_default("cpu_mem_arena")
    ort_library: Optional[str] = _core_default("ort_library")
    max_batch: int = _core_default("max_batch")
    prepacking: bool = _core_default("prepacking")
    mem_pattern: bool = _core_default("mem_pattern")
    shared_arena: bool = _core_default("shared_arena")

    @classmethod
    def merged(cls, options: Optional["DecodingOptions"], overrides: Mapping[str, Any],
               what: str = "Recognizer") -> "DecodingOptions":
        """``options`` (default: the defaults) with the keyword arguments ``overrides`` on top;
        an unknown keyword is a TypeError, as for any function."""
        if options is not None and not isinstance(options, DecodingOptions):
            raise TypeError(f"{what}: options must be a DecodingOptions, got {type(options).__name__}")
        unknown = sorted(set(overrides) - set(_NATIVE_NAME))
        if unknown:
            raise TypeError(f"{what}() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}")
        base = options if options is not None else cls()
        return dataclasses.replace(base, **overrides) if overrides else base

    def native_config(self) -> "_n.RecognizerConfig":
        """The core's RecognizerConfig with these options (model and VAD left unset)."""
        cfg = _n.RecognizerConfig()
        for name, native_name in _NATIVE_NAME.items():
            value = getattr(self, name)
            if name == "lm":
                value = "" if value is None else os.fspath(value)
            elif name == "ort_library":
                value = value or ""
            setattr(cfg, native_name, value)
        return cfg


__all__ = ["DecodingOptions"]
