"""Audio for the recovery step of the compression benchmark, 16 kHz mono, no transcripts (recovery
needs none): synthetic sentences spoken by the ASR recipe's *training* voices (espeak-ng and flite;
recipes/asr/data.py, whose held-out voices and test sentences stay out), and, when the Debian package
is installed, the real human speech of the Asterisk PBX prompts (one speaker; recorded at 8 kHz).

    apt-get install -y espeak-ng flite sox fortunes fortunes-min wamerican asterisk-core-sounds-en-wav
    python3 benchmarks/compress/recovery_audio.py --out /tmp/recovery-audio --clips 400
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--clips", type=int, default=400)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "recipes" / "asr"))
    import data  # recipes/asr/data.py: voices, sentence pools, synthesis

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
    prompts = sorted(data.ASTERISK_DIR.glob("*.wav")) if data.ASTERISK_DIR.is_dir() else []
    for p in prompts:
        subprocess.run(["sox", str(p), "-r", "16000", "-c", "1", "-b", "16", str(args.out / f"asterisk_{p.name}")],
                       check=True)
    print(f"wrote {len(texts)} synthetic clips and {len(prompts)} Asterisk prompts to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
