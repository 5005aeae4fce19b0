"""Voice activity detection: where in the audio someone is speaking.

Every detector runs in echoic's C++ core and shares one smoothing rule
(hysteresis): speech starts once the frame speech probability stays at or above
``threshold`` for ``min_speech_ms``; it ends after ``min_silence_ms`` below
``neg_threshold`` (default ``threshold - 0.15``); segments are padded by
``speech_pad_ms`` on each side. Defaults (0.5, 250 ms, 100 ms, 30 ms) follow the
official Silero wrapper; raise ``min_silence_ms`` (e.g. 500) to keep sentences
with pauses in one segment.

Detectors:

* :class:`SileroVad`: the Silero VAD v5/v6 ONNX model (best; needs the model file).
* :class:`EnergyVad`: frame energy against an adaptive noise floor; no model,
  but any loud sound counts as speech.
* :class:`WebRtcVad`: the ``webrtcvad`` package's decisions (10/20/30 ms frames),
  reported to the core detector, which smooths them.
"""
from __future__ import annotations

import os
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from ._compat import renamed_argument
from ._native import native as _n
from .errors import InvalidArgumentError
from .registry import resolve_model_file

Segment = Tuple[float, float]
"""(start, end) of a speech segment, in seconds since the detector was created."""

def default_silero_model() -> str:
    """``$ECHOIC_VAD_MODEL`` when set, else the bundled Silero VAD (MIT; source and licence in
    its folder)."""
    return str(resolve_model_file("vad"))


_SMOOTHING_KEYS = ("threshold", "neg_threshold", "min_speech_ms", "min_silence_ms", "speech_pad_ms")


class _Detector:
    """Shared behaviour of the detectors (wraps a native ``VoiceActivityDetector``)."""

    _d: Any

    def __init__(self, native: Any) -> None:
        self._d = native
        self._all: List[Segment] = []
        self._taken = 0

    @property
    def sample_rate(self) -> int:
        """Sample rate (Hz) the detector expects."""
        return int(self._d.sample_rate)

    def accept(self, samples: Union[np.ndarray, Sequence[float]], sample_rate: Optional[int] = None) -> None:
        """Feed mono float samples in [-1, 1]; any chunking gives the same result.

        ``sample_rate`` defaults to :attr:`sample_rate`; a different rate raises
        :class:`echoic.InvalidArgumentError` (resample first), as do NaN/Inf samples
        and int16-scaled values."""
        rate = self.sample_rate if sample_rate is None else int(sample_rate)
        self._d.accept(np.asarray(samples, dtype=np.float32), rate)

    @property
    def trailing_silence(self) -> float:
        """Seconds of non-speech at the end of the audio accepted so far."""
        return float(self._d.trailing_silence)

    @property
    def speech_since_reset(self) -> bool:
        """Whether speech was confirmed since the last :meth:`reset_segment`."""
        return bool(self._d.speech_since_reset)

    def reset_segment(self) -> None:
        """Start a new utterance: forget :attr:`speech_since_reset` (model state is kept)."""
        self._d.reset_segment()

    def flush(self) -> None:
        """End of input: close a speech segment still open."""
        self._d.flush()

    def _collect(self) -> None:
        self._all.extend((float(a), float(b)) for a, b in self._d.take_segments())

    def take_segments(self) -> List[Segment]:
        """Segments finished since the previous call."""
        self._collect()
        new = self._all[self._taken :]
        self._taken = len(self._all)
        return list(new)

    def segments(self) -> List[Segment]:
        """All segments finished so far (call :meth:`flush` first at end of input)."""
        self._collect()
        return list(self._all)

    def clone(self) -> "_Detector":
        """A detector with fresh state, the same options and a shared model (one per stream)."""
        new = object.__new__(type(self))
        _Detector.__init__(new, self._d.clone())
        new._copy_config(self)
        return new

    def _copy_config(self, other: "_Detector") -> None:
        pass


class SileroVad(_Detector):
    """Silero VAD v5/v6 (``silero_vad.onnx``) at 16 kHz or 8 kHz; ``model_path`` defaults to
    :func:`default_silero_model` (the bundled model unless ``$ECHOIC_VAD_MODEL`` is set).

    Raises :class:`echoic.ModelError` if the file is not a Silero v5/v6 model,
    :class:`echoic.NotFoundError` if it is missing."""

    def __init__(
        self,
        model_path: Union[str, os.PathLike, None] = None,
        threshold: float = 0.5,
        min_speech_ms: int = 250,
        min_silence_ms: int = 100,
        speech_pad_ms: int = 30,
        neg_threshold: float = -1.0,
        sample_rate: int = 16000,
        threads: int = 1,
        intra_op_threads: Optional[int] = None,
    ) -> None:
        threads = renamed_argument("SileroVad", "intra_op_threads", intra_op_threads, "threads", threads)
        super().__init__(
            _n.SileroVad(
                str(resolve_model_file("vad", model_path)),
                sample_rate=int(sample_rate),
                threshold=float(threshold),
                neg_threshold=float(neg_threshold),
                min_speech_ms=int(min_speech_ms),
                min_silence_ms=int(min_silence_ms),
                speech_pad_ms=int(speech_pad_ms),
                intra_op_threads=int(threads),
            )
        )

    def probabilities(self, on: bool = True) -> None:
        """Record each 32 ms window's speech probability (read with :meth:`take_probabilities`)."""
        self._d.set_record_probabilities(bool(on))

    def take_probabilities(self) -> np.ndarray:
        return np.asarray(self._d.take_probabilities(), dtype=np.float32)


class EnergyVad(_Detector):
    """Energy against an adaptive noise floor; no model needed. Limits: loud
    non-speech (music, slams, babble) counts as speech, the floor must be learnt
    from some non-speech, and speech close to the noise floor is missed."""

    def __init__(
        self,
        sample_rate: int = 16000,
        frame_ms: int = 20,
        snr_db: float = 10.0,
        threshold: float = 0.5,
        min_speech_ms: int = 250,
        min_silence_ms: int = 100,
        speech_pad_ms: int = 30,
        neg_threshold: float = -1.0,
    ) -> None:
        super().__init__(
            _n.EnergyVad(
                sample_rate=int(sample_rate),
                frame_ms=int(frame_ms),
                snr_db=float(snr_db),
                threshold=float(threshold),
                neg_threshold=float(neg_threshold),
                min_speech_ms=int(min_speech_ms),
                min_silence_ms=int(min_silence_ms),
                speech_pad_ms=int(speech_pad_ms),
            )
        )


class WebRtcFrames:
    """Cuts audio into webrtcvad frames (across chunk borders) and returns its decisions.

    Shared by :class:`WebRtcVad` and the recognizer's ``vad="webrtc"`` gate."""

    def __init__(self, aggressiveness: int, sample_rate: int, frame_ms: int = 30) -> None:
        import webrtcvad

        self._vad = webrtcvad.Vad(int(aggressiveness))
        self.sample_rate = int(sample_rate)
        self._frame = self.sample_rate * int(frame_ms) // 1000
        self.seconds = int(frame_ms) / 1000.0
        self._pending = np.zeros(0, dtype=np.int16)

    def feed(self, x: np.ndarray) -> List[bool]:
        pcm = np.clip(np.round(np.asarray(x, dtype=np.float32) * 32767.0), -32768, 32767).astype(np.int16)
        buf = np.concatenate([self._pending, pcm]) if self._pending.size else pcm
        whole = buf.size // self._frame * self._frame
        out = [bool(self._vad.is_speech(buf[i : i + self._frame].tobytes(), self.sample_rate))
               for i in range(0, whole, self._frame)]
        self._pending = buf[whole:].copy()
        return out


class WebRtcVad(_Detector):
    """Google's WebRTC VAD (the ``webrtcvad`` package) with echoic's smoothing.

    ``aggressiveness`` 0 (keeps most audio) to 3 (drops most non-speech);
    ``frame_ms`` 10, 20 or 30; ``sample_rate`` 8000, 16000, 32000 or 48000."""

    def __init__(
        self,
        aggressiveness: int = 2,
        sample_rate: int = 16000,
        frame_ms: int = 30,
        min_speech_ms: int = 250,
        min_silence_ms: int = 100,
        speech_pad_ms: int = 30,
    ) -> None:
        try:
            import webrtcvad  # noqa: F401  (here, so that a missing package is named)
        except ImportError as exc:  # pragma: no cover - optional dependency
            raise ImportError("WebRtcVad needs the webrtcvad package: pip install webrtcvad-wheels") from exc
        if int(aggressiveness) not in (0, 1, 2, 3):
            raise InvalidArgumentError(f"WebRtcVad: aggressiveness must be 0..3, got {aggressiveness}")
        if int(frame_ms) not in (10, 20, 30):
            raise InvalidArgumentError(f"WebRtcVad: frame_ms must be 10, 20 or 30, got {frame_ms}")
        if int(sample_rate) not in (8000, 16000, 32000, 48000):
            raise InvalidArgumentError(
                f"WebRtcVad: sample_rate must be 8000, 16000, 32000 or 48000, got {sample_rate}"
            )
        super().__init__(
            _n.ExternalVad(
                sample_rate=int(sample_rate),
                min_speech_ms=int(min_speech_ms),
                min_silence_ms=int(min_silence_ms),
                speech_pad_ms=int(speech_pad_ms),
            )
        )
        self._aggressiveness = int(aggressiveness)
        self._frame_ms = int(frame_ms)
        self._frames = WebRtcFrames(self._aggressiveness, int(sample_rate), self._frame_ms)

    def accept(self, samples: Union[np.ndarray, Sequence[float]], sample_rate: Optional[int] = None) -> None:
        x = np.asarray(samples, dtype=np.float32)
        super().accept(x, sample_rate)  # the core validates rate, shape, NaN and range
        for speech in self._frames.feed(x):
            self._d.report(speech, self._frames.seconds)

    def _copy_config(self, other: "_Detector") -> None:
        assert isinstance(other, WebRtcVad)
        self._aggressiveness = other._aggressiveness
        self._frame_ms = other._frame_ms
        self._frames = WebRtcFrames(other._aggressiveness, other._frames.sample_rate, other._frame_ms)


def speech_segments(
    audio_or_path: Union[np.ndarray, Sequence[float], str, os.PathLike],
    method: str = "silero",
    model: Optional[Union[str, os.PathLike]] = None,
    sample_rate: Optional[int] = None,
    **options: Any,
) -> List[Segment]:
    """Speech segments (start, end) in seconds of a whole recording.

    ``audio_or_path``: a file (read by :func:`echoic.audio.read`; channels are averaged) or
    an array at ``sample_rate`` (default 16000); audio at a rate the detector does not take
    is resampled to 16 kHz. ``method``: ``"silero"``
    (``model``, default :func:`default_silero_model`), ``"webrtc"`` or ``"energy"``.
    Other keyword options go to the detector (e.g. ``min_silence_ms=500``).
    """
    from . import audio as _audio

    if sample_rate is None and not isinstance(audio_or_path, (str, os.PathLike)):
        sample_rate = 16000  # samples with no rate given
    clip = _audio.load(audio_or_path, sample_rate, what="speech_segments")
    rate = clip.sample_rate
    supported = {"silero": (16000, 8000), "webrtc": (16000, 8000, 32000, 48000)}.get(method)
    if supported and rate not in supported:  # resample to a rate the detector takes
        clip = _audio.from_array(clip.samples, rate, target_rate=supported[0])
        rate = clip.sample_rate
    audio = clip.samples
    if method == "silero":
        model = model or default_silero_model()
        det: _Detector = SileroVad(model, sample_rate=rate, **options)
    elif method == "webrtc":
        det = WebRtcVad(sample_rate=rate, **options)
    elif method == "energy":
        det = EnergyVad(sample_rate=rate, **options)
    else:
        raise InvalidArgumentError(f"unknown VAD method {method!r} (use 'silero', 'webrtc' or 'energy')")
    det.accept(audio, rate)
    det.flush()
    return det.segments()


__all__ = ["EnergyVad", "Segment", "SileroVad", "WebRtcVad", "default_silero_model", "speech_segments"]
