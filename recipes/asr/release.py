"""Turn a training checkpoint into a bundled model tier: export, int8, evaluate, card.

  python3 recipes/asr/release.py --checkpoint exp/small/last.pt --name echoic-small-en \\
      --set synthetic-held-out=~/.cache/echoic/asr-data/test/wav --set speech-dev=../shared/eval/speech-dev \\
      --install sdk/echoic/models
  python3 recipes/asr/release.py --name echoic-small-en --work exp/release --install sdk/echoic/models --install-only

Exports float32 and int8 (weight-only, per-block scales; see export.quantize_int8) ONNX files, scores both
with echoic's own recognizer (the C++ engine through the Python package, greedy CTC,
whole-file streaming) on every set, and writes <work>/<name>/release.json. With
--install, the int8 file is installed as <install>/<name>/model.onnx with tokens.txt,
and the measured tables go into <install>/<name>/MODEL_CARD.md between the
``<!-- release.py -->`` markers (prose outside the markers is kept). --install-only installs a
release measured before (the second line above), so a release can be inspected before it ships.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export import export, load_checkpoint  # noqa: E402

BEGIN, END = "<!-- release.py: begin -->", "<!-- release.py: end -->"

def score(model_file: Path, sets: dict[str, Path]) -> dict:
    import echoic
    from echoic.evaluate import evaluate

    rec = echoic.Recognizer(str(model_file), threads=1)
    out = {}
    for name, d in sets.items():
        r = evaluate(str(model_file), d, recognizer=rec)
        out[name] = {"files": len(r.files), "ref_words": r.ref_words, "wer": round(r.wer, 4),
                     "cer": round(r.cer, 4), "substitutions": r.substitutions, "deletions": r.deletions,
                     "insertions": r.insertions,
                     "rtf": round(r.rtf, 4), "examples": [[f.ref, f.hyp] for f in r.files[:3]]}
        print(f"release.py: {model_file.name} on {name}: WER {r.wer:.4f} CER {r.cer:.4f} RTF {r.rtf:.4f}", flush=True)
    return out


def rss_mb(model_file: Path, clip: Path) -> dict:
    from echoic.compress import rss_probe  # the one probe `echoic compress` reports with

    before, peak = rss_probe(model_file, clip)
    return {"peak_rss_mb": round(peak / 2**20, 1), "added_by_model_mb": round((peak - before) / 2**20, 1)}


def card_tables(rel: dict) -> str:
    lines = [BEGIN, "", "| item | value |", "| --- | --- |"]
    c = rel["config"]
    if c.get("arch") == "whisper_student":
        encoder = (f"Whisper encoder made streaming (whisper_student.py): d={c['d_model']}, "
                   f"{c['num_blocks']} blocks, {c['heads']} heads, FFN {c['ffn_dim']}, chunk {c['chunk_size']} "
                   f"frames = {c['chunk_size'] * 20} ms, {c['num_left_chunks']} left chunks cached, subsampling 2"
                   + (f"; CTC head: {c['head_blocks']} new block(s), FFN {c['head_ffn_dim']}"
                      if c.get("head_blocks") else ""))
    else:
        encoder = (f"d={c['d_model']}, {c['num_blocks']} blocks, {c['heads']} heads, FFN {c['ffn_dim']}, "
                   f"conv kernel {c['kernel']}, subsampling channels {c['subsample_channels'] or c['d_model']}")
    lines += [f"| parameters | {rel['params']:,} |",
              f"| encoder | {encoder} |",
              f"| training | {rel['train']['steps']:,} steps, {rel['train']['minutes']:.0f} min on "
              f"{rel['train']['device']} |",
              "| shipped file | model.onnx = int8 weights (per-block scales, int8 compute), "
              f"{rel['bytes']['int8'] / 1e6:.2f} MB "
              f"(float32: {rel['bytes']['float32'] / 1e6:.2f} MB) |",
              f"| per-stream state | {rel['state_bytes']:,} bytes |",
              f"| peak RSS, load + one clip (fresh process) | float32 {rel['rss']['float32']['peak_rss_mb']} MB, "
              f"int8 {rel['rss']['int8']['peak_rss_mb']} MB (added by ORT + model + decoding: "
              f"{rel['rss']['float32']['added_by_model_mb']} / {rel['rss']['int8']['added_by_model_mb']} MB) |",
              "", "WER (echoic greedy CTC, streaming engine, `echoic.text.normalize` on both sides):", "",
              "| set | files | words | WER float32 | WER int8 | CER float32 | CER int8 | RTF int8 (1 thread) |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, f in rel["wer"]["float32"].items():
        q = rel["wer"]["int8"][name]
        lines.append(f"| {name} | {f['files']} | {f['ref_words']} | {100 * f['wer']:.1f} % | "
                     f"{100 * q['wer']:.1f} % | {100 * f['cer']:.1f} % | {100 * q['cer']:.1f} % | {q['rtf']:.4f} |")
    lines += ["", f"Measured {rel['date']} on {rel['machine']} by `recipes/asr/release.py`.", "", END]
    return "\n".join(lines)


def install(rel: dict, out: Path, dst: Path) -> None:
    """Copy the measured int8 file into a models folder and refresh its card's tables."""
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out / "model.int8.onnx", dst / "model.onnx")
    shutil.copyfile(out / "tokens.txt", dst / "tokens.txt")
    card = dst / "MODEL_CARD.md"
    body = card.read_text(encoding="utf-8") if card.exists() else f"# {rel['name']}\n\n{BEGIN}\n{END}\n"
    if BEGIN not in body:
        body += f"\n{BEGIN}\n{END}\n"
    head, rest = body.split(BEGIN, 1)
    tail = rest.split(END, 1)[1] if END in rest else ""
    card.write_text(head + card_tables(rel) + tail, encoding="utf-8")
    (dst / "release.json").write_text(json.dumps(rel, indent=2))
    print(f"release.py: installed {dst}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, default=None)
    ap.add_argument("--name", required=True)
    ap.add_argument("--set", action="append", default=[], metavar="NAME=DIR",
                    help="evaluation set (folder with transcripts.tsv); repeatable")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "echoic-release")
    ap.add_argument("--install", type=Path, default=None, help="models folder to install the int8 tier into")
    ap.add_argument("--install-only", action="store_true",
                    help="install the release already measured in <work>/<name> (no export, no scoring)")
    a = ap.parse_args(argv)
    if a.install_only:
        if a.install is None:
            ap.error("--install-only needs --install")
        out = a.work / a.name
        if not (out / "release.json").exists():
            ap.error(f"{out / 'release.json'} does not exist: run release.py without --install-only first")
        install(json.loads((out / "release.json").read_text()), out, a.install / a.name)
        return
    if a.checkpoint is None:
        ap.error("--checkpoint is required")
    sets = {k: Path(os.path.expanduser(v)) for k, v in (s.split("=", 1) for s in a.set)}

    torch.set_num_threads(1)
    ck = torch.load(a.checkpoint, map_location="cpu", weights_only=False)
    model = load_checkpoint(a.checkpoint)
    out = a.work / a.name
    if out.exists():
        shutil.rmtree(out)
    export(model, out, a.name, int8=True)
    files = {"float32": out / "model.onnx", "int8": out / "model.int8.onnx"}

    import platform

    import echoic

    rec = echoic.Recognizer(str(files["int8"]), threads=1)
    clip = next(iter(sets.values())) if sets else None
    first_clip = None
    if clip is not None:
        from echoic.evaluate import read_transcripts

        first_clip = read_transcripts(clip)[0][0]
    rel = {
        "name": a.name,
        "checkpoint": str(a.checkpoint),
        "config": ck["config"],
        "params": model.num_params(),
        "train": {"steps": ck["step"], "minutes": ck.get("train_seconds", 0.0) / 60,
                  "device": f"CPU ({ck.get('threads', 1)} thread{'s' if ck.get('threads', 1) > 1 else ''})"
                  if not torch.cuda.is_available() else "GPU"},
        "bytes": {k: p.stat().st_size for k, p in files.items()},
        "state_bytes": rec.create_stream().state_bytes,
        "wer": {k: score(p, sets) for k, p in files.items()},
        "rss": {k: rss_mb(p, first_clip) for k, p in files.items()} if first_clip else {},
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, echoic {echoic.__version__}",
    }
    (out / "release.json").write_text(json.dumps(rel, indent=2))
    print(json.dumps({k: rel[k] for k in ("name", "params", "bytes", "state_bytes")}))
    if a.install:
        install(rel, out, a.install / a.name)

if __name__ == "__main__":
    main()
