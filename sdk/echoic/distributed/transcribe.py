"""Batch transcription on a Ray cluster: audio files in, JSON Lines out, every file exactly once.

    from echoic.distributed import transcribe_files
    report = transcribe_files(["archive/**/*.wav"], "out/transcripts.jsonl", address="auto")
    print(report.summary())

The files go through a Ray Data pipeline (``map_batches`` over an actor pool: one
:class:`echoic.Recognizer` per actor, loaded once, one CPU each). Each actor decodes its files
exactly as ``echoic transcribe`` does (:func:`echoic.cli.transcribe.decode_audio`) and writes
the same JSON object (:func:`~echoic.cli.transcribe.transcript_json`, ``schema`` 2) plus
``error``: null, or, for a file that cannot be read or decoded, the empty fields and ``error``
``{"type": <echoic error class>, "message": ...}`` (:func:`~echoic.cli.transcribe.error_json`).
A failing file never stops the job.

One stream per file, files one after another inside an actor: batching several files' streams
through ``Recognizer.decode`` changes Whisper's numerics (2 of the 21 speech-dev texts and
most confidences differ from ``echoic transcribe``) and was slower on the 2-core machine
measured (9.2 s against 7.1 s for 21 files), so parallelism comes from actors, not streams.

Exactly once: only the driver writes the output. It appends each result as one line, flushes
and fsyncs it, and keeps the set of files already written (``file`` is the absolute path, the
key). A task that Ray retries after a worker or node died can deliver a file twice; the second
copy is dropped. A rerun reads the output first and skips the files in it (errors included;
delete their lines to try them again); a line cut short by a crash of the driver is cut off
before appending. When the pipeline itself fails (objects lost with a node), the driver starts
it again on the files not yet written, up to ``attempts`` times.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Set, Tuple, Union

import numpy as np

from ..errors import CorruptDataError, EchoicError, EchoicIOError, NotFoundError
from ._ray import connect, disconnect, import_ray

PathLike = Union[str, "os.PathLike[str]"]


def expand_files(files: Iterable[PathLike]) -> List[str]:
    """Absolute paths of ``files``, in order, each once; a pattern with ``*``, ``?`` or ``[``
    that is not itself a file expands to its sorted matches (``**`` recursive). A pattern with
    no match is NotFoundError; a plain path that does not exist stays (its line records the error)."""
    import glob

    out: List[str] = []
    seen: Set[str] = set()
    for f in files:
        f = os.fspath(f)
        if any(c in f for c in "*?[") and not os.path.exists(f):
            matches = sorted(glob.glob(f, recursive=True))
            if not matches:
                raise NotFoundError(f"no file matches '{f}'")
        else:
            matches = [f]
        for m in matches:
            key = os.path.abspath(m)
            if key not in seen:
                seen.add(key)
                out.append(key)
    return out


def transcribe_one(rec, path: str, model: str, chunk_ms: float = 100.0, hotwords=None) -> dict:
    """The output object of one file: `echoic transcribe --json`'s, with ``error`` (null, or the
    exception's class name and message when the file could not be read or decoded)."""
    from .. import audio as _audio
    from ..cli.transcribe import decode_audio, error_json, transcript_json

    try:
        a = _audio.load(path)
        t, elapsed = decode_audio(rec, a, chunk_ms, hotwords)
    except Exception as exc:  # recorded in the output; the job goes on
        return error_json(path, exc, model)
    out = transcript_json(path, t, a.duration, elapsed, model)
    out["error"] = None
    return out


class Transcriber:
    """The actor of the pool: one Recognizer, loaded when the actor starts."""

    def __init__(self, model: str, options=None, chunk_ms: float = 100.0, hotwords=None) -> None:
        from ..asr import Recognizer

        self.model, self.chunk_ms, self.hotwords = model, chunk_ms, hotwords
        self.rec = Recognizer(model, options=options)

    def __call__(self, batch: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        files = [str(f) for f in batch["file"]]
        lines = [json.dumps(transcribe_one(self.rec, f, self.model, self.chunk_ms, self.hotwords), ensure_ascii=False)
                 for f in files]
        return {"file": np.asarray(files, dtype=object), "line": np.asarray(lines, dtype=object)}


class JsonlOutput:
    """The output file: which files it already holds, and appends that are on disk when they return.

    Locked (flock) while open: a second driver on the same output is refused, not interleaved."""

    def __init__(self, path: PathLike) -> None:
        self.path = Path(path)
        self.done: Set[str] = set()
        self.repaired = ""  # what was cut off the end on open, if anything
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._f = open(self.path, "a+b")
        except OSError as exc:
            raise EchoicIOError(f"cannot open the output '{self.path}': {exc}") from exc
        try:
            fcntl.flock(self._f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._f.close()
            raise EchoicIOError(f"'{self.path}' is being written by another process") from None
        self._read()

    def _read(self) -> None:
        self._f.seek(0)
        data = self._f.read()
        end = 0
        for n, line in enumerate(data.splitlines(keepends=True), 1):
            if not line.endswith(b"\n"):
                break  # the driver died while writing this line: never acknowledged, cut it off
            try:
                key = json.loads(line)["file"]
            except (ValueError, KeyError, TypeError) as exc:
                raise CorruptDataError(f"'{self.path}' line {n} is not an output record ({exc}); "
                                       "fix or remove it") from None
            self.done.add(key)
            end += len(line)
        if end < len(data):
            self.repaired = data[end:].decode("utf-8", "replace")
            self._f.truncate(end)
            os.fsync(self._f.fileno())
        self._f.seek(0, os.SEEK_END)

    def append(self, key: str, line: str) -> bool:
        """Writes ``line`` unless ``key`` is already in the file; durable (fsync) when it returns True."""
        if key in self.done:
            return False
        self._f.write(line.encode("utf-8") + b"\n")
        self._f.flush()
        os.fsync(self._f.fileno())
        self.done.add(key)
        return True

    def close(self) -> None:
        self._f.close()


@dataclass
class TranscribeReport:
    """What a run did. ``files`` distinct inputs; ``skipped`` already in the output before it;
    ``written`` lines this run appended (``failed`` of them error records); ``duplicates``
    results dropped because their file was already written (tasks retried by Ray)."""

    output: str
    files: int = 0
    skipped: int = 0
    written: int = 0
    failed: int = 0
    duplicates: int = 0
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    first_result_seconds: Optional[float] = None
    workers: int = 0
    attempts: int = 0

    @property
    def files_per_second(self) -> float:
        return self.written / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def audio_per_wall(self) -> float:
        """Seconds of audio transcribed per second of wall time (the inverse of the job's RTF)."""
        return self.audio_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def progress_line(self) -> str:
        todo = self.files - self.skipped
        return (f"{self.written}/{todo} files ({self.failed} failed), {self.files_per_second:.2f} files/s, "
                f"{self.audio_per_wall:.1f} s of audio per wall s")

    def summary(self) -> str:
        return (f"{self.progress_line()}; {self.skipped} already in {self.output}, {self.duplicates} duplicate "
                f"results dropped, {self.workers} workers, {self.attempts} attempt(s), {self.wall_seconds:.1f} s")


def _from_text(text: str) -> Exception:
    """The echoic error a traceback's text ends with (``echoic.NotFoundError: no model ...``), rebuilt;
    an EchoicError with that last line when it names no echoic error."""
    from .. import errors

    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        m = re.match(r"^(?:echoic\.)?(\w+): (.*)$", line)
        if m and m.group(1) in errors.__all__:
            msg = m.group(2)
            if len(msg) > 1 and msg[0] == msg[-1] == '"':  # a KeyError-based error's str() quotes it
                msg = msg[1:-1]
            return getattr(errors, m.group(1))(msg)
    return errors.EchoicError(f"the recognizer actors could not start: {lines[-1] if lines else text}")


def _cause(exc: BaseException) -> Optional[BaseException]:
    """The error of the actors' own code inside a pipeline failure (a model that cannot load), if any:
    such a failure is not retried. None for a failure of the cluster (lost node, lost objects)."""
    ray = import_ray()
    seen = 0
    e: Optional[BaseException] = exc
    while e is not None and seen < 16:
        if isinstance(e, ray.exceptions.RayActorError) and getattr(e, "actor_init_failed", False):
            return _from_text(str(e))  # the Recognizer could not be built (the original is not kept)
        if isinstance(e, ray.exceptions.RayTaskError):
            cause = getattr(e, "cause", None)
            if isinstance(cause, Exception) and not isinstance(cause, ray.exceptions.RayError):
                return cause
            if cause is not None and cause is not e:
                e = cause
                seen += 1
                continue
            return e
        e = e.__cause__ or e.__context__
        seen += 1
    return None


def build_dataset(files: List[str], workers: int, actor_class: type, actor_kwargs: dict, files_per_task: int = 1):
    """The Ray Data pipeline: the files as rows (``files_per_task`` per block, so a task that is
    lost takes little work with it), ``actor_class(**actor_kwargs)`` mapped over them by a pool of
    up to ``workers`` actors of one CPU each (fewer when a node is gone), rows of (file, line)."""
    ray = import_ray()
    per = max(1, int(files_per_task))
    ds = ray.data.from_items([{"file": k} for k in files], override_num_blocks=max(1, -(-len(files) // per)))
    pool = ray.data.ActorPoolStrategy(min_size=1, max_size=workers, initial_size=min(workers, len(files)))
    return ds.map_batches(actor_class, fn_constructor_kwargs=actor_kwargs, batch_size=per, batch_format="numpy",
                          compute=pool, num_cpus=1)


def _record(out: JsonlOutput, report: TranscribeReport, row: dict, t0: float,
            progress: Optional[Callable[[TranscribeReport], None]]) -> None:
    """One result from the pipeline into the output (unless its file is already there) and the report."""
    if not out.append(str(row["file"]), str(row["line"])):
        report.duplicates += 1
        return
    rec = json.loads(row["line"])
    report.written += 1
    report.failed += rec.get("error") is not None
    report.audio_seconds += rec.get("duration") or 0.0
    report.wall_seconds = time.perf_counter() - t0
    if report.first_result_seconds is None:
        report.first_result_seconds = report.wall_seconds
    if progress is not None:
        progress(report)


def transcribe_files(
    files: Iterable[PathLike],
    output: PathLike,
    *,
    address: Optional[str] = None,
    model: Optional[str] = None,
    options=None,
    chunk_ms: float = 100.0,
    hotwords: Optional[List[Tuple[str, float]]] = None,
    workers: Optional[int] = None,
    attempts: int = 3,
    files_per_task: int = 1,
    progress: Optional[Callable[[TranscribeReport], None]] = None,
) -> TranscribeReport:
    """Transcribes ``files`` (paths or glob patterns) on a Ray cluster into the JSON Lines file
    ``output``, skipping files already in it. ``address``: "auto", "host:port" or None (a local
    Ray on this machine). ``model``, ``options`` (:class:`echoic.DecodingOptions`), ``chunk_ms``
    and ``hotwords`` (``[(phrase, boost)]``) as for ``echoic transcribe``; every node must have the
    model (a bundled name, a cached one, or a path on every node). ``workers``: actors (one CPU
    each; default one per CPU of the cluster). ``files_per_task``: files per Ray task (more: less
    per-task overhead, more work redone when a node dies). ``progress(report)`` is called after
    every line."""
    from ..registry import default_model

    t0 = time.perf_counter()
    keys = expand_files(files)
    out = JsonlOutput(output)
    report = TranscribeReport(output=str(output), files=len(keys))
    if out.repaired:
        print(f"echoic: {output}: cut off an unfinished last line ({len(out.repaired)} bytes)", file=sys.stderr)
    connected = False
    try:
        report.skipped = sum(k in out.done for k in keys)
        if report.skipped == len(keys):
            return report
        connected = connect(address)
        ray = import_ray()
        model = str(model or default_model())
        cpus = int(ray.cluster_resources().get("CPU", 1))
        report.workers = max(1, min(workers or cpus, len(keys) - report.skipped))
        ctx = ray.data.DataContext.get_current()
        bars = ctx.enable_progress_bars
        ctx.enable_progress_bars = False
        try:
            for attempt in range(1, max(1, attempts) + 1):
                todo = [k for k in keys if k not in out.done]
                if not todo:
                    break
                report.attempts = attempt
                ds = build_dataset(todo, report.workers, Transcriber, {
                    "model": model, "options": options, "chunk_ms": chunk_ms, "hotwords": hotwords},
                    files_per_task)
                rows = iter(ds.iter_rows())
                try:
                    while True:
                        try:
                            row = next(rows)
                        except StopIteration:
                            break
                        except Exception as exc:  # the pipeline failed (not the progress callback)
                            cause = _cause(exc)
                            if cause is not None:  # the actors' own code failed (the model does not load)
                                raise cause from exc
                            if attempt >= attempts:
                                raise
                            left = sum(k not in out.done for k in keys)
                            print(f"echoic: attempt {attempt} of the pipeline failed ({type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0] if str(exc) else ''}); again for the {left} files "
                                  "not yet written", file=sys.stderr)
                            break
                        _record(out, report, row, t0, progress)
                finally:
                    close = getattr(rows, "close", None)
                    if close is not None:  # stops the executor if we leave early (no thread outlives the run)
                        close()
        finally:
            ctx.enable_progress_bars = bars
        missing = [k for k in keys if k not in out.done]
        if missing:
            raise EchoicError(f"{len(missing)} files still not transcribed after {report.attempts} attempts of the "
                              f"pipeline (first: {missing[0]}); run again to resume")
    finally:
        out.close()
        if connected:
            disconnect()
        report.wall_seconds = time.perf_counter() - t0
    return report
