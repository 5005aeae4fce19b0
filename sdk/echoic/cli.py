"""The `echoic` command line. Each subcommand is a small function over the package API."""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

import echoic

from . import models_cli, transcribe_cli


def _cmd_info(args: argparse.Namespace) -> int:
    n = echoic._native
    print(f"echoic {echoic.__version__}")
    print(f"python {sys.version.split()[0]}")
    print(f"cpu features: {' '.join(n.cpu_features()) or '(none detected)'}")
    print(f"hardware threads: {n.hardware_threads()}")
    try:
        ort = echoic.ort_library_info()
        print(f"onnxruntime: {ort['version']} (C API {ort['api_version']})")
        print(f"onnxruntime library: {ort['path']} (resolved by: {ort['resolved_by']})")
    except echoic.OnnxRuntimeError as exc:
        # info still prints the rest and says why ORT is unusable, but fails: nothing
        # else can run (the README uses `echoic info` as the "does it work" check).
        print(f"onnxruntime: not loaded: {exc}")
        return 1
    if args.memory:
        _print_memory(args.memory, args.streams, args.threads)
    return 0


def _print_memory(model: str, streams: int, threads: int) -> None:
    """Loads the model, decodes one second of silence (so ORT's arena has grown) and prints the
    core's memory report: what a user needs to pick a tier for a device."""
    import numpy as np

    rec = echoic.Recognizer(model, threads=threads)
    s = rec.create_stream()
    s.accept_waveform(np.zeros(rec.sample_rate, dtype=np.float32), rec.sample_rate)
    rec.decode_available(s)
    m = rec.memory_report(streams)
    mb = lambda b: "unknown" if b < 0 else f"{b / 2**20:.1f} MB"  # noqa: E731
    print(f"memory of {rec.model_path} ({threads} thread(s), decoding {rec.decoding}):")
    print(f"  model files on disk:            {mb(m['model_file_bytes'])}")
    print(f"  resident after load (weights):  {mb(m['load_bytes'])}")
    print(f"  first decode (arena, buffers):  {mb(m['first_run_bytes'])}")
    print(f"  per stream:                     {m['stream_bytes'] / 1024:.0f} KB")
    print(f"  estimated for {streams} stream(s):     {mb(m['estimated_bytes'])} "
          "(plus the process: Python, ONNX Runtime's library)")


def _cmd_features(args: argparse.Namespace) -> int:
    import numpy as np

    from . import audio, features

    clip = audio.read(args.file, target_rate=args.sample_rate, downmix=True)
    # Kaldi/WeNet convention: int16-range samples.
    feats = features.compute_fbank(clip.samples * 32768.0, sample_rate=clip.sample_rate,
                                   num_bins=args.num_bins, dither=args.dither)
    print(f"{args.file}: {feats.shape[0]} frames x {feats.shape[1]} dims "
          f"({clip.duration:.2f} s at {clip.sample_rate} Hz)")
    if args.out:
        try:
            np.save(args.out, feats)
        except OSError as exc:
            raise echoic.EchoicIOError(f"cannot write '{args.out}': {exc}") from exc
        print(f"saved {args.out}")
    return 0


def _cmd_vad(args: argparse.Namespace) -> int:
    from . import vad

    options = {} if args.min_silence_ms is None else {"min_silence_ms": args.min_silence_ms}
    method = args.method
    segments = vad.speech_segments(args.file, method=method, model=args.model, **options)
    for start, end in segments:
        print(f"{start:.2f}\t{end:.2f}")
    return 0


def _cmd_speaker(args: argparse.Namespace) -> int:
    from .speaker import DEFAULT_THRESHOLD, SpeakerRegistry

    threshold = getattr(args, "threshold", None)
    thr = DEFAULT_THRESHOLD if threshold is None else threshold
    with SpeakerRegistry(args.index, model=getattr(args, "model", None),
                         encoding=getattr(args, "encoding", "flat"), threshold=thr,
                         create=args.action == "enroll",
                         read_only=args.action in ("identify", "verify", "list")) as reg:
        if args.action == "enroll":
            ids = reg.enroll(args.name, args.files)
            print(f"enrolled {args.name}: {len(ids)} utterance(s)")
        elif args.action == "identify":
            for f in args.files:
                name, score = reg.identify(f)
                print(f"{f}\t{name or '<unknown>'}\t{score:.4f}")
        elif args.action == "verify":
            rc = 0
            for f in args.files:
                ok, score = reg.verify(args.name, f)
                print(f"{f}\t{'accept' if ok else 'reject'}\t{score:.4f}")
                rc = rc if ok else 1
            return rc
        elif args.action == "remove":
            print(f"removed {args.name}: {reg.remove(args.name)} utterance(s)")
        else:  # list
            for name in reg.list():
                print(name)
    return 0


def _cmd_kws(args: argparse.Namespace) -> int:
    from . import kws

    if not args.file and not args.mic:
        raise UsageError("kws: give an audio FILE or --mic")
    keywords = [k.strip() for k in args.keywords.split(",") if k.strip()] if args.keywords else None
    if args.open_vocabulary:
        from .kws import open_vocabulary

        if not keywords or not args.file:
            raise UsageError("kws --open-vocabulary needs --keywords and a FILE")
        from .registry import default_model

        model = args.asr_model or default_model()
        events = open_vocabulary.spot_open_vocabulary(args.file, keywords, model=model)
        for e in events:
            print(f"{e.time:.2f}\t{e.keyword}\t{e.score:.3f}")
        if not events:
            print(f"echoic: kws: none of {', '.join(keywords)} found in {args.file} (open vocabulary, "
                  f"recognizer {model})", file=sys.stderr)
        return 0
    spotter = kws.KeywordSpotter(args.model, keywords=keywords, thresholds=args.threshold,
                                 refractory=args.refractory)
    if args.file:
        events = spotter.spot(args.file)
        for e in events:
            print(f"{e.time:.2f}\t{e.keyword}\t{e.score:.3f}")
        if not events:
            print(f"echoic: kws: no keyword found in {args.file}", file=sys.stderr)
        return 0
    from .microphone import Microphone

    mic = Microphone(chunk_ms=100.0)  # the device's rate: the spotter resamples
    print(f"listening for {', '.join(keywords or spotter.keywords)} on '{mic.name}' (Ctrl-C to stop)",
          file=sys.stderr)
    for x in mic.chunks(args.duration):
        spotter.accept(x, mic.sample_rate)
        for e in spotter.events():
            print(f"{e.time:.2f}\t{e.keyword}\t{e.score:.3f}", flush=True)
    spotter.finish()
    for e in spotter.events():
        print(f"{e.time:.2f}\t{e.keyword}\t{e.score:.3f}", flush=True)
    return 0


# ---- lookup (keyword lookup by example); one block so it can move with the CLI ----------------
def _cmd_lookup(args: argparse.Namespace) -> int:
    import json

    from .keyword_lookup import KeywordLookup

    options = {} if args.threshold_offset is None else {"threshold_offset": args.threshold_offset}
    with KeywordLookup(args.index, model=args.model, threads=args.threads,
                       read_only=args.action == "find", **options) as kl:
        if args.action == "enroll":
            ids = kl.enroll(args.name, args.files)
            print(f"enrolled {args.name}: {len(ids)} example(s), {kl.bytes_per_example} B each", file=sys.stderr)
            return 0
        rows = []
        for f in args.files:
            for d in kl.detect(f):
                rows.append({"file": f, "start": round(d.start, 2), "end": round(d.end, 2), "word": d.keyword,
                             "score": round(d.score, 4)})
                if not args.json:
                    print(f"{f}\t{d.start:.2f}\t{d.end:.2f}\t{d.keyword}\t{d.score:.4f}", flush=True)
        if args.json:
            print(json.dumps(rows))
    return 0


def _add_lookup_parser(sub) -> None:
    sp = sub.add_parser("lookup", help="keyword lookup by example: enroll a word from recordings, find it in audio")
    verbs = sp.add_subparsers(dest="action", required=True, metavar="VERB")
    for verb, helptext in (("enroll", "add 1-5 recordings of a word to the index (creates it)"),
                           ("find", "print detections (file, start, end, word, score) in each audio file")):
        p = verbs.add_parser(verb, help=helptext, description=helptext)
        p.add_argument("files", nargs="+", metavar="CLIP" if verb == "enroll" else "AUDIO", help="audio files")
        p.add_argument("--index", required=True,
                       help="keyword index file" + (" (created if missing)" if verb == "enroll" else " (must exist)"))
        if verb == "enroll":
            p.add_argument("--name", required=True, help="the word (or phrase) the recordings say")
        else:
            p.add_argument("--json", action="store_true", help="one JSON list instead of TSV")
            p.add_argument("--threshold-offset", type=float, default=None,
                           help="added to every keyword's calibrated threshold (negative: more hits and alarms)")
        p.add_argument("--model", default="whisper-tiny.en", help="Whisper model (name or imported folder)")
        p.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads (default 1)")
        p.set_defaults(func=_cmd_lookup, threshold_offset=None)
# ---- end lookup -----------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """Leaf parsers (no subcommands of their own) accept options before, between or after
    their positional arguments: `echoic speaker enroll a.wav --name alice b.wav`."""

    _intermixing = False

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        if self._subparsers is None and not self._intermixing:
            self._intermixing = True
            try:
                return self.parse_known_intermixed_args(args, namespace)
            finally:
                self._intermixing = False
        return super().parse_known_args(args, namespace)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="echoic", description="On-device streaming speech recognition.")
    parser.add_argument("--version", action="version", version=f"echoic {echoic.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="versions, ONNX Runtime library, CPU features, threads")
    p.add_argument("--memory", metavar="MODEL", default=None,
                   help="also load MODEL (bundled name, folder or .onnx) and print what it costs in memory")
    p.add_argument("--streams", type=int, default=1, help="concurrent streams for the --memory estimate (default 1)")
    p.add_argument("--threads", type=int, default=1, help="threads for --memory (default 1)")
    p.set_defaults(func=_cmd_info)
    p = sub.add_parser("features", help="log-mel filterbank of an audio file (Kaldi compatible)")
    p.add_argument("file", help="wav/flac/ogg file")
    p.add_argument("--out", help="save the (frames, dims) float32 matrix as .npy")
    p.add_argument("--num-bins", type=int, default=80, help="mel bins (default 80)")
    p.add_argument("--dither", type=float, default=0.0, help="dither amount (default 0)")
    p.add_argument("--sample-rate", type=int, default=16000, help="resample to this rate first (default 16000)")
    p.set_defaults(func=_cmd_features)
    p = sub.add_parser("vad", help="print speech segments (start<TAB>end seconds) of an audio file")
    p.add_argument("file", help="audio file (any rate; resampled as the detector needs)")
    p.add_argument("--method", choices=["silero", "webrtc", "energy"], default="silero",
                   help="detector (default silero: the bundled Silero VAD; webrtc needs the webrtcvad package)")
    p.add_argument("--model", default=None,
                   help="silero_vad.onnx (default: $ECHOIC_VAD_MODEL, else the bundled Silero VAD)")
    p.add_argument("--min-silence-ms", type=int, default=None, help="silence that splits segments")
    p.set_defaults(func=_cmd_vad)
    sp = sub.add_parser("speaker", help="speaker enrollment, identification and verification")
    verbs = sp.add_subparsers(dest="action", required=True, metavar="VERB")
    for verb, helptext in (("enroll", "add a speaker's utterances to the index (creates it)"),
                           ("identify", "name the enrolled speaker of each file"),
                           ("verify", "accept or reject each file as the named speaker (exit 1 on a reject)"),
                           ("list", "print the enrolled speakers"),
                           ("remove", "remove a speaker from the index")):
        p = verbs.add_parser(verb, help=helptext, description=helptext)
        if verb in ("enroll", "identify", "verify"):
            p.add_argument("files", nargs="+", metavar="FILE", help="audio files")
        p.add_argument("--index", required=True,
                       help="speaker index file" + (" (created if missing)" if verb == "enroll" else " (must exist)"))
        if verb in ("enroll", "verify", "remove"):
            p.add_argument("--name", required=True, help="speaker name")
        p.add_argument("--model", default=None, help="speaker ONNX model (default: $ECHOIC_SPEAKER_MODEL, else the "
                                                     "bundled d-vector model)"
                       + ("; not needed" if verb in ("list", "remove") else ""))
        if verb == "enroll":
            p.add_argument("--encoding", choices=["flat", "sq8", "pq"], default="flat", help="new index encoding")
        if verb in ("identify", "verify"):
            p.add_argument("--threshold", type=float, default=None, help="accept score (cosine)")
        p.set_defaults(func=_cmd_speaker)
    p = sub.add_parser("kws", help="spot keywords (time<TAB>keyword<TAB>score) in a file or from the mic")
    p.add_argument("file", nargs="?", help="audio file")
    p.add_argument("--mic", action="store_true", help="listen to the microphone (needs echoic[mic])")
    p.add_argument("--duration", type=float, default=None, help="with --mic: stop after this many seconds")
    p.add_argument("--keywords", default=None, help="comma-separated keywords to report (default: all the model's)")
    p.add_argument("--model", default=None, help="keyword model (.onnx or folder; default: bundled echoic-kws-en)")
    p.add_argument("--threshold", type=float, default=None, help="detection threshold (default: the model's)")
    p.add_argument("--refractory", type=float, default=None, help="seconds muted after a detection")
    p.add_argument("--open-vocabulary", action="store_true",
                   help="spot arbitrary keyword text with the streaming recognizer instead")
    p.add_argument("--asr-model", default=None,
                   help="recognizer model for --open-vocabulary (default: as for transcribe)")
    p.set_defaults(func=_cmd_kws)
    _add_lookup_parser(sub)
    transcribe_cli.add_parsers(sub)
    models_cli.add_parsers(sub)
    return parser


#: Exit codes of every `echoic` command.
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A command line that cannot be run as given (exit code 2, like argparse's own errors)."""


def _message(exc: BaseException) -> str:
    # NotFoundError is also a KeyError, whose str() adds quotes; print the message itself.
    return str(exc.args[0]) if len(exc.args) == 1 else str(exc)


def main(argv: Optional[List[str]] = None) -> int:
    """Runs one command. Exit codes: 0 success; 1 the command failed (bad input file,
    missing model, I/O error; `speaker verify` also returns 1 when a file is rejected);
    2 usage error (bad options); 130 interrupted (Ctrl-C). Errors are one line on stderr
    (set ECHOIC_DEBUG=1 for a traceback)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"echoic: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("echoic: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`echoic transcribe *.wav | head -1`): stop quietly. Point
        # stdout at /dev/null so the interpreter's final flush does not complain.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_FAILURE
    except (echoic.EchoicError, OSError) as exc:
        if os.environ.get("ECHOIC_DEBUG"):
            raise
        print(f"echoic: error: {_message(exc)}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
