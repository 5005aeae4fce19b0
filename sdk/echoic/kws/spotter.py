"""Always-on keyword spotting.

The C++ core runs the front-end, the sliding-window network, smoothing,
thresholds and the refractory period; this module converts inputs, resamples
and offers on-device personalization (see :mod:`echoic.kws.personalize`).

    kws = echoic.KeywordSpotter(thresholds={"porcupine": 0.7}, refractory=1.0)
    kws.accept(samples, sample_rate=16000)
    for e in kws.events():
        print(e.keyword, e.time, e.score)
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .. import audio as _audio
from .. import features as _features
from .._native import native as _n
from ..errors import InvalidArgumentError
from ..registry import resolve_model_file

KeywordEvent = _n.KeywordEvent
DEFAULT_KWS_MODEL = "echoic-kws-en"

Thresholds = Union[None, float, Mapping[str, float], Sequence[float]]


def resolve_kws_model(model: "str | os.PathLike[str] | None") -> Path:
    """A bundled keyword model name, a folder holding model.onnx, or an .onnx file."""
    return resolve_model_file("kws", model)


class KeywordSpotter:
    """Streaming spotter for the keywords of an echoic-kws model.

    ``thresholds``: one float for all keywords, a ``{keyword: threshold}`` dict
    (others keep the model default) or one value per keyword. ``keywords``
    restricts which keywords are reported. ``refractory`` (s) mutes detection
    after an event; ``smoothing`` is the moving-average length in hops.
    """

    def __init__(self, model: "str | os.PathLike[str] | None" = None, *, thresholds: Thresholds = None,
                 refractory: Optional[float] = None, smoothing: Optional[int] = None,
                 keywords: Optional[Iterable[str]] = None, max_batch: int = 16, threads: int = 1,
                 record_scores: bool = False) -> None:
        self.model_path = resolve_kws_model(model)
        self._model = _n.KwsModel(str(self.model_path), threads)
        info = self._model.info
        self.keywords: List[str] = list(info["keywords"])
        self.sample_rate: int = int(info["sample_rate"])
        self._only = None
        if keywords is not None:
            self._only = [str(k) for k in keywords]
            unknown = [k for k in self._only if k not in self.keywords]
            if unknown:
                raise InvalidArgumentError(
                    f"keyword model '{self.model_path}' has no keyword(s) {unknown} (it knows {self.keywords}); "
                    "use echoic.kws.spot_open_vocabulary for arbitrary text")
        self._opts = dict(refractory=-1.0 if refractory is None else float(refractory),
                          smoothing_hops=0 if smoothing is None else int(smoothing), max_batch=int(max_batch),
                          record_scores=bool(record_scores))
        self._thresholds = self._resolve_thresholds(thresholds, float(info["threshold"]))
        self._s = _n.KeywordSpotter(self._model, self._thresholds, **self._opts)
        self._resampler: Optional[Tuple[int, _features.Resampler]] = None

    def _resolve_thresholds(self, t: Thresholds, default: float) -> List[float]:
        if t is None:
            out = [default] * len(self.keywords)
        elif isinstance(t, (int, float)):
            out = [float(t)] * len(self.keywords)
        elif isinstance(t, Mapping):
            unknown = [k for k in t if k not in self.keywords]
            if unknown:
                raise InvalidArgumentError(f"thresholds for unknown keyword(s) {unknown}; the model knows "
                                           f"{self.keywords}")
            out = [float(t.get(k, default)) for k in self.keywords]
        else:
            out = [float(v) for v in t]
        return out

    @property
    def thresholds(self) -> Dict[str, float]:
        return dict(zip(self.keywords, self._s.thresholds))

    @property
    def refractory(self) -> float:
        return float(self._s.refractory)

    @property
    def info(self) -> dict:
        return dict(self._model.info)

    def accept(self, samples: "np.ndarray", sample_rate: int) -> None:
        """Adds audio (float in [-1, 1] or int16; any rate: resampled to the model's)."""
        a = _audio.from_array(samples, sample_rate, downmix=True)
        x = a.samples
        if a.sample_rate != self.sample_rate:
            if self._resampler is None or self._resampler[0] != a.sample_rate:
                self._resampler = (a.sample_rate, _features.Resampler(a.sample_rate, self.sample_rate))
            x = self._resampler[1].process(x)
        self._s.accept_waveform(x)

    def finish(self) -> None:
        """End of the stream: the last windows are scored."""
        if self._resampler is not None:
            self._s.accept_waveform(self._resampler[1].flush())
            self._resampler = None
        self._s.input_finished()

    def events(self) -> List["KeywordEvent"]:
        """Events found since the last call."""
        ev = self._s.take_events()
        return [e for e in ev if e.keyword in self._only] if self._only is not None else ev

    def scores(self) -> Tuple[np.ndarray, np.ndarray]:
        """(smoothed posteriors [windows, 1 + keywords], window end times) since the last call."""
        return self._s.take_scores()

    def reset(self) -> None:
        self._s.reset()
        self._resampler = None

    def spot(self, source: "str | os.PathLike[str] | np.ndarray", sample_rate: Optional[int] = None
             ) -> List["KeywordEvent"]:
        """All events of a whole file or array (the spotter is reset first)."""
        a = _audio.load(source, sample_rate, what="KeywordSpotter.spot")
        self.reset()
        self.accept(a.samples, a.sample_rate)
        self.finish()
        return self.events()

    def use_model(self, model: "str | os.PathLike[str]") -> None:
        """Switches to another (e.g. personalized) model with the same keywords and settings."""
        path = resolve_kws_model(model)
        m = _n.KwsModel(str(path), 1)
        if list(m.info["keywords"]) != self.keywords:
            raise InvalidArgumentError(f"model '{path}' has keywords {m.info['keywords']}, expected {self.keywords}")
        self.model_path, self._model = path, m
        self._s = _n.KeywordSpotter(self._model, self._thresholds, **self._opts)
        self._resampler = None

    def personalize(self, clips_by_keyword: Mapping[str, Sequence["np.ndarray"]],
                    negatives: Optional[Sequence["np.ndarray"]] = None, *, out: "str | os.PathLike[str]",
                    prune: float = 0.0, **options) -> dict:
        """Adapts the model to a user from a few 16 kHz clips per keyword (numpy only, no
        PyTorch), writes it to ``out`` and switches to it. ``prune`` > 0 also removes that
        share of channels (structured pruning). Pass ``unlabeled=[arrays]``, keyword-free
        ambient audio the device heard, to keep false alarms down (above all when pruning);
        other options: :func:`echoic.kws.personalize.personalize`. Returns a report (sizes,
        MACs, held-out scores)."""
        from . import personalize as _personalize

        report = _personalize.personalize(self.model_path, clips_by_keyword, negatives, out=out, prune=prune,
                                          **options)
        if report.get("accepted", True):
            self.use_model(out)
        return report


def spot(source: "str | os.PathLike[str] | np.ndarray", sample_rate: Optional[int] = None, *,
         model: "str | os.PathLike[str] | None" = None, **options) -> List["KeywordEvent"]:
    """Keyword events of a whole file or array with a fresh :class:`KeywordSpotter`."""
    return KeywordSpotter(model, **options).spot(source, sample_rate)


__all__ = ["KeywordSpotter", "KeywordEvent", "spot", "resolve_kws_model", "DEFAULT_KWS_MODEL"]
