#!/usr/bin/env python3
"""Builds the synthetic keyword-spotting corpus from a seed (cached outside the repo).

Every clip is synthesized locally with espeak-ng (GPL-3.0) and flite (BSD-like);
negative text comes from /usr/share/common-licenses (license texts, freely
redistributable). Voices are split into training voices and held-out "users" so
that evaluation never hears a training voice.

    python3 recipes/kws/make_data.py --out ~/.cache/echoic/kws-data --seed 0
"""
import argparse
import io
import json
import os
import random
import re
import subprocess
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
# Held-out "users" (never used in training).
USER_VOICES = ["espeak:en-gb-x-rp+f3", "espeak:en-029+m5", "espeak:en-us+f5", "espeak:en-gb-scotland+m2",
               "flite:slt"]


def all_voices():
    v = [f"espeak:{b}+{x}" for b in ESPEAK_BASES for x in ESPEAK_VARIANTS]
    v += [f"flite:{x}" for x in FLITE_VOICES]
    return v


def synth(voice, text, rate=160, pitch=50):
    """int16 mono at 16 kHz."""
    kind, name = voice.split(":", 1)
    if kind == "espeak":
        wav = subprocess.run(["espeak-ng", "-v", name, "-s", str(rate), "-p", str(pitch), "--stdout", text],
                             check=True, capture_output=True).stdout
    else:
        tmp = f"/tmp/echoic_kws_flite_{os.getpid()}.wav"
        stretch = 160.0 / rate  # flite speeds up with a smaller duration stretch
        subprocess.run(["flite", "-voice", name, "--setf", f"duration_stretch={stretch:.2f}",
                        "--setf", f"int_f0_target_mean={80 + pitch}", "-t", text, "-o", tmp],
                       check=True, capture_output=True)
        with open(tmp, "rb") as f:
            wav = f.read()
        os.remove(tmp)
    x, sr = sf.read(io.BytesIO(wav), dtype="float32")
    if x.ndim > 1:
        x = x.mean(1)
    if sr != SR:
        g = np.gcd(sr, SR)
        x = resample_poly(x, SR // g, sr // g).astype(np.float32)
    # Trim leading/trailing silence so clips can be placed anywhere in a window.
    e = np.abs(x) > 0.01 * (np.abs(x).max() + 1e-9)
    if e.any():
        i, j = np.argmax(e), len(e) - np.argmax(e[::-1])
        x = x[max(0, i - 800):min(len(x), j + 800)]
    return np.clip(x * 32767, -32768, 32767).astype(np.int16)


def _job(args):
    voice, text, rate, pitch, label = args
    try:
        return label, voice, text, synth(voice, text, rate, pitch)
    except subprocess.CalledProcessError:
        return label, voice, text, None


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
            for _ in range(3):
                jobs.append((v, SAY.get(kw, kw), rng.choice([120, 140, 160, 180, 210]),
                             rng.choice([30, 45, 55, 70, 85]), kw))
    for v in train_voices:
        for _ in range(24):  # phrases of 1-3 words from the training half
            i = rng.randrange(len(train_text) - 3)
            jobs.append((v, " ".join(train_text[i:i + rng.randint(1, 3)]), rng.choice([140, 170, 200]),
                         rng.choice([35, 50, 65, 80]), "_filler_"))
        for w in rng.sample(CONFUSERS, 8):
            jobs.append((v, w, rng.choice([130, 160, 190]), rng.choice([35, 50, 65, 80]), "_filler_"))
    train = run(jobs, a.procs)
    np.savez(os.path.join(a.out, "train.npz"), **pack(train))
    print("train clips", len(train))

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
                           "text": "/usr/share/common-licenses (license texts)"}},
              open(os.path.join(a.out, "manifest.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
