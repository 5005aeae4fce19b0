"""`echoic transcribe` and `echoic mic`: the CLI front of echoic.asr."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

from .. import audio as _audio
from ..asr import Recognizer, Result, Transcript, _hotword_list
from ..decoding import DecodingOptions
from ..errors import EchoicIOError, InvalidArgumentError


def read_hotwords(arg: str) -> List[Tuple[str, float]]:
    """`--hotwords`: a file in the hotword grammar (one phrase per line, an optional boost after
    a TAB or ' :', '#' comments), or, when no such file exists, the phrases themselves separated
    by commas (`--hotwords "echoic,open sesame :2"`). Parsed by the core's one parser."""
    if os.path.isfile(arg):
        try:
            text = Path(arg).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise EchoicIOError(f"hotwords file '{arg}': {exc}") from exc
    else:
        text = "\n".join(arg.split(","))
    hotwords = _hotword_list(text)
    if not hotwords:
        raise InvalidArgumentError(f"--hotwords '{arg}': no phrases in it")
    return hotwords


def _timestamp(t: float, sep: str) -> str:
    ms = int(round(max(t, 0.0) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _cues(t: Transcript) -> List[Tuple[float, float, str]]:
    cues = []
    for seg in t.segments:
        if not seg.text:
            continue
        start = seg.words[0].start if seg.words else seg.segment_start
        end = seg.words[-1].end if seg.words else start
        cues.append((start, end, seg.text))
    return cues


def format_srt(t: Transcript) -> str:
    return "".join(
        f"{i}\n{_timestamp(a, ',')} --> {_timestamp(b, ',')}\n{text}\n\n" for i, (a, b, text) in enumerate(_cues(t), 1)
    )


def format_vtt(t: Transcript) -> str:
    body = "".join(f"{_timestamp(a, '.')} --> {_timestamp(b, '.')}\n{text}\n\n" for a, b, text in _cues(t))
    return "WEBVTT\n\n" + body


#: Version of the `--json` object; raised when a field changes meaning or goes away.
JSON_SCHEMA = 2


def _segment_json(s) -> dict:
    out = {"text": s.text, "start": round(s.words[0].start if s.words else s.segment_start, 3),
           "end": round(s.words[-1].end if s.words else s.segment_start, 3)}
    if s.alternatives:  # --nbest N > 1
        out["alternatives"] = [{"text": a.text, "score": round(a.score, 4)} for a in s.alternatives]
    return out


def transcript_json(path: str, t: Transcript, seconds: float, elapsed: float, model: str = "",
                    timing: bool = False) -> dict:
    """The `--json` object of one file. ``rtf`` (decoding time / audio time) only with
    ``timing``: results stay identical from run to run unless timing was asked for."""
    models = sorted({s.model for s in t.segments if s.model})
    out = {
        "schema": JSON_SCHEMA,
        "file": path,
        "model": ",".join(models) or model,
        "text": t.text,
        "words": [{"word": w.word, "start": round(w.start, 3), "end": round(w.end, 3),
                   "confidence": round(w.confidence, 3)} for w in t.words],
        "segments": [_segment_json(s) for s in t.segments if s.text],
        "duration": round(seconds, 3),
    }
    if timing:
        out["rtf"] = round(elapsed / seconds, 4) if seconds > 0 else None
    return out


def error_json(path: str, exc: BaseException, model: str = "") -> dict:
    """The JSON object of a file that could not be transcribed (`echoic transcribe --ray`): the
    fields of :func:`transcript_json`, empty, and ``error`` with the exception's class name (the
    typed echoic errors: ``CorruptDataError``, ``EchoicIOError``...) and message."""
    return {"schema": JSON_SCHEMA, "file": path, "model": model, "text": "", "words": [], "segments": [],
            "duration": None, "error": {"type": type(exc).__name__, "message": str(exc)}}


def decode_audio(rec, a: "_audio.Audio", chunk_ms: float, hotwords=None,
                 on_partial: Optional[Callable[[Result], None]] = None) -> Tuple[Transcript, float]:
    """One file through ``rec`` as `echoic transcribe` decodes it: fed in ``chunk_ms`` chunks, the
    finals joined into a Transcript; with the decoding wall time. ``on_partial`` gets each partial."""
    step = max(1, int(a.sample_rate * chunk_ms / 1000))
    chunks = (a.samples[j : j + step] for j in range(0, len(a.samples), step))
    start = time.perf_counter()
    segments: List[Result] = []
    for r in rec.stream(chunks, a.sample_rate, partials=on_partial is not None, hotwords=hotwords):
        if r.is_final:
            segments.append(r)
        elif on_partial is not None:
            on_partial(r)
    elapsed = time.perf_counter() - start
    return Transcript(text=" ".join(s.text for s in segments if s.text), segments=segments), elapsed


_EXTENSIONS = {"text": "txt", "json": "json", "srt": "srt", "vtt": "vtt"}


def _output_paths(files: Sequence[str], out_dir: str, fmt: str) -> List[Path]:
    """One output file per input in ``out_dir``: its name with the format's extension."""
    names = [("stdin" if f == "-" else Path(f).stem) + "." + _EXTENSIONS[fmt] for f in files]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        from .common import UsageError

        raise UsageError(f"-o/--output-dir: several inputs would write {', '.join(dup)}; give them distinct names")
    return [Path(out_dir) / n for n in names]


def _write_atomically(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` through a temporary file: a failure leaves no partial file."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise EchoicIOError(f"cannot write '{path}': {exc}") from exc


def _read_input(path: str) -> "_audio.Audio":
    if path == "-":  # audio on stdin (wav/flac/ogg bytes)
        import io

        return _audio.load(io.BytesIO(sys.stdin.buffer.read()))
    return _audio.load(path)


class _Progress:
    """A one-line progress bar on stderr for multi-file jobs (silent when not a terminal)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.enabled = total > 1 and sys.stderr.isatty()

    def update(self, done: int, name: str) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * done / self.total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} {name[-40:]:<40}")
        sys.stderr.flush()
        if done == self.total:
            sys.stderr.write("\n")


def add_decoding_arguments(p: argparse.ArgumentParser) -> None:
    """--decoding, --beam-size, --nbest, --lm, --lm-scale, --word-bonus, --threads (transcribe, eval);
    defaults are DecodingOptions' (the core's)."""
    d = DecodingOptions()
    p.add_argument("--decoding", choices=["auto", "greedy", "beam"], default=d.decoding,
                   help="auto: beam search with the model's word LM (lm.arpa) when it has one, else greedy")
    p.add_argument("--beam-size", type=int, default=d.beam_size, help="0: 16 with a word LM, else 4 (Whisper: 5)")
    p.add_argument("--nbest", type=int, default=d.nbest, metavar="N",
                   help="keep up to N distinct texts per segment (JSON: segments[].alternatives); uses beam search")
    p.add_argument("--lm", default=d.lm, metavar="ARPA",
                   help="word LM for CTC beam search: auto (the model's lm.arpa), none, or an ARPA file")
    p.add_argument("--lm-scale", type=float, default=d.lm_scale, help="weight of the word LM's log-probabilities")
    p.add_argument("--word-bonus", type=float, default=d.word_bonus, help="score added per word with a word LM")
    p.add_argument("--threads", type=int, default=d.threads, help="ONNX Runtime threads")


def decoding_options(args: argparse.Namespace) -> DecodingOptions:
    """The DecodingOptions of add_decoding_arguments' options."""
    return DecodingOptions(decoding=args.decoding, beam_size=args.beam_size, nbest=args.nbest,
                           lm=None if args.lm == "none" else args.lm, lm_scale=args.lm_scale,
                           word_bonus=args.word_bonus, threads=args.threads)


def _show_partial(r: Result) -> None:
    sys.stderr.write(f"\r\033[K... {r.text[-100:]}")
    sys.stderr.flush()


def _make_recognizer(args: argparse.Namespace):
    if not args.memory_budget and not args.fallback_model:
        return Recognizer(args.model, options=decoding_options(args))
    # Memory-pressure fallback: the model, then each --fallback-model, biggest first;
    # the bundled default falls back to the bundled tiny tier unless told otherwise.
    from ..adaptive import AdaptiveRecognizer
    from ..registry import DEFAULT_MODEL, DEFAULT_TIERS

    fallbacks = args.fallback_model or (list(DEFAULT_TIERS[1:]) if args.model == DEFAULT_MODEL else [])

    def on_switch(frm: str, to: str, reason: str) -> None:
        print(f"echoic: model switch {frm} -> {to}: {reason}", file=sys.stderr, flush=True)

    rec = AdaptiveRecognizer([args.model, *fallbacks], memory_budget=args.memory_budget or 0,
                             on_model_switch=on_switch, poll_interval=0.1, options=decoding_options(args))
    print(f"echoic: memory fallback over {', '.join(rec.tier_names)}; using {rec.current_tier}"
          + (f" (budget {args.memory_budget})" if args.memory_budget else ""), file=sys.stderr, flush=True)
    return rec


#: `--ray` with no address: start a local Ray on this machine.
RAY_LOCAL = "local"


def _ray_address(value: str) -> bool:
    """Whether what followed `--ray` is a cluster address ("auto", "host:port", "ray://...")
    rather than the first audio file (`--ray a.wav b.wav`)."""
    if value in ("auto", RAY_LOCAL) or value.startswith("ray://"):
        return True
    host, sep, port = value.rpartition(":")
    return bool(sep and host and port.isdigit() and "/" not in value and not os.path.exists(value))


def cmd_transcribe_ray(args: argparse.Namespace) -> int:
    """`echoic transcribe --ray [ADDRESS] --output-dir DIR FILES...`: the files on a Ray cluster
    (echoic.distributed.transcribe_files), one JSON line each in DIR/transcripts.jsonl."""
    from ..distributed import transcribe_files
    from .common import UsageError

    if not _ray_address(args.ray):
        args.files.insert(0, args.ray)
        args.ray = RAY_LOCAL
    if not args.files:
        raise UsageError("the following arguments are required: FILE")
    if not args.output_dir:
        raise UsageError("--ray writes DIR/transcripts.jsonl: give -o/--output-dir DIR")
    unsupported = [opt for opt, on in (("--srt", args.format == "srt"), ("--vtt", args.format == "vtt"),
                                       ("--partials", args.partials), ("--timing", args.timing),
                                       ("--memory-budget", args.memory_budget),
                                       ("--fallback-model", args.fallback_model), ("'-' (stdin)", "-" in args.files))
                   if on]
    if unsupported:
        raise UsageError(f"--ray writes JSON Lines from files; {', '.join(unsupported)} cannot be used with it")
    hotwords = read_hotwords(args.hotwords) if args.hotwords else None
    output = os.path.join(args.output_dir, RAY_OUTPUT)
    import logging

    from ..distributed._ray import import_ray

    import_ray()  # configures Ray Data's logger; then keep its per-run INFO lines (and the notice that
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # progress bars are off) out of the CLI's stderr
    last = [0.0]

    def progress(report) -> None:
        now = time.monotonic()
        if now - last[0] >= 1.0 or report.written == report.files - report.skipped:
            last[0] = now
            print(f"echoic: {report.progress_line()}", file=sys.stderr, flush=True)

    report = transcribe_files(args.files, output, address=None if args.ray == RAY_LOCAL else args.ray,
                              model=args.model, options=decoding_options(args), chunk_ms=args.chunk_ms,
                              hotwords=hotwords, workers=args.ray_workers, progress=progress)
    print(f"echoic: {report.summary()}", file=sys.stderr)
    return 1 if report.failed else 0


#: The file `--ray` writes in --output-dir.
RAY_OUTPUT = "transcripts.jsonl"


def cmd_transcribe(args: argparse.Namespace) -> int:
    from ..registry import default_model

    if args.ray is not None:
        return cmd_transcribe_ray(args)
    if not args.files:
        from .common import UsageError

        raise UsageError("the following arguments are required: FILE")
    args.model = args.model or default_model()
    hotwords = read_hotwords(args.hotwords) if args.hotwords else None
    rec = _make_recognizer(args)
    if args.files.count("-") > 1:
        from .common import UsageError

        raise UsageError("'-' (stdin) can be given once")
    outputs = _output_paths(args.files, args.output_dir, args.format) if args.output_dir else None
    if outputs is None and args.format in ("srt", "vtt") and len(args.files) > 1:
        from .common import UsageError

        raise UsageError(f"--{args.format} for {len(args.files)} files would run the documents together on "
                         "stdout; write one file per input with -o/--output-dir DIR")
    if args.output_dir:
        try:
            os.makedirs(args.output_dir, exist_ok=True)
        except OSError as exc:
            raise EchoicIOError(f"cannot create output folder '{args.output_dir}': {exc}") from exc
    progress = _Progress(len(args.files))
    status = 0
    for i, path in enumerate(args.files):
        progress.update(i, path)
        try:
            a = _read_input(path)
        except Exception as exc:  # report and go on with the other files
            print(f"echoic: {path}: {exc}", file=sys.stderr)
            status = 1
            continue
        t, elapsed = decode_audio(rec, a, args.chunk_ms, hotwords, _show_partial if args.partials else None)
        if args.partials:
            sys.stderr.write("\r\033[K")
        if hasattr(rec, "counters"):
            c = rec.counters
            print(f"echoic: {path}: tiers used {sorted({s.model for s in t.segments if s.model})}; switches down "
                  f"{c['switches_down']}, up {c['switches_up']}, failed loads {c['failed_loads']}, re-decoded "
                  f"{c['redecoded_seconds']:.2f} s", file=sys.stderr, flush=True)
        if args.format == "json":
            doc = json.dumps(transcript_json(path, t, a.duration, elapsed, str(args.model), timing=args.timing),
                             ensure_ascii=False) + "\n"
        elif args.format == "srt":
            doc = format_srt(t)
        elif args.format == "vtt":
            doc = format_vtt(t)
        else:
            doc = (t.text if len(args.files) == 1 or outputs else f"{path}\t{t.text}") + "\n"
        if outputs:
            _write_atomically(outputs[i], doc)
        else:
            sys.stdout.write(doc)
            sys.stdout.flush()
        if args.timing and args.format != "json":
            print(f"echoic: {path}: {a.duration:.2f} s of audio in {elapsed:.2f} s (RTF "
                  f"{elapsed / max(a.duration, 1e-9):.3f})",
                  file=sys.stderr)
    progress.update(len(args.files), "")
    return status


def cmd_mic(args: argparse.Namespace) -> int:
    from ..microphone import Microphone
    from ..registry import default_model

    mic = Microphone(args.device, args.sample_rate, args.chunk_ms)
    rec = Recognizer(args.model or default_model(), threads=args.threads, vad=args.vad)
    print(f"listening on '{mic.name}' at {mic.sample_rate} Hz (Ctrl-C to stop)", file=sys.stderr)
    for r in rec.stream(mic.chunks(args.duration), mic.sample_rate, partials=True):
        if r.is_final:
            sys.stderr.write("\r\033[K")
            if r.text:
                print(r.text, flush=True)
        else:
            sys.stderr.write(f"\r\033[K{r.text[-100:]}")
            sys.stderr.flush()
    if mic.overflows:
        print(f"echoic mic: {mic.overflows} input overflows (audio dropped by the sound card driver; "
              "try a larger --chunk-ms)", file=sys.stderr)
    return 0


def add_parsers(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser("transcribe", help="transcribe audio files (streaming decoder)")
    # nargs="*": `--ray a.wav` takes a.wav as its address, handed back to the files (cmd_transcribe_ray)
    p.add_argument("files", nargs="*", metavar="FILE", help="audio files; '-' reads one from stdin")
    p.add_argument("-o", "--output-dir", metavar="DIR", default=None,
                   help="write one file per input into DIR (NAME.txt/.json/.srt/.vtt) instead of stdout")
    p.add_argument("--timing", action="store_true",
                   help="report decoding speed (RTF): in the JSON ('rtf'), else on stderr")
    p.add_argument("--model", default=None,
                   help="model name (default: whisper-tiny.en when the [whisper] extra is installed, else "
                        "echoic-small-en), model folder or .onnx file")
    p.add_argument("--chunk-ms", type=float, default=100.0, help="feed audio in chunks of this many ms")
    p.add_argument("--partials", action="store_true", help="show partial results on stderr while decoding")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", dest="format", action="store_const", const="json",
                     help="one JSON object per file (schema 2): schema, file, model, text, words (word, start, "
                          "end, confidence), segments (text, start, end), duration; rtf with --timing")
    fmt.add_argument("--srt", dest="format", action="store_const", const="srt")
    fmt.add_argument("--vtt", dest="format", action="store_const", const="vtt")
    p.set_defaults(format="text")
    p.add_argument("--hotwords", metavar="FILE|PHRASES",
                   help="phrases to boost: a file (one per line, optional TAB or ' :' boost, '#' comments) "
                        "or the phrases themselves, comma-separated")
    add_decoding_arguments(p)
    p.add_argument("--ray", nargs="?", const=RAY_LOCAL, default=None, metavar="ADDRESS",
                   help="transcribe on a Ray cluster (needs echoic[ray]): ADDRESS 'auto' or host:port, none: a "
                        "local Ray; writes DIR/transcripts.jsonl (one JSON object per file, with 'error'), skips "
                        "files already in it; needs -o/--output-dir DIR")
    p.add_argument("--ray-workers", type=int, default=None, metavar="N",
                   help="with --ray: recognizer actors, one CPU each (default: one per CPU of the cluster)")
    p.add_argument("--memory-budget", metavar="SIZE",
                   help="memory the process may use (e.g. 300MB); past it, fall back to a smaller model")
    p.add_argument("--fallback-model", action="append", metavar="MODEL",
                   help="smaller model to fall back to under memory pressure (repeat for more tiers; "
                        "default with the bundled model: echoic-tiny-en)")
    p.set_defaults(func=cmd_transcribe)

    m = sub.add_parser("mic", help="live transcription from the microphone (needs echoic[mic])")
    m.add_argument("--model", default=None, help="as for transcribe")
    m.add_argument("--device", default=None, help="input device (index or name substring; default: the system's)")
    m.add_argument("--sample-rate", type=int, default=None, help="capture rate (default: the device's)")
    m.add_argument("--duration", type=float, default=None, help="stop after this many seconds (default: Ctrl-C)")
    m.add_argument("--vad", choices=["energy", "webrtc"], default=None,
                   help="gate endpointing with a voice-activity detector")
    m.add_argument("--chunk-ms", type=float, default=100.0)
    m.add_argument("--threads", type=int, default=DecodingOptions().threads)
    m.set_defaults(func=cmd_mic)
