"""Open-vocabulary keyword spotting: any keyword text, found by the streaming
recognizer (CTC prefix beam search biased towards the keywords as hotwords),
then matched against the recognized words. Slower and more expensive than the
always-on :class:`echoic.KeywordSpotter`, but needs no training per keyword."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from .. import audio as _audio
from ..errors import InvalidArgumentError
from ..text import normalize as normalize_text


@dataclass
class OpenVocabularyEvent:
    keyword: str
    time: float   # end of the keyword's last word (s)
    score: float  # mean confidence of its words


def _norm_words(text: str) -> List[str]:
    return normalize_text(text).split()


def spot_open_vocabulary(source: "str | os.PathLike[str] | np.ndarray", keywords: Sequence[str], *,
                         sample_rate: Optional[int] = None, model: "str | os.PathLike[str] | None" = None,
                         hotword_score: float = 2.0, beam_size: int = 8, min_score: float = 0.0,
                         recognizer=None) -> List[OpenVocabularyEvent]:
    """Events for every occurrence of a keyword phrase in the recognizer's words.

    ``model`` defaults to the recognizer's default (``whisper-tiny.en`` with the ``[whisper]``
    extra; the bundled ``echoic-small-en`` finds few keywords on real speech).
    ``recognizer``: an :class:`echoic.Recognizer` built with ``decoding="beam"`` to reuse
    across calls (then ``model``, ``hotword_score`` and ``beam_size`` are its own)."""
    from ..asr import Recognizer
    from ..registry import default_model

    phrases = [(k, _norm_words(k)) for k in keywords]
    if not phrases or any(not w for _, w in phrases):
        raise InvalidArgumentError(f"open-vocabulary keywords must be non-empty text, got {list(keywords)}")
    # No word LM: keywords are arbitrary text, often outside its lexicon.
    rec = recognizer or Recognizer(model or default_model(), decoding="beam", beam_size=beam_size, lm=None,
                                   hotword_score=hotword_score)
    a = _audio.load(source, sample_rate, what="spot_open_vocabulary")
    words = rec.transcribe(a, hotwords=[" ".join(w) for _, w in phrases]).words
    toks = [(_norm_words(w.word), w) for w in words]
    flat = [(t, w) for ts, w in toks for t in ts]
    out: List[OpenVocabularyEvent] = []
    for kw, pw in phrases:
        for i in range(len(flat) - len(pw) + 1):
            if [t for t, _ in flat[i:i + len(pw)]] == pw:
                ws = [w for _, w in flat[i:i + len(pw)]]
                score = float(np.mean([getattr(w, "confidence", 1.0) for w in ws]))
                if score >= min_score:
                    out.append(OpenVocabularyEvent(kw, float(ws[-1].end), score))
    out.sort(key=lambda e: e.time)
    return out


__all__ = ["OpenVocabularyEvent", "spot_open_vocabulary"]
