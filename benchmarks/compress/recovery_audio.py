"""Audio for the recovery step of the compression benchmark, 16 kHz mono, no transcripts (recovery
needs none): synthetic sentences spoken by the ASR recipe's *training* voices (espeak-ng and flite;
recipes/asr/data.py, whose held-out voices and test sentences stay out) and, when the Debian package
is installed, the real human speech of the Asterisk PBX prompts (one speaker; recorded at 8 kHz).

``--real-copies N`` adds N altered copies of every prompt (recipes/asr/data.py's sox chain:
speed, pitch and formants, room reverberation, microphone colouring, noise, level): more speakers
and rooms for the student to learn the teacher on, from the same few hours.

    apt-get install -y espeak-ng flite sox fortunes fortunes-min wamerican asterisk-core-sounds-en-wav
    python3 benchmarks/compress/recovery_audio.py --out /tmp/recovery-audio --clips 400 --real-copies 1
"""
from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--clips", type=int, default=400, help="synthetic clips")
    ap.add_argument("--real-copies", type=int, default=0, help="altered copies of each real recording")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "recipes" / "asr"))
    import data  # recipes/asr/data.py: voices, sentence pools, synthesis, augmentation

    rng, _, train_sentences = data.sentence_pools()
    rng.seed(args.seed)
    texts = data.make_texts(args.clips, rng, train_sentences, data.word_list())
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(texts):
            raw = Path(tmp) / "raw.wav"
            data.synthesize(data.pick_voice(rng, test=False), text, raw)
            subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(args.out / f"{i:05d}.wav")],
                           check=True)
    real = sorted(data.ASTERISK_DIR.glob("*.wav")) if data.ASTERISK_DIR.is_dir() else []
    copies = random.Random(args.seed + 1)  # its own stream: the synthetic clips stay as they were
    for src in real:
        name = f"ast_{src.stem}"
        subprocess.run(["sox", "-V1", str(src), "-r", "16000", "-c", "1", "-b", "16", str(args.out / f"{name}.wav")],
                       check=True)
        for k in range(args.real_copies):
            data.sox_augment(src, args.out / f"{name}_alt{k + 1}.wav", data.augment_params(copies, rich=True))
    print(f"wrote {len(texts)} synthetic clips, {len(real)} Asterisk prompts and "
          f"{len(real) * args.real_copies} altered copies of them to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
