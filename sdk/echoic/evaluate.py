"""Word error rate of a model on a folder of audio with ``transcripts.tsv``.

The set is a folder whose ``transcripts.tsv`` has a header row with (at least)
the columns ``file`` and ``transcript``; ``file`` is relative to the folder.
Reference and hypothesis both go through ``echoic.text.normalize`` (lower-case,
punctuation stripped, numbers spelled as words) unless another normalizer is given.
"""
from __future__ import annotations

import csv
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from . import audio as _audio
from .errors import CorruptDataError, NotFoundError
from .text import edit_distance, error_counts, normalize


@dataclass
class FileScore:
    file: str
    ref: str  # normalized
    hyp: str  # normalized
    ref_words: int
    substitutions: int
    deletions: int
    insertions: int
    duration: float
    seconds: float  # decoding wall time

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def wer(self) -> Optional[float]:
        return self.errors / self.ref_words if self.ref_words else None


@dataclass
class EvalReport:
    model: str
    set: str
    files: List[FileScore] = field(default_factory=list)

    @property
    def ref_words(self) -> int:
        return sum(f.ref_words for f in self.files)

    @property
    def substitutions(self) -> int:
        return sum(f.substitutions for f in self.files)

    @property
    def deletions(self) -> int:
        return sum(f.deletions for f in self.files)

    @property
    def insertions(self) -> int:
        return sum(f.insertions for f in self.files)

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def wer(self) -> float:
        return self.errors / self.ref_words if self.ref_words else float("nan")

    @property
    def cer(self) -> float:
        """Character error rate over the normalized texts (spaces count as characters).
        Shows how close a spelling-level model is when most words still miss."""
        chars = sum(len(f.ref) for f in self.files)
        errs = sum(edit_distance(list(f.ref), list(f.hyp)) for f in self.files)
        return errs / chars if chars else float("nan")

    @property
    def duration(self) -> float:
        return sum(f.duration for f in self.files)

    @property
    def rtf(self) -> float:
        d = self.duration
        return sum(f.seconds for f in self.files) / d if d > 0 else float("nan")

    def to_dict(self) -> dict:
        return {
            "model": self.model, "set": self.set, "wer": self.wer, "cer": self.cer, "ref_words": self.ref_words,
            "substitutions": self.substitutions, "deletions": self.deletions, "insertions": self.insertions,
            "duration": round(self.duration, 3), "rtf": self.rtf,
            "files": [dict(asdict(f), wer=f.wer) for f in self.files],
        }


def read_transcripts(set_dir: "str | os.PathLike[str]") -> List[Tuple[Path, str]]:
    """(audio path, reference text) for every row of ``set_dir/transcripts.tsv``."""
    d = Path(set_dir)
    tsv = d / "transcripts.tsv"
    if not tsv.is_file():
        raise NotFoundError(f"evaluation set '{d}' has no transcripts.tsv")
    with open(tsv, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows:
        raise CorruptDataError(f"'{tsv}' has no rows")
    if "file" not in rows[0] or "transcript" not in rows[0]:
        raise CorruptDataError(f"'{tsv}' needs the columns 'file' and 'transcript' (has {', '.join(rows[0])})")
    out = []
    for n, r in enumerate(rows, 2):
        if not r["file"] or r["transcript"] is None:
            raise CorruptDataError(f"'{tsv}' line {n}: empty file name or missing transcript")
        p = d / r["file"]
        if not p.is_file():
            raise NotFoundError(f"'{tsv}' line {n}: audio file '{p}' does not exist")
        out.append((p, r["transcript"]))
    return out


def score(file: str, ref: str, hyp: str, duration: float, seconds: float,
          normalizer: Callable[[str], str] = normalize) -> FileScore:
    r, h = normalizer(ref), normalizer(hyp)
    s, d, i = error_counts(r.split(), h.split())
    return FileScore(file=file, ref=r, hyp=h, ref_words=len(r.split()), substitutions=s, deletions=d,
                     insertions=i, duration=duration, seconds=seconds)


def evaluate(
    model: "str | os.PathLike[str]",
    set_dir: "str | os.PathLike[str]",
    *,
    chunk_ms: Optional[float] = None,
    normalizer: Callable[[str], str] = normalize,
    recognizer=None,
    on_file: Optional[Callable[[FileScore], None]] = None,
    **recognizer_options,
) -> EvalReport:
    """Transcribes every file of the set (streaming, in ``chunk_ms`` chunks or whole) and scores it."""
    items = read_transcripts(set_dir)
    if recognizer is None:
        from .asr import Recognizer

        recognizer = Recognizer(model, **recognizer_options)
    report = EvalReport(model=str(model), set=str(set_dir))
    for path, ref in items:
        a = _audio.read(path, downmix=True)
        start = time.perf_counter()
        hyp = recognizer.transcribe(a, chunk_ms=chunk_ms).text
        elapsed = time.perf_counter() - start
        fs = score(path.name, ref, hyp, a.duration, elapsed, normalizer)
        report.files.append(fs)
        if on_file:
            on_file(fs)
    return report
