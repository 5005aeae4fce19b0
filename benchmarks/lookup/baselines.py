"""Baselines for benchmarks/lookup: the log-mel template and d-vector keyword lookup that echoic
shipped before the Whisper word embeddings (sdk/echoic/keyword_lookup.py then). Kept here only to be
compared against; they find a word said again by the same voice.

Each enrolled recording is trimmed to its speech span and turned into one vector;
the stream is cut into sliding windows of the same length and every window's
vector is matched against the enrolled ones in an :class:`echoic.EmbeddingIndex`
(namespace ``"keywords"``). Two embedding sources (measured in
benchmarks/speaker/RESULTS.md):

* ``"template"`` (default): the C++ log-mel front-end, mean-normalised over the
  window and average-pooled into ``segments`` equal time slices (a DTW-free
  template; keeps the word's temporal shape).
* ``"dvector"``: the speaker d-vector model's window embeddings (80-frame windows,
  centred on the word at enrollment). Speaker-centric, so weaker at telling words apart.

Labels in the index are ``"<keyword>@<frames>"`` so reopened indexes know each
template's window length.
"""
from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from echoic import audio as _audio
from echoic._native import native as _n
from echoic.errors import InvalidArgumentError, ModelError, NotFoundError
from echoic.index import EmbeddingIndex
from echoic.speaker import AudioLike, SpeakerModel

NAMESPACE = "keywords"
SAMPLE_RATE = 16000
HOP = 160  # 10 ms frames


@dataclass(frozen=True)
class Detection:
    keyword: str
    start: float  # seconds
    end: float
    score: float


def _samples(audio: AudioLike, sample_rate: Optional[int] = None) -> np.ndarray:
    if isinstance(audio, (str, os.PathLike)):
        a = _audio.read(audio, target_rate=SAMPLE_RATE, downmix=True)
    elif isinstance(audio, _audio.Audio):
        a = _audio.from_array(audio.samples, audio.sample_rate, target_rate=SAMPLE_RATE, downmix=True)
    elif isinstance(audio, np.ndarray):
        a = _audio.from_array(audio, sample_rate or SAMPLE_RATE, target_rate=SAMPLE_RATE, downmix=True)
    else:
        raise InvalidArgumentError(f"keyword_lookup: expected a path, Audio or array, got {type(audio).__name__}")
    if a.samples.size < 400:
        raise InvalidArgumentError(f"keyword_lookup: audio too short ({a.samples.size} samples)")
    return a.samples


def speech_span(feats: np.ndarray) -> Tuple[int, int]:
    """[first, last+1) frames whose energy is above halfway (in log units) between the
    clip's noise floor (10th percentile) and its peak."""
    e = np.log10(np.sum(np.power(10.0, feats.astype(np.float64)), axis=1) + 1e-10)
    floor, peak = np.percentile(e, 10), e.max()
    active = np.nonzero(e > floor + 0.5 * (peak - floor))[0]
    if active.size == 0:
        return 0, len(feats)
    return int(active[0]), int(active[-1]) + 1


def template_vectors(feats: np.ndarray, length: int, segments: int, stride: int) -> Tuple[np.ndarray, np.ndarray]:
    """Templates of every window of ``length`` frames every ``stride`` frames: the window's
    mean removed, pooled into ``segments`` slices, flattened, L2-normalised. Returns
    (vectors (windows, segments*bins), start frames)."""
    T, B = feats.shape
    if T < length:
        feats = np.concatenate([feats, np.repeat(feats[-1:], length - T, axis=0)])
        T = length
    starts = np.arange(0, T - length + 1, stride)
    c = np.concatenate([np.zeros((1, B)), np.cumsum(feats.astype(np.float64), axis=0)])
    edges = np.linspace(0, length, segments + 1).round().astype(int)
    edges[1:] = np.maximum(edges[1:], edges[:-1] + 1)
    edges = np.minimum(edges, length)
    mean = (c[starts + length] - c[starts]) / length
    pooled = np.stack([(c[starts + b] - c[starts + a]) / max(b - a, 1) for a, b in zip(edges[:-1], edges[1:])], 1)
    v = (pooled - mean[:, None, :]).reshape(len(starts), -1)
    v /= np.linalg.norm(v, axis=1, keepdims=True) + 1e-12
    return v.astype(np.float32), starts


class KeywordLookup:
    """Enroll keywords by example and find them in audio. ``method``: ``template`` or
    ``dvector`` (needs ``model``, a :class:`SpeakerModel` or its path)."""

    def __init__(self, index_path: Union[str, "os.PathLike[str]"], method: str = "template",
                 model: Union[SpeakerModel, str, None] = None, threshold: Optional[float] = None,
                 segments: int = 16, stride: int = 2) -> None:
        if method not in ("template", "dvector"):
            raise InvalidArgumentError(f"KeywordLookup: method must be template or dvector, got {method!r}")
        self.method = method
        self.segments = int(segments)
        self.stride = int(stride)
        if self.segments < 1 or self.stride < 1:
            raise InvalidArgumentError("KeywordLookup: segments and stride must be >= 1")
        self.model: Optional[SpeakerModel] = None
        if method == "dvector":
            self.model = model if isinstance(model, SpeakerModel) else SpeakerModel(model)
            encoder_id, dim = self.model.encoder_id, self.model.dim
        else:
            encoder_id, dim = f"logmel-template-{self.segments}x40", self.segments * 40
        # Thresholds from benchmarks/speaker/RESULTS.md (keyword section).
        self.threshold = float(threshold) if threshold is not None else (0.80 if method == "template" else 0.70)
        self.encoder_id = encoder_id
        self._mel = _n.MelSpectrogram({})  # the d-vector model's log-mel front-end (40 bins, 10 ms)
        path = os.fspath(index_path)
        if os.path.exists(path):
            self.index = EmbeddingIndex.open(path)
            if self.index.encoder_id != encoder_id:
                got = self.index.encoder_id
                self.index.close()
                raise ModelError(f"keyword index '{path}' holds '{got}' vectors, this lookup makes '{encoder_id}'")
        else:
            self.index = EmbeddingIndex.create(path, dim, metric="cosine", encoding="flat", encoder_id=encoder_id)

    def _features(self, x: np.ndarray) -> np.ndarray:
        return self._mel.compute(x)

    def _window_frames(self) -> int:
        return self.model.config["frames_per_window"] if self.model else 0

    def enroll(self, keyword: str, clips: Union[AudioLike, Sequence[AudioLike]]) -> np.ndarray:
        if not isinstance(keyword, str) or not keyword or "@" in keyword:
            raise InvalidArgumentError("KeywordLookup.enroll: keyword must be a non-empty string without '@'")
        if isinstance(clips, (str, os.PathLike, np.ndarray, _audio.Audio)):
            clips = [clips]
        clips = list(clips)
        if not 1 <= len(clips) <= 5:
            raise InvalidArgumentError(f"KeywordLookup.enroll('{keyword}'): give 1 to 5 recordings, got {len(clips)}")
        vecs, labels = [], []
        for clip in clips:
            x = _samples(clip)
            f = self._features(x)
            a, b = speech_span(f)
            if self.method == "template":
                v, _ = template_vectors(f[a:b], b - a, self.segments, 1)
                vecs.append(v[0])
                labels.append(f"{keyword}@{b - a}")
            else:
                w = self._window_frames()
                centre = (a + b) // 2
                s0 = max(0, min(centre - w // 2, max(len(f) - w, 0)))
                e, _ = self.model.embed_windows(x[s0 * HOP: (s0 + w) * HOP + 512])
                vecs.append(e[0])
                labels.append(f"{keyword}@{w}")
        return self.index.add(np.stack(vecs), labels=labels, namespace=NAMESPACE, encoder_id=self.encoder_id)

    def _entries(self) -> List[Tuple[int, str]]:
        ids, labels = self.index.entries(NAMESPACE)
        return [(int(i), lab) for i, lab in zip(ids, labels)]

    def keywords(self) -> List[str]:
        return sorted({lab.rsplit("@", 1)[0] for _, lab in self._entries()})

    def remove(self, keyword: str) -> int:
        ids = [i for i, lab in self._entries() if lab.rsplit("@", 1)[0] == keyword]
        if not ids:
            raise NotFoundError(f"keyword '{keyword}' is not enrolled in '{self.index.path}'")
        self.index.remove(ids)
        return len(ids)

    def scores(self, audio: AudioLike, sample_rate: Optional[int] = None) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
        """Per keyword: (window start seconds, best cosine to its enrolled examples)."""
        x = _samples(audio, sample_rate)
        lengths = defaultdict(set)
        for _, lab in self._entries():
            kw, n = lab.rsplit("@", 1)
            lengths[int(n)].add(kw)
        if not lengths:
            raise NotFoundError(f"no keyword enrolled in '{self.index.path}'")
        feats = self._features(x) if self.method == "template" else None
        out: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}
        n_all = len(self.index)
        for length, kws in lengths.items():
            if self.method == "template":
                q, starts = template_vectors(feats, length, self.segments, self.stride)
                start_s = starts * HOP / SAMPLE_RATE
            else:
                q, start_samples = self.model.embed_windows(x, stride=self.stride)
                start_s = start_samples / SAMPLE_RATE
            s, _, labels = self.index.search(q, k=n_all, namespace=NAMESPACE, encoder_id=self.encoder_id)
            for kw in kws:
                want = f"{kw}@{length}"
                best = np.full(len(q), -1.0, np.float32)
                for r in range(len(q)):
                    hits = [sc for sc, lab in zip(s[r], labels[r]) if lab == want]
                    if hits:
                        best[r] = max(hits)
                out[kw] = (start_s, best)
        return out

    def detect(self, audio: AudioLike, sample_rate: Optional[int] = None,
               threshold: Optional[float] = None) -> List[Detection]:
        """Peaks above the threshold, at most one per window length (non-maximum suppression)."""
        thr = self.threshold if threshold is None else float(threshold)
        dets: List[Detection] = []
        for kw, (start_s, sc) in self.scores(audio, sample_rate).items():
            length_s = self._length_s(kw)
            order = np.argsort(sc)[::-1]
            taken: List[float] = []
            for i in order:
                if sc[i] < thr:
                    break
                if all(abs(start_s[i] - t) >= length_s for t in taken):
                    taken.append(float(start_s[i]))
                    dets.append(Detection(kw, float(start_s[i]), float(start_s[i] + length_s), float(sc[i])))
        return sorted(dets, key=lambda d: d.start)

    def _length_s(self, kw: str) -> float:
        ns = [int(lab.rsplit("@", 1)[1]) for _, lab in self._entries() if lab.rsplit("@", 1)[0] == kw]
        return max(ns) * HOP / SAMPLE_RATE

    def close(self) -> None:
        self.index.close()

    def __enter__(self) -> "KeywordLookup":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
