"""Streaming speech recognition: ``Recognizer``, ``Stream`` and ``Result``.

The C++ core does all the work (features, encoder, decoding, endpointing); this
module only converts inputs and offers generator and asyncio conveniences.

    rec = echoic.Recognizer()                  # bundled default model
    for r in rec.stream(chunks, sample_rate=16000):
        print("final" if r.is_final else "partial", r.text)
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import (
    Any,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import numpy as np

from . import audio as _audio
from ._native import native as _n
from .decoding import DecodingOptions
from .errors import InvalidArgumentError
from .registry import default_model, resolve_model

Result = _n.Result
Word = _n.Word
HotwordSpec = Union[str, Tuple[str, float]]
#: hotword text (str) or a list of phrases / (phrase, boost) pairs
Hotwords = Union[str, Iterable[HotwordSpec]]


def _hotword_list(hotwords: Union[str, Iterable[HotwordSpec], None]) -> List[Tuple[str, float]]:
    """Hotwords through the core's one grammar (``echoic_stream_create``'s): a str is hotword
    text (one phrase per line, optional TAB or `` :`` boost, ``#`` comments); a list holds
    phrases, lines of that grammar, or (phrase, boost) pairs. Phrases are normalised like
    transcripts, so ``["Go Forward!"]`` is ``go forward``."""
    if hotwords is None:
        return []
    if isinstance(hotwords, str):
        return list(_n.parse_hotwords(hotwords))
    lines: List[str] = []
    for h in hotwords:
        if isinstance(h, str):
            lines.append(h)
        else:
            phrase, score = h
            lines.append(f"{phrase}\t{float(score)!r}")
    return list(_n.parse_hotwords("\n".join(lines)))


class Stream:
    """One audio stream. Feed it audio; the recognizer decodes it. One owner at a time."""

    def __init__(self, recognizer: "Recognizer", native_stream: "_n.Stream") -> None:
        self._rec = recognizer
        self._s = native_stream
        self._webrtc: Optional[Any] = None  # WebRtcFrames once audio arrives, for vad="webrtc"

    @property
    def id(self) -> int:
        return self._s.id

    @property
    def state_bytes(self) -> int:
        """Bytes of encoder state this stream keeps (fixed, whatever the utterance length)."""
        return self._s.state_bytes

    def accept_waveform(self, samples: "np.ndarray", sample_rate: int) -> None:
        """Adds audio: float in [-1, 1] or int16, mono (or 2-channel, downmixed)."""
        a = _audio.from_array(samples, sample_rate, downmix=True)
        if getattr(self._rec, "_webrtc_aggressiveness", None) is None:
            self._s.accept_waveform(a.sample_rate, a.samples)
        else:
            self._report_webrtc(self._s.accept_waveform(a.sample_rate, a.samples, return_model_rate_audio=True))

    def _report_webrtc(self, x: "np.ndarray") -> None:
        # webrtcvad (a C extension; WebRTC's VAD is not in the core) judges 30 ms frames of the
        # audio the core already resampled; the core applies each decision when decoding reaches it.
        if self._webrtc is None:
            from .vad import WebRtcFrames

            aggressiveness = int(self._rec._webrtc_aggressiveness or 0)
            self._webrtc = WebRtcFrames(aggressiveness, self._rec._r.model_info["sample_rate"])
        frames = self._webrtc
        for speech in frames.feed(x):
            self._s.report_voice_activity(speech, frames.seconds)

    def input_finished(self) -> None:
        self._s.input_finished()

    @property
    def is_ready(self) -> bool:
        return self._rec._r.is_ready(self._s)

    @property
    def is_done(self) -> bool:
        return self._rec._r.is_done(self._s)

    def partial(self) -> Result:
        return self._rec._r.partial(self._s)

    def pop_final_results(self) -> List[Result]:
        return self._s.pop_final_results()


class _NewResults:
    """Finals not yet handed out, then the partial if its text changed since the last one."""

    def __init__(self, stream: Stream, partials: bool) -> None:
        self._s = stream
        self._partials = partials
        self._last = ""

    def take(self) -> List[Result]:
        out = list(self._s.pop_final_results())
        if out:
            self._last = ""
        if self._partials and not self._s.is_done:
            p = self._s.partial()
            if p.text and p.text != self._last:
                self._last = p.text
                out.append(p)
        return out


@dataclass
class Transcript:
    """The result of recognizing a whole file or array."""

    text: str
    segments: List[Result] = field(default_factory=list)

    @property
    def words(self) -> List[Word]:
        return [w for seg in self.segments for w in seg.words]


class Recognizer:
    """A streaming recognizer. Thread-safe; shares one model among many streams.

    ``model`` is a bundled model name, a model folder or an ``.onnx`` file: a
    streaming CTC model (``model.onnx``) or a streaming transducer (a folder with
    ``encoder.onnx``, ``decoder.onnx`` and ``joiner.onnx``); ``decoding="beam"``
    is CTC prefix beam search or transducer modified beam search.
    Decoding is set by ``options=`` (an :class:`echoic.DecodingOptions`) and/or its fields as
    keyword arguments (``decoding=``, ``beam_size=``, ``nbest=``, ``lm=``, ``lm_scale=``,
    ``word_bonus=``, ``hotword_score=``, ``endpoint=``, the endpoint rules, ``threads=``, the
    ONNX Runtime memory options...; keywords win over ``options``). ``lm="auto"`` uses the
    ``lm.arpa`` in the model folder when there is one (the bundled English models ship one);
    ``None`` turns it off; ``decoding="auto"`` is beam search when that LM is found, else
    greedy. ``nbest > 1`` gives each final result up to that many distinct texts in
    ``result.alternatives`` (best first, with the decoder's score).
    Endpointing (``endpoint=True``) ends an utterance after trailing silence: by
    default the decoder's blank frames measure it; ``vad="energy"``,
    ``vad="silero"`` (``vad_model=`` a silero_vad.onnx, default the bundled Silero VAD) or ``vad="webrtc"``
    (the webrtcvad package, ``vad_aggressiveness`` 0-3) measure it with a voice
    activity detector instead.
    """

    def __init__(
        self,
        model: "str | os.PathLike[str] | None" = None,
        *,
        tokens: "str | os.PathLike[str] | None" = None,
        options: Optional[DecodingOptions] = None,
        vad: Optional[str] = None,
        vad_model: "str | os.PathLike[str] | None" = None,
        vad_aggressiveness: int = 2,
        **decoding: Any,
    ) -> None:
        model_path, tokens_path = resolve_model(model if model is not None else default_model())
        self.options = DecodingOptions.merged(options, decoding, "Recognizer")
        cfg = self.options.native_config()
        cfg.model = str(model_path)
        cfg.tokens = str(tokens if tokens is not None else tokens_path)
        if vad_model is not None and vad is None:
            vad = "silero"
        self._webrtc_aggressiveness: Optional[int] = None
        if vad in ("webrtc", "external") and (model_path / "decoder.onnx").is_file() and model_path.is_dir() \
                and not (model_path / "joiner.onnx").exists():
            raise InvalidArgumentError(f"vad={vad!r} is not available with the Whisper model '{model_path}': it gates "
                                       "its windows with its own VAD; use vad='energy' (default) or vad='silero'")
        if vad == "webrtc":
            if int(vad_aggressiveness) not in (0, 1, 2, 3):
                raise InvalidArgumentError(f"vad_aggressiveness must be 0..3, got {vad_aggressiveness}")
            self._webrtc_aggressiveness = int(vad_aggressiveness)
            vad = "external"  # the core smooths and applies the decisions this module reports
        cfg.vad = vad or ""
        if vad == "silero" and vad_model is None:
            from .vad import default_silero_model

            vad_model = default_silero_model()  # the bundled Silero VAD unless $ECHOIC_VAD_MODEL
        cfg.vad_model = str(vad_model) if vad_model is not None else ""
        self._r = _n.Recognizer(cfg)
        self.model_path = model_path

    @property
    def decoding(self) -> str:
        """The decoding in use: "greedy" or "beam" ("auto" resolved)."""
        return self._r.decoding_method

    @property
    def word_lm(self) -> Optional[dict]:
        """The word LM in use (path, words, order, scale, word_bonus), or None."""
        return self._r.word_lm

    @property
    def model_info(self) -> dict:
        """Metadata the runtime read from the model (chunk size, vocab, state layout...)."""
        return dict(self._r.model_info)

    def memory_report(self, streams: int = 1) -> Dict[str, int]:
        """What this recognizer costs in memory, in bytes, as the core measured it (the same
        figures the memory-pressure fallback uses): ``model_file_bytes`` (on disk),
        ``load_bytes`` (resident growth while loading: weights, pre-packed copies, word LM),
        ``first_run_bytes`` (growth over the first decode: ONNX Runtime's arena and buffers;
        -1 before any decode), ``stream_bytes`` (per stream), and ``estimated_bytes`` for
        ``streams`` concurrent streams."""
        return dict(self._r.memory_report(streams))

    @property
    def sample_rate(self) -> int:
        return int(self._r.model_info["sample_rate"])

    def create_stream(self, hotwords: Optional[Hotwords] = None) -> Stream:
        """A new stream; ``hotwords`` are phrases (or (phrase, boost) pairs) to bias towards."""
        return Stream(self, self._r.create_stream(_hotword_list(hotwords)))

    def decode(self, streams: Sequence[Stream]) -> None:
        """Decodes one chunk of every ready stream, batched through the encoder."""
        self._r.decode([s._s for s in streams])

    def decode_available(self, stream: Stream) -> None:
        self._r.decode_available(stream._s)

    def stream(
        self,
        chunks: Iterable["np.ndarray"],
        sample_rate: int,
        *,
        partials: bool = True,
        hotwords: Optional[Hotwords] = None,
    ) -> Iterator[Result]:
        """Yields results while audio chunks arrive: partials (if asked) and finals."""
        s = self.create_stream(hotwords)
        news = _NewResults(s, partials)
        for chunk in chunks:
            s.accept_waveform(chunk, sample_rate)
            self.decode_available(s)
            yield from news.take()
        s.input_finished()
        self.decode_available(s)
        yield from news.take()

    async def astream(
        self,
        chunks: AsyncIterable["np.ndarray"],
        sample_rate: int,
        *,
        partials: bool = True,
        hotwords: Optional[Hotwords] = None,
    ) -> AsyncIterator[Result]:
        """Asyncio variant of :meth:`stream`; decoding runs off the event loop."""
        import asyncio  # imported here: asyncio costs ~5 MB of RSS that sync users never need

        s = self.create_stream(hotwords)
        news = _NewResults(s, partials)
        async for chunk in chunks:
            s.accept_waveform(chunk, sample_rate)
            await asyncio.to_thread(self.decode_available, s)
            for r in news.take():
                yield r
        s.input_finished()
        await asyncio.to_thread(self.decode_available, s)
        for r in news.take():
            yield r

    def segments(
        self,
        source: "str | os.PathLike[str] | np.ndarray | _audio.Audio",
        sample_rate: Optional[int] = None,
        *,
        chunk_ms: Optional[float] = 1000.0,
        hotwords: Optional[Hotwords] = None,
        progress: Optional[Callable[[float, float], None]] = None,
    ) -> Iterator[Result]:
        """Final results of a whole file or array, yielded while it is decoded (lazily: a long
        file's first segments arrive before its end is read). ``progress(done_s, total_s)`` is
        called after each ``chunk_ms`` of audio. Same results as :meth:`transcribe`."""
        a = _audio.load(source, sample_rate, what="transcribe")
        samples = a.samples
        step = len(samples) if not chunk_ms else max(1, int(a.sample_rate * chunk_ms / 1000))
        total = len(samples) / a.sample_rate

        def chunks() -> Iterator["np.ndarray"]:
            for i in range(0, len(samples), step):
                yield samples[i : i + step]
                if progress is not None:
                    progress(min(i + step, len(samples)) / a.sample_rate, total)

        yield from self.stream(chunks(), a.sample_rate, partials=False, hotwords=hotwords)

    def transcribe(
        self,
        source: "str | os.PathLike[str] | np.ndarray | _audio.Audio",
        sample_rate: Optional[int] = None,
        *,
        chunk_ms: Optional[float] = None,
        hotwords: Optional[Hotwords] = None,
        progress: Optional[Callable[[float, float], None]] = None,
    ) -> Transcript:
        """Recognizes a whole file or array (fed in ``chunk_ms`` chunks, or at once); see
        :meth:`segments` for the results one by one while it runs."""
        segments = list(self.segments(source, sample_rate, chunk_ms=chunk_ms, hotwords=hotwords, progress=progress))
        text = " ".join(r.text for r in segments if r.text)
        return Transcript(text=text, segments=segments)
