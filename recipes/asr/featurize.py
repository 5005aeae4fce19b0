"""Rebuild a corpus's feature files from its kept audio, on a machine without TTS engines.

  python3 recipes/asr/data.py --out corpus --num-train 4000 --keep-audio     # where espeak-ng etc. are
  python3 recipes/asr/featurize.py corpus --jobs 16                          # where training runs

data.py renders speech with TTS engines and sox that a training box (a GPU machine, say) may not
have; with ``--keep-audio`` it keeps each utterance's final audio as Ogg Opus (about 9 MB per hour,
20x smaller than the float16 features). This script reads ``<split>/manifest.jsonl`` and
``<split>/audio/<id>.ogg`` of every split present and writes what train.py and distil.py read:
``feats.npy``/``offsets.npy`` (the contract's Kaldi fbank) and ``wmel.npy``/``wmel_offsets.npy``
(Whisper's log-mel, the distillation teacher's input). Both come from data.py's own front-end
functions, so the features equal those data.py computes from the same audio.
"""
from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import data  # noqa: E402


def _one(path: str):
    x, sr = sf.read(path, dtype="float32")
    if sr != 16000 or x.ndim != 1:
        raise ValueError(f"{path}: expected 16 kHz mono, got {sr} Hz, shape {x.shape}")
    return data.fbank(x).astype(np.float16), data.whisper_mel(x).astype(np.float16)


def featurize_split(d: Path, jobs: int) -> int:
    items = [json.loads(line) for line in open(d / "manifest.jsonl", encoding="utf-8")]
    paths = [d / "audio" / f"{it['id']}.ogg" for it in items]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise SystemExit(f"featurize.py: {len(missing)} utterances of {d} have no kept audio "
                         f"(first: {missing[0]}); build the corpus with data.py --keep-audio")
    feats, offs, wmels, woffs = [], [0], [], [0]
    with ProcessPoolExecutor(jobs) as ex:
        for f, w in ex.map(_one, [str(p) for p in paths], chunksize=16):
            feats.append(f)
            offs.append(offs[-1] + len(f))
            wmels.append(w)
            woffs.append(woffs[-1] + len(w))
    np.save(d / "feats.npy", np.concatenate(feats))
    np.save(d / "offsets.npy", np.asarray(offs, dtype=np.int64))
    np.save(d / "wmel.npy", np.concatenate(wmels))
    np.save(d / "wmel_offsets.npy", np.asarray(woffs, dtype=np.int64))
    return len(items)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path, nargs="+", help="corpus folders built by data.py --keep-audio")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args(argv)
    for c in a.corpus:
        splits = [c / s for s in ("train", "test") if (c / s / "manifest.jsonl").exists()]
        if not splits:
            raise SystemExit(f"featurize.py: {c} has no train/ or test/ split with a manifest.jsonl")
        for d in splits:
            print(f"featurize.py: {d}: {featurize_split(d, a.jobs)} utterances", flush=True)


if __name__ == "__main__":
    main()
