"""Microphone capture (``echoic mic``, ``echoic kws --mic``) through the optional
sounddevice package (``pip install 'echoic[mic]'`` and the PortAudio library).

Audio is captured at the device's own rate, since many sound cards refuse 16 kHz;
recognizer and keyword spotter resample whatever rate they are given.
"""
from __future__ import annotations

import queue
from typing import Any, Iterator, Optional, Union

import numpy as np

from .errors import EchoicIOError, UnsupportedError


def _sounddevice() -> Any:
    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:  # OSError: sounddevice without the PortAudio library
        raise UnsupportedError(f"microphone capture needs sounddevice and PortAudio: pip install 'echoic[mic]' "
                               f"(and e.g. apt install libportaudio2) ({exc})") from exc
    return sd


class Microphone:
    """One input device, mono float32. ``device``: index or name substring (default: the
    system's); ``sample_rate``: capture rate (default: the device's); ``chunk_ms``: block length.
    Raises :class:`echoic.UnsupportedError` without sounddevice/PortAudio and
    :class:`echoic.EchoicIOError` when the device cannot be used."""

    def __init__(self, device: Union[int, str, None] = None, sample_rate: Optional[int] = None,
                 chunk_ms: float = 100.0) -> None:
        self._sd = _sounddevice()
        try:
            info = self._sd.query_devices(device, kind="input")
        except (ValueError, self._sd.PortAudioError) as exc:
            raise EchoicIOError(f"no usable input device ({exc})") from exc
        self.device = device
        self.name: str = str(info["name"])
        self.sample_rate = int(sample_rate or info["default_samplerate"])
        self.block = max(1, int(self.sample_rate * chunk_ms / 1000))
        self.overflows = 0  # blocks the driver dropped (input overflow) so far

    def chunks(self, duration: Optional[float] = None) -> Iterator[np.ndarray]:
        """Yields blocks of samples while the device is open; ends after ``duration`` seconds
        or on Ctrl-C (so the consumer still finishes what it has, e.g. the open utterance)."""
        limit = int(duration * self.sample_rate) if duration else None
        q: "queue.Queue[np.ndarray]" = queue.Queue()

        def callback(indata, frames, time_info, status):  # runs on the audio thread
            if status and status.input_overflow:
                self.overflows += 1
            q.put(indata[:, 0].copy())

        with self._sd.InputStream(device=self.device, samplerate=self.sample_rate, channels=1, dtype="float32",
                                  blocksize=self.block, callback=callback):
            got = 0
            try:
                while limit is None or got < limit:
                    try:
                        x = q.get(timeout=0.2)
                    except queue.Empty:
                        continue
                    if limit is not None:
                        x = x[: limit - got]
                    got += len(x)
                    yield x
            except KeyboardInterrupt:
                return


__all__ = ["Microphone"]
