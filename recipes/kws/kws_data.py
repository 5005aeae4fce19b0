"""Training windows from the synthetic corpus: augmentation (speed, gain, noise,
reverb, telephone band) and Kaldi log-mel features, cached next to the audio."""
import os

import numpy as np
from make_data import KEYWORDS, SR
from scipy.signal import butter, fftconvolve, lfilter, resample_poly

WINDOW_FRAMES = 120                 # 1.2 s: the slowest synthetic keywords fit
WINDOW_SAMPLES = WINDOW_FRAMES * 160


def fbank(x_int16_scale):
    import kaldi_native_fbank as knf

    o = knf.FbankOptions()
    o.frame_opts.dither = 0
    o.frame_opts.snip_edges = False
    o.mel_opts.num_bins = 80
    o.mel_opts.low_freq = 20
    o.mel_opts.high_freq = 0
    f = knf.OnlineFbank(o)
    f.accept_waveform(SR, x_int16_scale.astype(np.float32))
    f.input_finished()
    return np.array([f.get_frame(i) for i in range(f.num_frames_ready)], np.float32)


def load(path):
    d = np.load(path)
    offs = np.concatenate([[0], np.cumsum(d["lengths"])])
    clips = [d["audio"][offs[i]:offs[i + 1]].astype(np.float32) / 32768 for i in range(len(d["lengths"]))]
    return clips, list(d["labels"]), list(d["voices"])


def noise(rng, n):
    kind = rng.integers(0, 3)
    w = rng.standard_normal(n).astype(np.float32)
    if kind == 1:  # pink-ish
        w = lfilter([1.0], [1.0, -0.95], w).astype(np.float32)
    elif kind == 2:  # brown-ish (rumble)
        w = lfilter([1.0], [1.0, -0.995], w).astype(np.float32)
    return w / (np.abs(w).max() + 1e-9)


_TEL = butter(4, [300 / (SR / 2), 3400 / (SR / 2)], btype="band")


def augment(rng, x):
    if rng.random() < 0.6:  # speed (tempo + pitch)
        f = int(rng.integers(88, 113))
        x = resample_poly(x, 100, f).astype(np.float32)
    if rng.random() < 0.4:  # room: exponentially decaying noise impulse response
        n = int(SR * rng.uniform(0.05, 0.45))
        ir = rng.standard_normal(n) * np.exp(-np.arange(n) / (n / 5))
        ir[0] = 1.0
        x = fftconvolve(x, ir / np.abs(ir).sum() * 3)[:len(x) + n // 2].astype(np.float32)
    if rng.random() < 0.15:
        x = lfilter(*_TEL, x).astype(np.float32)
    return x


def place(rng, clip, bg, visible=1.0):
    """Puts `clip` into a window over background `bg`; visible < 1 keeps only its head."""
    out = bg.copy()
    n = len(clip)
    if visible < 1.0:  # the word is still entering the window: only its first part shows
        k = max(1, int(n * visible))
        out[-k:] += clip[:k]
        return out
    if n >= WINDOW_SAMPLES:
        s = (n - WINDOW_SAMPLES) // 2
        return out + clip[s:s + WINDOW_SAMPLES]
    o = int(rng.integers(0, WINDOW_SAMPLES - n + 1))
    out[o:o + n] += clip
    return out


def background(rng, neg_clips):
    r = rng.random()
    if r < 0.15:
        return np.zeros(WINDOW_SAMPLES, np.float32)
    level = 10 ** rng.uniform(-4, -1.3)
    bg = noise(rng, WINDOW_SAMPLES) * level
    if r > 0.8 and neg_clips:  # babble: another voice far below
        c = neg_clips[rng.integers(len(neg_clips))]
        c = np.resize(c, WINDOW_SAMPLES) * rng.uniform(0.02, 0.1)
        bg = bg + c
    return bg.astype(np.float32)


def training_windows(data_dir, seed=0, aug_per_clip=3):
    cache = os.path.join(data_dir, f"windows_seed{seed}.npz")
    if os.path.exists(cache):
        d = np.load(cache)
        return d["feats"], d["labels"]
    rng = np.random.default_rng(seed)
    clips, labels, _ = load(os.path.join(data_dir, "train.npz"))
    pos = [(c, KEYWORDS.index(l) + 1) for c, l in zip(clips, labels) if l in KEYWORDS]
    neg = [c for c, l in zip(clips, labels) if l not in KEYWORDS]
    windows, ys = [], []

    def add(x, y):
        x = x * rng.uniform(0.2, 1.5)
        windows.append(fbank(np.clip(x, -1, 1) * 32768)[:WINDOW_FRAMES])
        ys.append(y)

    for c, y in pos:
        for _ in range(aug_per_clip):
            add(place(rng, augment(rng, c), background(rng, neg)), y)
    n_pos = len(ys)
    for _ in range(n_pos * 2 // 3):  # speech and near-miss negatives
        c = augment(rng, neg[rng.integers(len(neg))])
        if len(c) > WINDOW_SAMPLES:
            s = rng.integers(0, len(c) - WINDOW_SAMPLES + 1)
            c = c[s:s + WINDOW_SAMPLES]
        add(place(rng, c, background(rng, neg)), 0)
    for _ in range(n_pos // 6):  # keyword still entering the window
        c, _y = pos[rng.integers(len(pos))]
        add(place(rng, augment(rng, c), background(rng, neg), visible=rng.uniform(0.1, 0.45)), 0)
    for _ in range(n_pos // 8):  # noise / silence only
        add(background(rng, neg) * rng.uniform(1, 20), 0)
    feats = np.stack(windows).astype(np.float16)
    labels = np.array(ys, np.int8)
    np.savez(cache, feats=feats, labels=labels)
    return feats, labels
