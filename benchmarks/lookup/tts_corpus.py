"""Multi-voice TTS corpus for cross-speaker keyword lookup, made on this machine with espeak-ng and flite.

Each keyword is synthesised alone by every voice (the enrollment clips, and the word spliced into
queries); each voice also reads carrier sentences that hold none of the keywords. A query stream of
voice B is: sentence, keyword (B), sentence, keyword (B), ... so every keyword's start and end in the
stream are known exactly from the splice (no forced alignment needed)."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import soundfile as sf

RATE = 16000
KEYWORDS = ["porcupine", "blueberry", "terminator", "avocado", "pineapple", "elephant", "volcano", "alligator",
            "hamburger", "butterfly", "telescope", "kangaroo", "helicopter", "strawberry", "orchestra",
            "lighthouse", "umbrella", "dinosaur", "computer", "caterpillar"]
CARRIERS = [
    "the weather was warm and the market opened early today",
    "she told me about the trip they took last summer",
    "we should leave before the traffic gets any worse",
    "he wrote a long letter to his friend in the city",
    "please remember to close the window when you go out",
    "the meeting moved to thursday afternoon at three",
    "my brother bought a new bicycle for the long ride",
    "they painted the kitchen a bright shade of yellow",
    "the children played in the garden until it got dark",
    "i think the train will be late again this morning",
    "our neighbours are planning a party for next week",
    "the teacher asked everyone to read the second chapter",
    "it rained all night and the river rose quickly",
    "you can find the tickets on the table by the door",
    "the old clock in the hall stopped working yesterday",
    "we walked along the beach and watched the boats",
    "the doctor said to rest and drink plenty of water",
    "a small dog followed us all the way to the station",
    "he forgot his keys and had to wait outside",
    "the recipe needs flour sugar butter and two eggs",
]
# (engine, voice): espeak-ng voices with variants, and flite's built-in voices.
VOICES = [("espeak", "en-us"), ("espeak", "en-gb-x-rp+f3"), ("espeak", "en-gb-scotland+m3"),
          ("espeak", "en-029+f2"), ("flite", "kal"), ("flite", "awb"), ("flite", "rms"), ("flite", "slt")]


def voice_name(v: Tuple[str, str]) -> str:
    return f"{v[0]}-{v[1]}".replace("+", "_")


def _resample(x: np.ndarray, rate: int) -> np.ndarray:
    if rate == RATE:
        return x
    from scipy.signal import resample_poly
    g = np.gcd(rate, RATE)
    return resample_poly(x, RATE // g, rate // g).astype(np.float32)


def synth(voice: Tuple[str, str], text: str) -> np.ndarray:
    """Mono float32 at 16 kHz, leading/trailing silence trimmed to 50 ms."""
    engine, name = voice
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "x.wav")
        if engine == "espeak":
            cmd = ["espeak-ng", "-v", name, "-w", out, text]
        else:
            cmd = ["flite", "-voice", name, "-t", text, "-o", out]
        subprocess.run(cmd, check=True, capture_output=True)
        x, rate = sf.read(out, dtype="float32")
    x = _resample(x if x.ndim == 1 else x.mean(1), rate)
    active = np.nonzero(np.abs(x) > 0.01 * np.abs(x).max())[0]
    pad = RATE // 20
    return x[max(0, active[0] - pad): active[-1] + pad].astype(np.float32)


@dataclass
class Stream:
    voice: str
    path: Path
    duration: float
    words: List[Tuple[str, float, float]]  # keyword, start s, end s


def build(root: Path, rng_seed: int = 7) -> Tuple[Dict[str, Dict[str, Path]], List[Stream]]:
    """Writes <root>/<voice>/<keyword>.wav (enrollment) and <root>/<voice>/stream.wav; returns
    ({voice: {keyword: clip}}, streams). Cached: files already there are reused."""
    if not shutil.which("espeak-ng") or not shutil.which("flite"):
        raise SystemExit("needs espeak-ng and flite: apt-get install -y espeak-ng flite")
    rng = np.random.default_rng(rng_seed)
    clips: Dict[str, Dict[str, Path]] = {}
    streams: List[Stream] = []
    for v in VOICES:
        vn = voice_name(v)
        d = root / vn
        d.mkdir(parents=True, exist_ok=True)
        clips[vn] = {}
        words: Dict[str, np.ndarray] = {}
        for kw in KEYWORDS:
            p = d / f"{kw}.wav"
            if not p.exists():
                sf.write(p, synth(v, kw), RATE)
            words[kw] = sf.read(p, dtype="float32")[0]
            clips[vn][kw] = p
        sp, lp = d / "stream.wav", d / "stream.tsv"
        if not sp.exists() or not lp.exists():
            order = rng.permutation(len(KEYWORDS))
            parts, labels, t = [], [], 0
            gap = np.zeros(RATE // 10, np.float32)  # a 100 ms pause on each side of the spliced word
            for i, k in enumerate(order):
                s = synth(v, CARRIERS[i % len(CARRIERS)])
                parts += [s, gap]
                t += len(s) + len(gap)
                kw = KEYWORDS[k]
                labels.append((kw, t / RATE, (t + len(words[kw])) / RATE))
                parts += [words[kw], gap]
                t += len(words[kw]) + len(gap)
            parts.append(synth(v, CARRIERS[(len(order) + 3) % len(CARRIERS)]))
            sf.write(sp, np.concatenate(parts), RATE)
            lp.write_text("".join(f"{k}\t{a:.3f}\t{b:.3f}\n" for k, a, b in labels))
        labels = [(r.split("\t")[0], float(r.split("\t")[1]), float(r.split("\t")[2]))
                  for r in lp.read_text().splitlines() if r]
        streams.append(Stream(vn, sp, sf.info(str(sp)).duration, labels))
    return clips, streams


if __name__ == "__main__":
    import sys
    c, s = build(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/echoic-lookup-tts"))
    print(f"{len(c)} voices, {sum(x.duration for x in s):.0f} s of streams")
