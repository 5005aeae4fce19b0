#!/usr/bin/env python3
"""Builds the synthetic keyword-spotting corpus from a seed (cached outside the repo).

Every clip is synthesized locally with espeak-ng (GPL-3.0), flite (BSD-like),
festival's kal/ked diphone voices (BSD-like, free use) and hibari (Apache-2.0, a
neural voice distilled from Kokoro-82M that ships inside its PyPI wheel; pitch and
vocal-tract scaling turn it into several pseudo-speakers). Negatives also include real
human speech: the Asterisk PBX prompts (Debian asterisk-core-sounds-en-wav, CC-BY-SA-3.0).
Negative text comes from /usr/share/common-licenses (license texts, freely
redistributable). Voices are split into training voices and held-out "users" so
that evaluation never hears a training voice.

    python3 recipes/kws/make_data.py --out ~/.cache/echoic/kws-data --seed 0
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys
import zlib
from multiprocessing import Pool

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

KEYWORDS = ["porcupine", "americano", "blueberry", "bumblebee", "grapefruit",
            "grasshopper", "picovoice", "terminator", "yes", "no"]
# espeak-ng has no dictionary entry for the brand word: spell it as it is said.
SAY = {"picovoice": "peeko voice", "porcupine": "porcupine"}
# Near misses: share sounds with a keyword; always negatives.
CONFUSERS = ["pork", "porky", "pine", "america", "americana", "blue", "berry", "bumble", "bee",
             "grape", "fruit", "grass", "hopper", "pico", "voice", "terminal", "terminate",
             "yesterday", "yeah", "yet", "yellow", "know", "now", "nose", "note", "nine",
             "blueberries", "grapes", "shopper", "dominator", "voice mail", "peek"]
SR = 16000

ESPEAK_BASES = ["en", "en-us", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd"]
ESPEAK_VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "croak", "Alex"]
FLITE_VOICES = ["kal", "awb", "rms", "slt", "kal16"]
FESTIVAL_VOICES = ["kal_diphone", "ked_diphone"]
# hibari's one voice, resampled by these factors after synthesis: each factor is a
# pseudo-speaker (pitch and formants move together, as between real speakers).
HIBARI_SHIFTS = [0.78, 0.82, 0.86, 0.9, 0.94, 0.97, 1.0, 1.03, 1.07, 1.12, 1.17, 1.22]
# Held-out "users" (never used in training).
USER_VOICES = ["espeak:en-gb-x-rp+f3", "espeak:en-029+m5", "espeak:en-us+f5", "espeak:en-gb-scotland+m2",
               "flite:slt"]


def all_voices():
    v = [f"espeak:{b}+{x}" for b in ESPEAK_BASES for x in ESPEAK_VARIANTS]
    v += [f"flite:{x}" for x in FLITE_VOICES]
    v += [f"festival:{x}" for x in FESTIVAL_VOICES]
    v += [f"hibari:{f}" for f in HIBARI_SHIFTS]
    return v


_HIBARI = None


def _hibari_synth(factor, text, rate):
    """hibari at a speed from the espeak-style rate, then resampled by `factor`."""
    global _HIBARI
    if _HIBARI is None:
        import hibari

        _HIBARI = hibari.Hibari(threads=1)
    speed = rate / 160.0
    x = _HIBARI(text, speed=speed / factor, seed=zlib.crc32(f"{factor} {text} {rate}".encode()))
    # 24 kHz -> 16 kHz, then play `factor` times faster (higher voice, original duration).
    up, down = 2 * 50, int(round(3 * 50 * factor))
    return resample_poly(x, up, down).astype(np.float32), SR


def synth(voice, text, rate=160, pitch=50):
    """int16 mono at 16 kHz."""
    kind, name = voice.split(":", 1)
    tmp = f"/tmp/echoic_kws_{kind}_{os.getpid()}.wav"
    if kind == "hibari":
        x, sr = _hibari_synth(float(name), text, rate)
    else:
        if kind == "espeak":
            cmd = ["espeak-ng", "-v", name, "-s", str(rate), "-p", str(pitch), "-w", tmp, text]
        elif kind == "festival":  # text2wave reads stdin; Duration_Stretch > 1 is slower
            cmd = ["text2wave", "-eval", f"(voice_{name})",
                   "-eval", f"(Parameter.set 'Duration_Stretch {160.0 / rate:.2f})", "-o", tmp]
        else:  # flite speeds up with a smaller duration stretch
            cmd = ["flite", "-voice", name, "--setf", f"duration_stretch={160.0 / rate:.2f}",
                   "--setf", f"int_f0_target_mean={80 + pitch}", "-t", text, "-o", tmp]
        subprocess.run(cmd, input=text.encode() if kind == "festival" else None, check=True, capture_output=True)
        x, sr = sf.read(tmp, dtype="float32")
        os.remove(tmp)
    if x.ndim > 1:
        x = x.mean(1)
    if sr != SR:
        g = np.gcd(sr, SR)
        x = resample_poly(x, SR // g, sr // g).astype(np.float32)
    return trim(x)


def trim(x):
    """Trims leading/trailing silence so clips can be placed anywhere in a window; int16."""
    e = np.abs(x) > 0.01 * (np.abs(x).max() + 1e-9)
    if e.any():
        i, j = np.argmax(e), len(e) - np.argmax(e[::-1])
        x = x[max(0, i - 800):min(len(x), j + 800)]
    return np.clip(x * 32767, -32768, 32767).astype(np.int16)


def recorded(path):
    """A real recording as int16 at 16 kHz, silence trimmed like the synthetic clips."""
    x, sr = sf.read(path, dtype="float32")
    g = np.gcd(sr, SR)
    return trim(resample_poly(x, SR // g, sr // g).astype(np.float32))


def _job(args):
    voice, text, rate, pitch, label = args
    try:
        if voice.startswith("recorded:"):
            return label, voice, text, recorded(voice.split(":", 1)[1])
        return label, voice, text, synth(voice, text, rate, pitch)
    except subprocess.CalledProcessError:
        return label, voice, text, None


def human_negatives():
    """(path, text) of the Asterisk prompts that contain no keyword (real human speech, one speaker)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "asr"))
    from data import ASTERISK_TEXT, asterisk_prompts

    if not ASTERISK_TEXT.exists():
        return []
    kw = set(KEYWORDS)
    return [(str(p), t) for p, t in asterisk_prompts() if not kw & set(re.findall(r"[a-z]+", t.lower()))]


def negative_words():
    words = []
    for fn in sorted(os.listdir("/usr/share/common-licenses")):
        p = os.path.join("/usr/share/common-licenses", fn)
        if os.path.isfile(p):
            words += re.findall(r"[a-z]+", open(p, errors="ignore").read().lower())
    banned = set(KEYWORDS) | {"picovoice"}
    return [w for w in words if w not in banned and len(w) > 1]


def run(jobs, procs):
    with Pool(procs) as pool:
        return [r for r in pool.map(_job, jobs, chunksize=16) if r[3] is not None]


def pack(results):
    lens = np.array([len(r[3]) for r in results], np.int64)
    return dict(audio=np.concatenate([r[3] for r in results]) if results else np.zeros(0, np.int16),
                lengths=lens, labels=np.array([r[0] for r in results]),
                voices=np.array([r[1] for r in results]), texts=np.array([r[2] for r in results]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.expanduser("~/.cache/echoic/kws-data"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--neg-hours", type=float, default=1.0, help="hours of held-out negative speech")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    train_voices = [v for v in all_voices() if v not in USER_VOICES]
    words = negative_words()
    half = len(words) // 2
    train_text, eval_text = words[:half], words[half:]

    jobs = []
    for kw in KEYWORDS:
        for v in train_voices:
            for _ in range(6 if v.startswith("hibari:") else 3):  # the neural voice is the most natural
                jobs.append((v, SAY.get(kw, kw), rng.choice([120, 140, 160, 180, 210]),
                             rng.choice([30, 45, 55, 70, 85]), kw))
    for v in train_voices:
        for _ in range(24):  # phrases of 1-3 words from the training half
            i = rng.randrange(len(train_text) - 3)
            jobs.append((v, " ".join(train_text[i:i + rng.randint(1, 3)]), rng.choice([140, 170, 200]),
                         rng.choice([35, 50, 65, 80]), "_filler_"))
        for w in rng.sample(CONFUSERS, 8):
            jobs.append((v, w, rng.choice([130, 160, 190]), rng.choice([35, 50, 65, 80]), "_filler_"))
    humans = human_negatives()
    jobs += [(f"recorded:{p}", t, 0, 0, "_filler_") for p, t in humans]
    train = run(jobs, a.procs)
    np.savez(os.path.join(a.out, "train.npz"), **pack(train))
    print("train clips", len(train), "of which real human negatives", len(humans))

    # Held-out users: keyword enrollment/test clips at varied rates and pitches.
    jobs = []
    for v in USER_VOICES:
        for kw in KEYWORDS:
            for rate in (130, 160, 190):
                for pitch in (40, 60, 80):
                    jobs.append((v, SAY.get(kw, kw), rate, pitch, kw))
        for w in CONFUSERS:
            jobs.append((v, w, 160, 50, "_filler_"))
    users = run(jobs, a.procs)
    np.savez(os.path.join(a.out, "users.npz"), **pack(users))
    print("user clips", len(users))

    # Long negative stream (held-out text, held-out + training voices) for false alarms/hour.
    jobs, total = [], 0.0
    voices = USER_VOICES + rng.sample(train_voices, 5)
    k = 0
    while total < a.neg_hours * 3600:
        chunk = eval_text[(k * 60) % (len(eval_text) - 60):][:60]
        jobs.append((voices[k % len(voices)], " ".join(chunk), rng.choice([150, 170, 190]), 50, "_filler_"))
        total += 60 / 2.8  # ~2.8 words/s
        k += 1
    neg = run(jobs, a.procs)
    np.savez(os.path.join(a.out, "negatives.npz"), **pack(neg))
    hours = sum(len(r[3]) for r in neg) / SR / 3600
    print(f"negative speech {hours:.2f} h")
    json.dump({"seed": a.seed, "keywords": KEYWORDS, "user_voices": USER_VOICES, "train_voices": train_voices,
               "negative_hours": hours,
               "sources": {"espeak-ng": "GPL-3.0-or-later", "flite": "BSD-style (CMU)",
                           "festival kal/ked diphone voices": "BSD-like; free use (see their copyright)",
                           "hibari-tts 0.2.1 (PyPI, voice 'heart')": "Apache-2.0",
                           "asterisk-core-sounds-en-wav (negatives)": "CC-BY-SA-3.0",
                           "text": "/usr/share/common-licenses (license texts)"}},
              open(os.path.join(a.out, "manifest.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
