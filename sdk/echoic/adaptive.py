"""Memory-pressure fallback: ``AdaptiveRecognizer`` keeps recognizing when memory
tightens by moving streams to a smaller model tier, and back when it relaxes.

    rec = echoic.AdaptiveRecognizer(tiers=["big-dir", "small-dir"], memory_budget="300MB",
                                    on_model_switch=lambda a, b, why: print(a, "->", b, why))
    for r in rec.stream(chunks, sample_rate=16000):
        print(r.model, r.text)

Same stream / transcribe / generator API as :class:`echoic.Recognizer`; each
``Result.model`` names the tier that produced it. The C++ core does the work
(monitor thread, policy, re-decoding); this module converts arguments and
delivers switch events to ``on_model_switch`` on the caller's thread.
"""
from __future__ import annotations

import os
from typing import Any, Callable, List, Optional, Sequence, Union

import numpy as np

from . import asr as _asr
from ._native import native as _n
from .asr import Hotwords, Result, _hotword_list
from .decoding import DecodingOptions
from .registry import DEFAULT_TIERS, resolve_model

ByteSize = Union[int, str]
PRESSURE_LEVELS = ("none", "moderate", "low", "critical")


def parse_byte_size(size: ByteSize) -> int:
    """300MB, '1.5G', 65536 -> bytes (k/M/G are binary multiples)."""
    if isinstance(size, (int, np.integer)):
        if size < 0:
            raise _n.InvalidArgumentError(f"memory size must be >= 0 bytes, got {size}")
        return int(size)
    return int(_n.parse_byte_size(str(size)))


def read_memory(budget: ByteSize = 0) -> dict:
    """One reading of the memory sources (cgroup v2/v1, /proc/meminfo, budget vs RSS)."""
    return dict(_n.read_memory(parse_byte_size(budget)))


def process_rss() -> int:
    return int(_n.process_rss())


class AdaptiveStream(_asr.Stream):
    """A stream that may move between tiers; it keeps its open segment's audio to re-decode it."""

    @property
    def tier(self) -> str:
        """Name of the tier the stream is on now."""
        return self._s.tier

    @property
    def buffered_seconds(self) -> float:
        return self._s.buffered_seconds

    @property
    def state_bytes(self) -> int:  # not tracked across tiers
        raise AttributeError("state_bytes is not available on adaptive streams")

    def partial(self) -> Result:
        r = self._rec._r.partial(self._s)
        self._rec._dispatch()
        return r


class AdaptiveRecognizer:
    """A recognizer over model tiers (biggest first) that falls back under memory pressure.

    ``tiers``: model names, folders or .onnx files, biggest first (at least one);
    default: the bundled ``echoic-small-en`` then ``echoic-tiny-en``.
    ``memory_budget``: bytes the process may use (compared with its RSS); 0 = none.
    ``low_watermark`` / ``high_watermark``: headroom below which a tier is dropped,
    and above which (plus the bigger tier's size, for ``upgrade_after`` seconds)
    the bigger tier comes back. ``preload_fallback`` keeps the next smaller tier
    loaded as well, so a switch down does not wait for a load. ``on_model_switch(from, to, reason)`` is called
    on the thread that uses the recognizer, right after the call that saw it.
    Decoding: ``options=`` (:class:`echoic.DecodingOptions`) and/or its fields as keywords,
    as for :class:`echoic.Recognizer`; they apply to every tier.
    """

    # The generator / asyncio / transcribe helpers only use create_stream and
    # decode_available, so they are shared with Recognizer as they are.
    stream = _asr.Recognizer.stream
    astream = _asr.Recognizer.astream
    segments = _asr.Recognizer.segments
    transcribe = _asr.Recognizer.transcribe

    def __init__(
        self,
        tiers: Optional[Sequence["str | os.PathLike[str]"]] = None,
        *,
        memory_budget: ByteSize = 0,
        low_watermark: ByteSize = "64MB",
        high_watermark: ByteSize = "128MB",
        upgrade_after: float = 10.0,
        down_interval: float = 1.0,
        poll_interval: float = 0.5,
        system_probes: bool = True,
        max_buffer_seconds: float = 30.0,
        preload_fallback: bool = False,
        on_model_switch: Optional[Callable[[str, str, str], None]] = None,
        options: Optional[DecodingOptions] = None,
        **decoding: Any,
    ) -> None:
        if tiers is None:
            tiers = DEFAULT_TIERS
        if isinstance(tiers, (str, os.PathLike)) or not tiers:
            raise _n.InvalidArgumentError("tiers must be a non-empty list of models, biggest first")
        specs = []
        for t in tiers:
            model_path, tokens_path = resolve_model(t)
            if model_path.is_dir():  # a transducer folder
                name = model_path.name
            else:
                name = model_path.parent.name if model_path.name == "model.onnx" else model_path.stem
            specs.append((name, str(model_path), str(tokens_path)))
        self.options = DecodingOptions.merged(options, decoding, "AdaptiveRecognizer")
        cfg = self.options.native_config()
        self.on_model_switch = on_model_switch
        self.events: List[tuple] = []  # every (from, to, reason) seen, in order
        self._r = _n.AdaptiveRecognizer(
            specs, cfg,
            memory_budget=parse_byte_size(memory_budget),
            low_watermark=parse_byte_size(low_watermark),
            high_watermark=parse_byte_size(high_watermark),
            upgrade_after=float(upgrade_after),
            down_interval=float(down_interval),
            poll_interval=float(poll_interval),
            system_probes=bool(system_probes),
            max_buffer_seconds=float(max_buffer_seconds),
            preload_fallback=bool(preload_fallback),
        )
        self._dispatch()

    def _dispatch(self) -> None:
        for ev in self._r.pop_events():
            self.events.append(ev)
            if self.on_model_switch is not None:
                self.on_model_switch(*ev)

    # ---- the Recognizer-shaped API --------------------------------------------------
    @property
    def sample_rate(self) -> int:
        return int(self._r.sample_rate)

    def create_stream(self, hotwords: Optional[Hotwords] = None) -> AdaptiveStream:
        s = AdaptiveStream(self, self._r.create_stream(_hotword_list(hotwords)))
        self._dispatch()
        return s

    def decode(self, streams: Sequence[AdaptiveStream]) -> None:
        self._r.decode([s._s for s in streams])
        self._dispatch()

    def decode_available(self, stream: AdaptiveStream) -> None:
        self._r.decode_available(stream._s)
        self._dispatch()

    # ---- memory ----------------------------------------------------------------------
    def signal_memory_pressure(self, level: "str | int") -> None:
        """From the host app (like Android onTrimMemory): none, moderate, low or critical.
        low steps one tier down, critical goes to the smallest, moderate blocks moving up."""
        self._r.signal_memory_pressure(level)
        self._dispatch()

    def set_memory_budget(self, budget: ByteSize) -> None:
        self._r.set_budget(parse_byte_size(budget))
        self._dispatch()

    def evaluate(self) -> None:
        """Reads memory now and applies the policy (the monitor thread also does this)."""
        self._r.evaluate()
        self._dispatch()

    def switch_to(self, tier: "int | str", reason: str = "requested") -> None:
        idx = self.tier_names.index(tier) if isinstance(tier, str) else int(tier)
        self._r.switch_to(idx, reason)
        self._dispatch()

    @property
    def tier_names(self) -> List[str]:
        return list(self._r.tier_names)

    @property
    def current_tier(self) -> str:
        return self._r.current_tier_name

    @property
    def counters(self) -> dict:
        """switches_down, switches_up, failed_loads, streams_moved, redecoded_seconds, overflow_finalizations."""
        return dict(self._r.counters)

    @property
    def memory_state(self) -> dict:
        return dict(self._r.memory_state)

    def tier_stats(self, tier: "int | str") -> dict:
        idx = self.tier_names.index(tier) if isinstance(tier, str) else int(tier)
        return dict(self._r.tier_stats(idx))
