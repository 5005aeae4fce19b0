"""Build a synthetic English ASR corpus from Debian packages only, reproducibly from a seed.

  apt-get install espeak-ng flite sox wamerican fortunes fortunes-min \
                  festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
  python3 recipes/asr/data.py --out ~/.cache/echoic/asr-data --num-train 4000 --num-test 200

Sources (see SOURCES below, also written to <out>/SOURCES.json):
  * text: fortune-mod's fortune files (BSD licence, Debian `fortunes`, `fortunes-min`)
    split into sentences, plus random word sequences from the SCOWL `wamerican`
    word list (permissive SCOWL licence) for vocabulary coverage;
  * speech: espeak-ng (GPL-3; the generated audio is not a derivative work) with
    many accents, voice variants, rates and pitches; flite (BSD-like) voices;
    festival diphone voices kal and ked (``--augment rich``, the default);
  * augmentation: sox speed +-10 %, gain, telephone band-limit, silence padding;
    additive white/pink noise at random SNR (numpy); with ``rich`` also pitch
    shift, room reverb and bass/treble colouring.
Held-out test voices never used for training: espeak-ng `en-029` (any variant),
flite `slt` and festival's slt HTS voice.

Output (float16 Kaldi fbank features, the exact front end of the ONNX contract):
  <out>/<split>/feats.npy, offsets.npy, manifest.jsonl (+ wav/ for the test split).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import text as T  # noqa: E402

FORTUNE_DIR = Path("/usr/share/games/fortunes")
FORTUNE_FILES = ["fortunes", "literature", "wisdom", "people", "science", "education",
                 "platitudes", "humorists", "songs-poems", "love", "work", "food", "pets",
                 "kids", "magic", "medicine", "miscellaneous", "news", "sports", "paradoxum",
                 "riddles", "law", "politics", "goedel", "computers", "definitions"]
WORDLIST = Path("/usr/share/dict/american-english")
ASTERISK_DIR = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
ASTERISK_TEXT = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")

SOURCES = {
    "fortune text": {"debian_package": "fortunes, fortunes-min", "path": str(FORTUNE_DIR),
                     "licence": "BSD (fortune-mod; see /usr/share/doc/fortunes-min/copyright)"},
    "word list": {"debian_package": "wamerican", "path": str(WORDLIST),
                  "licence": "SCOWL permissive licence (see /usr/share/doc/wamerican/copyright)"},
    "tts espeak-ng": {"debian_package": "espeak-ng", "licence": "GPL-3+ (program); output audio unrestricted"},
    "tts flite": {"debian_package": "flite", "licence": "BSD-like CMU/Edinburgh licence"},
    "tts festival": {"debian_package": "festival, festvox-kallpc16k, festvox-kdlpc16k, festvox-us-slt-hts",
                     "licence": "festival: BSD-like; kal/ked diphone voices: free use (see their copyright); "
                                "slt HTS: BSD-like CMU ARCTIC licence"},
    "augmentation": {"debian_package": "sox", "licence": "GPL-2+/LGPL (program)"},
    "human speech asterisk": {"debian_package": "asterisk-core-sounds-en, asterisk-core-sounds-en-wav",
                              "path": "/usr/share/asterisk/sounds/en_US_f_Allison",
                              "licence": "CC-BY-SA-3.0, (c) 2003-2010 Allison Smith "
                                         "(see /usr/share/doc/asterisk-core-sounds-en/copyright)"},
}

ESPEAK_TRAIN_LANGS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
                      "en-gb-x-gbcwmd", "en-us-nyc"]
ESPEAK_TEST_LANGS = ["en-029"]
ESPEAK_VARIANTS = ["", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
                   "klatt", "klatt2", "klatt3", "klatt4", "Alex", "Andy", "annie", "belinda",
                   "benjamin", "david", "ed", "edward", "grandma", "grandpa", "john", "linda",
                   "max", "michel", "paul", "rob", "robert", "steph", "travis", "zac", "aunty",
                   "boris", "caleb", "norbert", "quincy", "shelby", "victor"]
FLITE_TRAIN = ["kal", "kal16", "awb", "rms"]
FLITE_TEST = ["slt"]
# Debian festival + festvox-kallpc16k, festvox-kdlpc16k, festvox-us-slt-hts ("rich" corpora only).
# slt stays held out in every engine.
FESTIVAL_TRAIN = ["kal_diphone", "ked_diphone"]
FESTIVAL_TEST = ["cmu_us_slt_arctic_hts"]


# ---------------------------------------------------------------- text

def fortune_sentences() -> list[str]:
    out = []
    for name in FORTUNE_FILES:
        p = FORTUNE_DIR / name
        if not p.exists():
            continue
        for entry in p.read_text(encoding="utf-8", errors="ignore").split("\n%\n"):
            # Drop attribution lines ("-- Author") and join wrapped lines.
            body = " ".join(l.strip() for l in entry.splitlines() if not l.strip().startswith("--"))
            for sent in re.split(r"(?<=[.!?])\s+", body):
                words = T.normalize(sent).split()
                if 3 <= len(words) <= 22:
                    out.append(" ".join(words))
    return sorted(set(out))


def word_list() -> list[str]:
    words = []
    for w in WORDLIST.read_text(encoding="utf-8", errors="ignore").split():
        if re.fullmatch(r"[a-z]+", w) and 2 <= len(w) <= 12:  # skip names/possessives
            words.append(w)
    return words


def asterisk_prompts() -> list[tuple[Path, str]]:
    """Real human speech: the Asterisk PBX prompts (one speaker, 8 kHz) with their transcript list."""
    import gzip

    out = []
    for line in gzip.open(ASTERISK_TEXT, "rt", encoding="utf-8", errors="replace"):
        key, sep, text = line.partition(":")
        if not sep or line.startswith(";"):
            continue
        text = text.strip()
        wav = ASTERISK_DIR / f"{key.strip()}.wav"
        # Tones ("[beep]") and key symbols have no spoken form the normalizer can spell.
        if not wav.exists() or re.search(r"[\[\]*#@]", text) or not T.normalize(text):
            continue
        out.append((wav, text))
    return sorted(out)


def sentence_pools() -> tuple[random.Random, list[str], list[str]]:
    """(rng, test sentences, training sentences): disjoint, so test text is unseen as well as
    test voices. Always split with seed 0, so a corpus built with another seed (more
    training data), or the word LM (lm.py), never uses the seed-0 test sentences. The rng
    is returned in its post-shuffle state (the seed-0 corpus continues with it)."""
    pool_rng = random.Random(0)
    sentences = fortune_sentences()
    pool_rng.shuffle(sentences)
    n_test_sent = max(len(sentences) // 20, 1)
    return pool_rng, sentences[:n_test_sent], sentences[n_test_sent:]


def make_texts(n: int, rng: random.Random, sentences: list[str], words: list[str]) -> list[str]:
    out = []
    for _ in range(n):
        if rng.random() < 0.8 or not words:
            out.append(rng.choice(sentences))
        else:
            out.append(" ".join(rng.choice(words) for _ in range(rng.randint(3, 9))))
    return out


# ---------------------------------------------------------------- speech

def pick_voice(rng: random.Random, test: bool, rich: bool = False) -> dict:
    if rich and rng.random() < 0.15:
        return {"engine": "festival", "voice": rng.choice(FESTIVAL_TEST if test else FESTIVAL_TRAIN),
                "stretch": round(rng.uniform(0.85, 1.25), 3)}
    if rng.random() < (0.25 if test else 0.2):
        return {"engine": "flite", "voice": rng.choice(FLITE_TEST if test else FLITE_TRAIN),
                "stretch": round(rng.uniform(0.85, 1.2), 3)}
    lang = rng.choice(ESPEAK_TEST_LANGS if test else ESPEAK_TRAIN_LANGS)
    var = rng.choice(ESPEAK_VARIANTS)
    return {"engine": "espeak-ng", "voice": lang + (f"+{var}" if var else ""),
            "rate": rng.randint(125, 200), "pitch": rng.randint(25, 75)}


def synthesize(voice: dict, text: str, path: Path) -> None:
    if voice["engine"] == "recorded":  # a real recording: resample it, augmentation follows
        cmd = ["sox", voice["path"], "-r", "16000", "-c", "1", "-b", "16", str(path)]
    elif voice["engine"] == "espeak-ng":
        cmd = ["espeak-ng", "-v", voice["voice"], "-s", str(voice["rate"]), "-p", str(voice["pitch"]),
               "-w", str(path), text]
    elif voice["engine"] == "festival":
        # text2wave reads the text from a file; Duration_Stretch slows or speeds the voice.
        txt = path.with_suffix(".txt")
        txt.write_text(text + "\n", encoding="utf-8")
        cmd = ["text2wave", "-eval", f"(voice_{voice['voice']})",
               "-eval", f"(Parameter.set 'Duration_Stretch {voice['stretch']})", str(txt), "-o", str(path)]
    else:
        cmd = ["flite", "-voice", voice["voice"], "--setf", f"duration_stretch={voice['stretch']}",
               "-t", text, "-o", str(path)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    if voice["engine"] == "festival":
        path.with_suffix(".txt").unlink(missing_ok=True)


def augment_params(rng: random.Random, rich: bool = False) -> dict:
    return {"rich": rich,
        "speed": round(rng.uniform(0.9, 1.1), 3) if rng.random() < 0.7 else 1.0,
        "telephone": rng.random() < 0.15,
        "level_db": round(rng.uniform(-30, -3), 1),
        "pad": [round(rng.uniform(0.05, 0.8), 2), round(rng.uniform(0.1, 0.8), 2)],
        "noise": rng.choice(["none", "white", "pink"]) if rng.random() < 0.6 else "none",
        "snr_db": round(rng.uniform(5, 35), 1),
        "seed": rng.randrange(2**31),
    }


def sox_augment(src: Path, dst: Path, a: dict) -> None:
    cmd = ["sox", str(src), "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", str(dst)]
    if a["speed"] != 1.0:
        cmd += ["speed", str(a["speed"])]
    cmd += ["rate", "16000"]
    if a["telephone"]:
        cmd += ["sinc", "300-3400"]
    if a.get("rich"):
        # Real microphones and rooms: derived from the job seed so older corpora stay reproducible.
        g = random.Random(a["seed"])
        if g.random() < 0.5:  # another "speaker": pitch and formants move together
            cmd += ["pitch", str(g.randint(-350, 350))]
        if g.random() < 0.4:  # room reverberation
            cmd += ["reverb", str(g.randint(10, 70)), "50", str(g.randint(20, 100))]
        if g.random() < 0.5:  # microphone / channel colouring
            cmd += ["bass", str(g.randint(-10, 8)), "treble", str(g.randint(-12, 6))]
    cmd += ["gain", "-n", str(a["level_db"]), "pad", str(a["pad"][0]), str(a["pad"][1])]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


def add_noise(x: np.ndarray, a: dict) -> np.ndarray:
    g = np.random.default_rng(a["seed"])
    sig = float(np.mean(x**2)) + 1e-12
    # A faint floor always: real microphones never deliver exact digital silence.
    floor = g.normal(0, 10 ** (-75 / 20), x.shape)
    if a["noise"] == "none":
        return (x + floor).astype(np.float32)
    n = g.normal(0, 1, x.shape)
    if a["noise"] == "pink":  # 1/f shaping in the frequency domain
        spec = np.fft.rfft(n)
        spec /= np.sqrt(np.maximum(np.arange(spec.size), 1))
        n = np.fft.irfft(spec, n=x.size)
    n *= np.sqrt(sig / (np.mean(n**2) + 1e-12) / 10 ** (a["snr_db"] / 10))
    y = x + n + floor
    peak = np.abs(y).max()
    return (y / peak * 0.99 if peak > 0.99 else y).astype(np.float32)


# The contract's fbank of exact digital zeros: log(FLT_EPSILON) in every bin (Kaldi's floor, no dither).
DIGITAL_SILENCE_FBANK = float(np.log(np.finfo(np.float32).eps))


def fbank(samples: np.ndarray) -> np.ndarray:
    """The contract's front end: Kaldi fbank of int16-range samples (as sherpa-onnx)."""
    import kaldi_native_fbank as knf

    opts = knf.FbankOptions()
    opts.frame_opts.samp_freq = 16000
    opts.frame_opts.dither = 0.0
    opts.frame_opts.snip_edges = False
    opts.frame_opts.window_type = "povey"
    opts.mel_opts.num_bins = 80
    opts.mel_opts.low_freq = 20
    opts.mel_opts.high_freq = -400
    fb = knf.OnlineFbank(opts)
    fb.accept_waveform(16000, (samples * 32768.0).tolist())
    fb.input_finished()
    return np.stack([fb.get_frame(i) for i in range(fb.num_frames_ready)]).astype(np.float32)


def whisper_mel(samples: np.ndarray) -> np.ndarray:
    """Whisper's log-mel (80 bins, 10 ms hop) of the same audio, from echoic's core front end:
    the input of the Whisper teacher that distil.py learns from. [frames, 80]. Where echoic is not
    built (a training box), Whisper's reference extractor from transformers, which agrees with the
    core to 2e-6 (test_distil_recipe.py checks it)."""
    try:
        from echoic import _native
    except ImportError:
        return _reference_whisper_mel(samples)
    return np.asarray(_native.whisper_log_mel(samples, 80, len(samples) // 160), dtype=np.float32).T


def _reference_whisper_mel(samples: np.ndarray) -> np.ndarray:
    from transformers import WhisperFeatureExtractor

    fe = WhisperFeatureExtractor(feature_size=80)
    return np.asarray(fe._np_extract_fbank_features(samples[None].astype(np.float32), "cpu")[0],
                      dtype=np.float32).T[: len(samples) // 160]


# Kept audio (--keep-audio): Ogg Opus at libsndfile's compression level 0.95, about 20 kbit/s
# (9 MB per hour), so a corpus travels to a training machine that has no TTS engines.
KEPT_AUDIO_LEVEL = 0.95


def keep_audio(x: np.ndarray, path: Path) -> None:
    sf.write(str(path), x, 16000, format="OGG", subtype="OPUS", compression_level=KEPT_AUDIO_LEVEL)


def make_one(job: dict, tmp: Path, wav_dir: Path | None, with_whisper_mel: bool = False,
             audio_dir: Path | None = None):
    raw, aug = tmp / f"{job['id']}.raw.wav", tmp / f"{job['id']}.wav"
    try:
        synthesize(job["voice"], job["text"], raw)
        sox_augment(raw, aug, job["aug"])
        x, sr = sf.read(str(aug), dtype="float32")
        assert sr == 16000
        x = add_noise(x, job["aug"])
        if wav_dir is not None:
            sf.write(str(wav_dir / f"{job['id']}.wav"), x, 16000, subtype="PCM_16")
        if audio_dir is not None:
            keep_audio(x, audio_dir / f"{job['id']}.ogg")
        return job, fbank(x), whisper_mel(x) if with_whisper_mel else None, len(x) / 16000
    except (subprocess.SubprocessError, AssertionError, RuntimeError, OSError) as e:
        print(f"data.py: skipping {job['id']} ({job['voice']}): {e}", file=sys.stderr)
        return job, None, None, 0.0
    finally:
        for p in (raw, aug):
            p.unlink(missing_ok=True)


def fresh_dir(out: Path, name: str) -> Path:
    d = out / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    return d


def write_split(d: Path, specs: list, jobs: int, wav_dir: Path | None = None, with_whisper_mel: bool = False,
                keep_audio: bool = False) -> dict:
    """Render every job (synthesize or read, augment, fbank) into <d>/feats.npy, offsets.npy
    and manifest.jsonl; with wav_dir also the audio and a transcripts.tsv for `echoic eval`;
    with_whisper_mel also Whisper's log-mel in wmel.npy, wmel_offsets.npy (distil.py's teacher input);
    with keep_audio every utterance's final audio in <d>/audio/<id>.ogg (featurize.py rebuilds the
    feature files from it on another machine)."""
    feats, offsets, hours = [], [0], 0.0
    wmels, woffsets = [], [0]
    audio_dir = d / "audio" if keep_audio else None
    if audio_dir:
        audio_dir.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(jobs) as ex, \
            open(d / "manifest.jsonl", "w", encoding="utf-8") as man:
        render = lambda j: make_one(j, Path(tmp), wav_dir, with_whisper_mel, audio_dir)  # noqa: E731
        for k, (job, f, wm, dur) in enumerate(ex.map(render, specs)):
            if f is None:
                continue
            feats.append(f.astype(np.float16))
            offsets.append(offsets[-1] + len(f))
            if wm is not None:
                wmels.append(wm.astype(np.float16))
                woffsets.append(woffsets[-1] + len(wm))
            hours += dur / 3600
            man.write(json.dumps({**job, "frames": len(f), "duration": round(dur, 3)}) + "\n")
            if (k + 1) % 500 == 0:
                print(f"data.py: {d.name} {k + 1}/{len(specs)} ({hours:.2f} h)", flush=True)
    if wav_dir:
        with open(wav_dir / "transcripts.tsv", "w", encoding="utf-8") as tsv, \
                open(d / "manifest.jsonl", encoding="utf-8") as man:
            tsv.write("file\ttranscript\n")
            for line in man:
                it = json.loads(line)
                tsv.write(f"{it['id']}.wav\t{it['text']}\n")
    np.save(d / "feats.npy", np.concatenate(feats))
    np.save(d / "offsets.npy", np.asarray(offsets, dtype=np.int64))
    if with_whisper_mel:
        np.save(d / "wmel.npy", np.concatenate(wmels))
        np.save(d / "wmel_offsets.npy", np.asarray(woffsets, dtype=np.int64))
    print(f"data.py: {d.name}: {len(feats)} utterances, {hours:.2f} h -> {d}", flush=True)
    return {"utterances": len(feats), "hours": round(hours, 3)}


def build_split(name: str, n: int, test: bool, rng: random.Random, texts_pool, out: Path, jobs: int,
                rich: bool = False, with_whisper_mel: bool = False, keep_audio: bool = False):
    sentences, words = texts_pool
    d = fresh_dir(out, name)
    wav_dir = d / "wav" if test else None
    if wav_dir:
        wav_dir.mkdir()
    specs = [{"id": f"{name}-{i:06d}", "text": t, "voice": pick_voice(rng, test, rich),
              "aug": augment_params(rng, rich)}
             for i, t in enumerate(make_texts(n, rng, sentences, words))]
    return write_split(d, specs, jobs, wav_dir, with_whisper_mel, keep_audio)


def build_recorded_split(name: str, prompts, copies: int, rng: random.Random, out: Path, jobs: int,
                         with_whisper_mel: bool = False, keep_audio: bool = False):
    """Every recorded prompt `copies` times, each copy with its own augmentation."""
    d = fresh_dir(out, name)
    specs = [{"id": f"{name}-{i:06d}", "text": text, "voice": {"engine": "recorded", "path": str(wav)},
              "aug": augment_params(rng, True)}
             for i, (wav, text) in enumerate([p for _ in range(copies) for p in prompts])]
    return write_split(d, specs, jobs, with_whisper_mel=with_whisper_mel, keep_audio=keep_audio)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path(os.path.expanduser("~/.cache/echoic/asr-data")))
    ap.add_argument("--num-train", type=int, default=4000)
    ap.add_argument("--num-test", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2, help="parallel synthesis processes")
    ap.add_argument("--augment", choices=["basic", "rich"], default="rich",
                    help="rich adds festival voices, pitch shift, reverb and EQ (basic reproduces the seed-0 corpus)")
    ap.add_argument("--human", choices=["asterisk"], default=None,
                    help="build the train split from real recordings instead of TTS (a separate --out)")
    ap.add_argument("--copies", type=int, default=6, help="augmented copies of each recording (--human)")
    ap.add_argument("--whisper-mel", action="store_true",
                    help="also store Whisper's log-mel of every utterance (input of distil.py's teacher)")
    ap.add_argument("--keep-audio", action="store_true",
                    help="also keep every utterance's audio (Ogg Opus, ~9 MB/h) in <split>/audio/, so "
                         "featurize.py can rebuild the features where no TTS engine is installed")
    a = ap.parse_args(argv)
    rich = a.augment == "rich"
    if a.human == "asterisk":
        if not ASTERISK_TEXT.exists():
            sys.exit("data.py: apt-get install asterisk-core-sounds-en asterisk-core-sounds-en-wav")
        prompts = asterisk_prompts()
        a.out.mkdir(parents=True, exist_ok=True)
        stats = {"seed": a.seed, "prompts": len(prompts), "copies": a.copies,
                 "train": build_recorded_split("train", prompts, a.copies, random.Random(a.seed), a.out, a.jobs,
                                               a.whisper_mel, a.keep_audio),
                 "test": None, "sources": {"human speech asterisk": SOURCES["human speech asterisk"],
                                           "augmentation": SOURCES["augmentation"]}}
        (a.out / "SOURCES.json").write_text(json.dumps(stats, indent=2))
        print(json.dumps(stats["train"]))
        return
    for tool in ("espeak-ng", "flite", "sox") + (("text2wave",) if rich else ()):
        if shutil.which(tool) is None:
            sys.exit(f"data.py: {tool} not found; apt-get install espeak-ng flite sox wamerican fortunes fortunes-min")
    if not FORTUNE_DIR.is_dir() or not WORDLIST.exists():
        sys.exit("data.py: text sources missing; apt-get install fortunes fortunes-min wamerican")
    pool_rng, test_pool, train_pool = sentence_pools()
    words = word_list()
    rng = pool_rng if a.seed == 0 else random.Random(a.seed)
    a.out.mkdir(parents=True, exist_ok=True)
    stats = {
        "seed": a.seed,
        "sentences": {"train_pool": len(train_pool), "test_pool": len(test_pool)},
        "augment": a.augment,
        "test": build_split("test", a.num_test, True, rng, (test_pool, words), a.out, a.jobs, rich,
                            a.whisper_mel, a.keep_audio)
        if a.num_test > 0 else None,
        "train": build_split("train", a.num_train, False, rng, (train_pool, words), a.out, a.jobs, rich,
                             a.whisper_mel, a.keep_audio),
        "held_out_voices": {"espeak-ng": ESPEAK_TEST_LANGS, "flite": FLITE_TEST, "festival": FESTIVAL_TEST},
        "sources": SOURCES,
    }
    (a.out / "SOURCES.json").write_text(json.dumps(stats, indent=2))
    print(json.dumps({k: stats[k] for k in ("train", "test")}))


if __name__ == "__main__":
    main()
