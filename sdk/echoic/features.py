"""Streaming audio front-end: Kaldi-compatible log-mel filterbank and resampling.

Everything is computed by the C++ core; this module only documents and types it.

Samples are used at the scale you pass. Kaldi/WeNet-style models expect the int16
range (multiply [-1, 1] audio by 32768); others expect [-1, 1].
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._native import native as _n

#: Options of the filterbank; construct with keywords, e.g. ``FbankOptions(num_bins=80)``.
#: Fields: sample_rate, num_bins, frame_length_ms, frame_shift_ms, preemph_coeff,
#: remove_dc_offset, window_type (povey/hamming/hanning/rectangular), snip_edges,
#: dither, dither_seed, low_freq, high_freq (<= 0: offset from Nyquist), use_energy,
#: energy_floor, raw_energy, use_log_fbank, use_power, round_to_power_of_two.
FbankOptions = _n.FbankOptions

#: Incremental filterbank. ``accept_waveform(samples)`` any number of times,
#: ``input_finished()`` at the end; ``num_frames_ready`` grows as frames complete and
#: ``get_frames(start, n)`` returns an ``(n, dim)`` float32 array. Any chunking gives
#: bit-identical frames. ``discard_frames_before(i)`` bounds memory on long streams.
OnlineFbank = _n.OnlineFbank

#: Streaming sample-rate converter (windowed sinc, Kaiser window, any rates 8-192 kHz).
#: ``process(chunk)`` returns what is ready, ``flush()`` returns the tail.
Resampler = _n.Resampler


def compute_fbank(samples: np.ndarray, sample_rate: int = 16000, **options: Any) -> np.ndarray:
    """Log-mel filterbank of a whole utterance as a ``(num_frames, dim)`` float32 array.

    ``samples`` is a 1-D float32 (or float64) array; ``options`` are
    :class:`FbankOptions` fields. Unknown options and NaN/Inf samples raise
    :class:`echoic.InvalidArgumentError`.
    """
    return _n.compute_fbank(samples, sample_rate=sample_rate, **options)


def resample(samples: np.ndarray, in_rate: int, out_rate: int) -> np.ndarray:
    """Resamples a whole 1-D signal (same result as streaming it through :class:`Resampler`)."""
    if in_rate == out_rate:
        return np.ascontiguousarray(samples, dtype=np.float32)
    r = Resampler(in_rate, out_rate)
    head = r.process(samples)
    return np.concatenate([head, r.flush()])


__all__ = ["FbankOptions", "OnlineFbank", "Resampler", "compute_fbank", "resample"]


def whisper_log_mel(samples: np.ndarray, n_mels: int = 80, num_frames: int = 3000) -> np.ndarray:
    """OpenAI Whisper's log-mel spectrogram as an ``(n_mels, num_frames)`` float32 array.

    ``samples`` is 16 kHz mono in [-1, 1]; it is zero-padded (or truncated) to
    ``num_frames * 160`` samples first, as Whisper pads each 30 s window (3000 frames).
    ``n_mels`` is 80 or 128 (large-v3).
    """
    return _n.whisper_log_mel(samples, n_mels=n_mels, num_frames=num_frames)
