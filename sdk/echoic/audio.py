"""Audio input: files, arrays and raw PCM to float32 samples in [-1, 1].

Decoding is done by soundfile (wav/flac/ogg); checks, conversions, downmixing and
resampling run in the C++ core. Bad input raises a typed error before anything is
returned: :class:`echoic.InvalidArgumentError` for unusable arrays/rates,
:class:`echoic.CorruptDataError` for damaged files, :class:`echoic.EchoicIOError` for
missing or unreadable files.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import BinaryIO, Optional, Sequence, Union

import numpy as np

from ._native import native as _n
from .errors import CorruptDataError, EchoicIOError, InvalidArgumentError
from .features import resample as _resample

MIN_SAMPLE_RATE: int = _n.MIN_SAMPLE_RATE
MAX_SAMPLE_RATE: int = _n.MAX_SAMPLE_RATE


@dataclass(frozen=True)
class Audio:
    """Decoded audio. ``samples`` is float32 in [-1, 1]: shape ``(frames,)`` when mono,
    ``(frames, channels)`` otherwise."""

    samples: np.ndarray
    sample_rate: int
    channels: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.samples.shape[0] / float(self.sample_rate)

    @property
    def num_frames(self) -> int:
        return int(self.samples.shape[0])


def _check_rate(sample_rate: object, what: str) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)):
        raise InvalidArgumentError(f"{what}: sample rate must be an integer number of Hz, got {sample_rate!r}")
    _n.validate_sample_rate(int(sample_rate), what)
    return int(sample_rate)


def _finish(x: np.ndarray, sample_rate: int, what: str, target_rate: Optional[int], downmix: bool,
            channel: Optional[int]) -> Audio:
    """x: float32 (frames,) or (frames, channels), already validated finite."""
    if x.shape[0] == 0:
        raise InvalidArgumentError(f"{what}: audio is empty (0 samples)")
    if x.ndim == 2:
        channels = x.shape[1]
        if channels == 1:
            x = np.ascontiguousarray(x[:, 0])
        elif channel is not None:
            x = _n.select_channel(x, int(channel))
        elif downmix:
            x = _n.downmix(x)
        elif channels > 2:
            raise InvalidArgumentError(
                f"{what}: {channels} channels; pass downmix=True to average them to mono "
                "or channel=N to pick one (only mono and stereo are kept as is)")
    out_rate = sample_rate
    if target_rate is not None:
        out_rate = _check_rate(target_rate, f"{what} target_rate")
        if out_rate != sample_rate:
            if x.ndim == 1:
                x = _resample(x, sample_rate, out_rate)
            else:
                x = np.stack([_resample(np.ascontiguousarray(x[:, c]), sample_rate, out_rate)
                              for c in range(x.shape[1])], axis=1)
    return Audio(samples=x, sample_rate=out_rate, channels=1 if x.ndim == 1 else int(x.shape[1]))


#: More channels than this (and than frames) in a 2-D array is taken as a channels-first mistake.
_MAX_CHANNELS = 32


def from_array(array: np.ndarray, sample_rate: int, *, target_rate: Optional[int] = None,
               downmix: bool = False, channel: Optional[int] = None) -> Audio:
    """Audio from a numpy array: int16/int32 PCM (scaled to [-1, 1)) or float32/float64
    (taken as is), shape ``(frames,)`` or ``(frames, channels)``.

    More than 2 channels need ``downmix=True`` (average) or ``channel=N``. NaN/Inf
    samples raise :class:`echoic.InvalidArgumentError` naming the first bad index.
    """
    what = "audio.from_array"
    sample_rate = _check_rate(sample_rate, what)
    a = np.asarray(array)
    if a.ndim not in (1, 2):
        raise InvalidArgumentError(f"{what}: expected shape (frames,) or (frames, channels), got {a.shape}")
    if a.ndim == 2 and a.shape[1] == 0:
        raise InvalidArgumentError(f"{what}: array has 0 channels")
    if a.ndim == 2 and a.shape[1] > _MAX_CHANNELS and a.shape[1] > a.shape[0]:
        # (channels, frames), e.g. np.stack([left, right]), would otherwise be read as a
        # few frames of thousands of channels and decode to nothing.
        raise InvalidArgumentError(
            f"{what}: shape {a.shape} looks channels-first; arrays are (frames, channels): pass array.T")
    if a.dtype.byteorder not in ("=", "|") and a.dtype.kind in "if":
        a = a.astype(np.dtype(f"{a.dtype.kind}{a.dtype.itemsize}"))  # e.g. big-endian PCM from a network buffer
    a = np.ascontiguousarray(a)
    if a.dtype == np.float32:
        _n.validate_samples(a, what)
        x = a.copy()
    elif a.dtype == np.float64:
        x = _n.float64_to_float(a, what)
    elif a.dtype == np.int16:
        x = _n.int16_to_float(a)
    elif a.dtype == np.int32:
        x = _n.int32_to_float(a)
    else:
        raise InvalidArgumentError(
            f"{what}: unsupported dtype {a.dtype} (use int16, int32, float32 or float64; "
            "8-bit PCM goes through from_pcm_bytes(..., sample_width=1))")
    return _finish(x, sample_rate, what, target_rate, downmix, channel)


def from_pcm_bytes(data: Union[bytes, bytearray, memoryview], sample_rate: int, sample_width: int = 2,
                   channels: int = 1, *, target_rate: Optional[int] = None, downmix: bool = False,
                   channel: Optional[int] = None) -> Audio:
    """Audio from raw little-endian interleaved PCM: ``sample_width`` 1 (unsigned 8-bit,
    as in WAV), 2 (int16) or 4 (int32)."""
    what = "audio.from_pcm_bytes"
    sample_rate = _check_rate(sample_rate, what)
    dtypes = {1: np.uint8, 2: np.dtype("<i2"), 4: np.dtype("<i4")}
    if sample_width not in dtypes:
        raise InvalidArgumentError(f"{what}: sample_width must be 1, 2 or 4 bytes, got {sample_width!r}")
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise InvalidArgumentError(f"{what}: channels must be a positive integer, got {channels!r}")
    buf = memoryview(data).cast("B")
    frame_bytes = sample_width * channels
    if len(buf) % frame_bytes != 0:
        raise InvalidArgumentError(
            f"{what}: {len(buf)} bytes is not a whole number of frames of {frame_bytes} bytes "
            f"({channels} channel(s) x {sample_width} byte(s)); the data is truncated or misdescribed")
    raw = np.frombuffer(buf, dtype=dtypes[sample_width])
    if sample_width == 1:
        x = _n.uint8_to_float(raw)
    elif sample_width == 2:
        x = _n.int16_to_float(raw.astype(np.int16))
    else:
        x = _n.int32_to_float(raw.astype(np.int32))
    if channels > 1:
        x = x.reshape(-1, channels)
    return _finish(x, sample_rate, what, target_rate, downmix, channel)


def _wav_truncation(head: bytes, size: int) -> Optional[str]:
    """For RIFF/WAVE content: a message if the data chunk runs past the end of the file.

    libsndfile quietly decodes a cut-off WAV to whatever is there, so a partial
    download would look like a shorter recording without this check."""
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
        return None
    order = "little" if head[:4] == b"RIFF" else "big"
    pos = 12
    while pos + 8 <= len(head):
        cid, csize = head[pos:pos + 4], int.from_bytes(head[pos + 4:pos + 8], order)
        if cid == b"data":
            if csize != 0xFFFFFFFF and pos + 8 + csize > size:
                return f"truncated: the data chunk declares {csize} bytes but only {size - pos - 8} are present"
            return None
        pos += 8 + csize + (csize & 1)
    return None


def read(source: Union[str, os.PathLike, BinaryIO], *, target_rate: Optional[int] = None,
         downmix: bool = False, channel: Optional[int] = None, dtype: type = np.float32) -> Audio:
    """Reads a wav/flac/ogg file (path or binary file object) into float32 samples in [-1, 1].

    ``target_rate`` resamples (C++ resampler); ``downmix`` averages channels to mono.
    Missing file: :class:`echoic.EchoicIOError`; damaged or unrecognised content:
    :class:`echoic.CorruptDataError`.
    """
    import soundfile as sf

    if np.dtype(dtype) != np.float32:
        raise InvalidArgumentError(f"audio.read: dtype must be float32, got {np.dtype(dtype)}")
    name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else getattr(source, "name", "<file object>")
    what = f"audio.read('{name}')"
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.exists(path):
            raise EchoicIOError(f"{what}: no such file")
        if os.path.isdir(path):
            raise EchoicIOError(f"{what}: is a directory")
        if not os.access(path, os.R_OK):
            raise EchoicIOError(f"{what}: permission denied")
        if os.path.getsize(path) == 0:
            raise CorruptDataError(f"{what}: file is empty (0 bytes)")
    if isinstance(source, (str, os.PathLike)):
        with open(os.fspath(source), "rb") as fh:
            head = fh.read(1 << 16)
        size = os.path.getsize(os.fspath(source))
    elif hasattr(source, "seek") and hasattr(source, "tell") and getattr(source, "seekable", lambda: True)():
        start = source.tell()
        head = source.read(1 << 16)
        source.seek(0, io.SEEK_END)
        size = source.tell() - start
        source.seek(start)
    else:
        head, size = b"", 0
    if head:
        problem = _wav_truncation(bytes(head), size)
        if problem:
            raise CorruptDataError(f"{what}: {problem}")
    elif not isinstance(source, (str, os.PathLike)) and size == 0 and hasattr(source, "seek"):
        raise CorruptDataError(f"{what}: file is empty (0 bytes)")
    try:
        with sf.SoundFile(source) as f:
            sample_rate = int(f.samplerate)
            expected = f.frames
            data = f.read(dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, EOFError) as exc:
        raise CorruptDataError(f"{what}: cannot decode audio ({exc})") from exc
    except OSError as exc:
        raise EchoicIOError(f"{what}: {exc}") from exc
    if expected > 0 and data.shape[0] < expected:
        raise CorruptDataError(f"{what}: truncated: header promises {expected} frames, file holds {data.shape[0]}")
    if data.shape[0] == 0:
        raise CorruptDataError(f"{what}: file holds no audio frames")
    try:
        _check_rate(sample_rate, what)
    except InvalidArgumentError as exc:
        raise CorruptDataError(str(exc)) from exc
    data = np.ascontiguousarray(data)
    try:
        _n.validate_samples(data, what)
    except InvalidArgumentError as exc:  # a float file with NaN/Inf is damaged content
        raise CorruptDataError(str(exc)) from exc
    if data.shape[1] == 1:
        data = np.ascontiguousarray(data[:, 0])
    return _finish(data, sample_rate, what, target_rate, downmix, channel)


#: What :func:`load` takes: a path, a binary file object, an :class:`Audio`, or samples.
Source = Union[str, "os.PathLike[str]", BinaryIO, Audio, np.ndarray, Sequence[float]]


def load(source: Source, sample_rate: Optional[int] = None, *, target_rate: Optional[int] = None,
         downmix: bool = True, channel: Optional[int] = None, what: str = "audio.load") -> Audio:
    """Audio from whatever a caller was given: a file (path or binary file object, read by
    :func:`read`), an :class:`Audio`, or samples at ``sample_rate`` (:func:`from_array`).

    ``sample_rate`` is required for samples; for a file it must match the file when given.
    Channels are averaged to mono unless ``downmix=False``; ``target_rate`` resamples.
    An ``Audio`` that already fits is returned as it is (it was checked when made).
    """
    if isinstance(source, Audio):
        fits = (target_rate is None or target_rate == source.sample_rate) and (
            source.channels == 1 or (not downmix and channel is None))
        if fits:
            return source
        return from_array(source.samples, source.sample_rate, target_rate=target_rate, downmix=downmix,
                          channel=channel)
    if isinstance(source, (str, os.PathLike)) or hasattr(source, "read"):
        a = read(source, downmix=downmix, channel=channel)  # type: ignore[arg-type]
        if sample_rate is not None and int(sample_rate) != a.sample_rate:
            name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else getattr(source, "name", "<file>")
            raise InvalidArgumentError(f"{what}: '{name}' is at {a.sample_rate} Hz, not the sample_rate={sample_rate} "
                                       "given")
        return a if target_rate is None else _finish(a.samples, a.sample_rate, what, target_rate, downmix, channel)
    if isinstance(source, (np.ndarray, list, tuple)):
        if sample_rate is None:
            raise InvalidArgumentError(f"{what}: samples need their sample_rate")
        return from_array(np.asarray(source), sample_rate, target_rate=target_rate, downmix=downmix, channel=channel)
    raise InvalidArgumentError(
        f"{what}: expected a path, a file object, an Audio or a numpy array, got {type(source).__name__}")


__all__ = ["Audio", "Source", "load", "read", "from_array", "from_pcm_bytes", "MIN_SAMPLE_RATE", "MAX_SAMPLE_RATE"]
