"""Checked by mypy (tests/python/test_stubs.py, tests/run.sh): the public API is typed
through the native module's stubs, not Any. Never run."""
from __future__ import annotations

from typing import List

import echoic
from echoic import kws


def transcript_words(rec: echoic.Recognizer, path: str) -> List[str]:
    t = rec.transcribe(path)
    words: List[str] = []
    for seg in t.segments:
        r: echoic.Result = seg
        final: bool = r.is_final
        for w in r.words:
            word: echoic.Word = w
            start: float = word.start
            words.append(word.word if final and start >= 0 else "")
    return words


def keyword_times(path: str) -> List[float]:
    return [e.time for e in kws.KeywordSpotter(None).spot(path)]


def errors_are_typed(rec: echoic.Recognizer) -> str:
    try:
        rec.transcribe("missing.wav")
    except echoic.InvalidArgumentError as exc:
        as_value_error: ValueError = exc
        return str(as_value_error)
    except echoic.EchoicIOError as exc:
        as_os_error: OSError = exc
        return str(as_os_error)
    except echoic.EchoicError as exc:
        return str(exc)
    return ""
