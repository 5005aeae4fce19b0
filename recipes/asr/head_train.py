"""Retrain the distilled student's head on its frozen encoder: thousands of steps an hour on 2 cores.

  python3 recipes/asr/head_train.py --init recipes/asr/checkpoints/echoic-small-en.fp16.pt \\
      --data ~/.cache/echoic/asr-data-3 ~/.cache/echoic/asr-data-human --exp exp/head --max-minutes 60

distil.py trains the whole student (Whisper's four blocks under the chunk mask, ln_post, the
head block and the CTC layer) and on a 2-core CPU manages about 300 steps an hour: the encoder
keeps Whisper's acoustics (the distillation term) but the head that spells from them sees less
than one pass over the corpus. This script freezes everything up to ``ln_post``, computes each
utterance's ``ln_post`` output once with the same chunk-masked forward the streaming model runs
(``WhisperStudentCTC.encode``), and trains only the head (``spell``: head blocks + CTC layer)
on those cached features, with time and channel masks on them in place of SpecAugment. A step
costs ~1/20 of a distil.py step, so the head sees the corpus many times.

Writes <exp>/log.jsonl, <exp>/best.fp16.pt (best held-out WER on the first corpus's test split,
checked every --eval-every steps) and <exp>/student.fp16.pt (the last weights), both in
distil.py's checkpoint format (release.py and export.py read them).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import DIGITAL_SILENCE_FBANK  # noqa: E402
from export import load_checkpoint  # noqa: E402
from model import chunk_attention_mask  # noqa: E402
from train import batches, ctc_loss, evaluate, setup  # noqa: E402

HEAD_PARAMS = ("head.", "head_ln.", "ctc.")


def silence_padded(feat: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``feat`` with 0.3-3 s of exact digital silence before, after or on both sides.

    data.py always leaves a faint noise floor under its speech, so a student trained on it alone
    has never seen the fbank of exact zeros (a constant far below any floor) and may spell
    something there (the stop-30 candidate wrote "ooohh" into 3 s of zeros with the LM)."""
    side = int(rng.integers(0, 3))  # 0 before, 1 after, 2 both
    runs = [int(rng.integers(30, 301)) if s else 0 for s in (side != 1, side != 0)]
    pad = [np.full((n, feat.shape[1]), DIGITAL_SILENCE_FBANK, np.float32) for n in runs]
    return np.concatenate([pad[0], feat.astype(np.float32), pad[1]])


@torch.no_grad()
def cache_encoder(model, feat, lengths, max_frames: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Every utterance's ``ln_post`` output (float16, [T', d]) and its length; utterance i's
    fbank is ``feat(i)``, ``lengths[i]`` frames long."""
    model.eval()
    out: list = [None] * len(lengths)
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    k = 0
    while k < len(order):
        idx, longest = [], 0
        while k < len(order) and (not idx or max(longest, lengths[order[k]]) * (len(idx) + 1) <= max_frames):
            idx.append(order[k])
            longest = max(longest, int(lengths[order[k]]))
            k += 1
        feats = [torch.from_numpy(feat(i)) for i in idx]
        lens = torch.tensor([len(f) for f in feats])
        x = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True)
        h, olens, _ = model.encode(x, lens)
        for b, i in enumerate(idx):
            out[i] = h[b, : int(olens[b])].to(torch.float16).numpy()
    return out, np.array([len(h) for h in out])


class Cached:
    """The corpus as cached encoder outputs, in the shape train.batches() expects."""

    def __init__(self, hidden, lengths, targets):
        self.hidden, self.lengths, self.targets = hidden, lengths, targets

    def __len__(self):
        return len(self.hidden)


def collate(cached: Cached, idx, rng: np.random.Generator, time_mask: float, channel_mask: int):
    hs = [cached.hidden[i].astype(np.float32) for i in idx]
    lens = torch.tensor([len(h) for h in hs])
    x = np.zeros((len(hs), int(lens.max()), hs[0].shape[1]), np.float32)
    for b, h in enumerate(hs):
        h = h.copy()
        for _ in range(max(1, int(len(h) * time_mask / 10))):  # ~time_mask of the frames, in runs of <= 10
            w = int(rng.integers(0, 11))
            s = int(rng.integers(0, max(1, len(h) - w)))
            h[s:s + w] = 0.0
        if channel_mask:
            h[:, rng.choice(h.shape[1], channel_mask, replace=False)] = 0.0
        x[b, : len(h)] = h
    ys = [torch.tensor(cached.targets[i]) for i in idx]
    return torch.from_numpy(x), lens, torch.cat(ys), torch.tensor([len(y) for y in ys])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--init", type=Path, required=True,
                    help="a distil.py student checkpoint (e.g. the committed fp16 one)")
    ap.add_argument("--data", type=Path, nargs="+", required=True,
                    help="corpora from data.py; train on all train splits, test on the first's")
    ap.add_argument("--exp", type=Path, default=Path("exp/head"))
    ap.add_argument("--max-frames", type=int, default=6000, help="padded encoder frames (20 ms) per batch")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--dropout", type=float, default=0.1, help="dropout in the head blocks")
    ap.add_argument("--time-mask", type=float, default=0.1, help="fraction of cached frames zeroed per utterance")
    ap.add_argument("--channel-mask", type=int, default=24, help="cached channels (of 384) zeroed per utterance")
    ap.add_argument("--digital-silence", type=float, default=0.25,
                    help="fraction of utterances also cached with exact digital silence around them")
    ap.add_argument("--max-minutes", type=float, default=60, help="training time, after the encoder cache is built")
    ap.add_argument("--max-steps", type=int, default=10**9)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--eval-limit", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)

    rng, nrng, device, train, test = setup(a)
    model = load_checkpoint(a.init)
    if model.cfg.arch != "whisper_student" or not model.cfg.head_blocks:
        raise SystemExit(f"{a.init}: not a whisper_student checkpoint with head blocks")
    for m in model.head.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = a.dropout
    model.to(device)
    t0 = time.time()
    hidden, _ = cache_encoder(model, train.feat, train.lengths, a.max_frames * 2)
    picked = [int(i) for i in np.flatnonzero(nrng.random(len(train)) < a.digital_silence)]
    padded = [silence_padded(train.feat(i), nrng) for i in picked]
    more, _ = cache_encoder(model, padded.__getitem__, [len(f) for f in padded], a.max_frames * 2)
    targets = list(train.targets) + [train.targets[i] for i in picked]
    cached = Cached(hidden + more, np.array([len(h) for h in hidden + more]), targets)
    cache_s = time.time() - t0
    for n, p in model.named_parameters():
        p.requires_grad_(n.startswith(HEAD_PARAMS))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.98), weight_decay=1e-3)
    a.exp.mkdir(parents=True, exist_ok=True)
    log = open(a.exp / "log.jsonl", "a")
    cfg = model.cfg
    step, spent = 0, 0.0
    best = {"wer": float("inf"), "step": None}

    def emit(rec):
        log.write(json.dumps(rec) + "\n")
        log.flush()
        print(rec, flush=True)

    def save_weights(path):
        torch.save({"config": cfg.to_dict(), "step": step, "train_seconds": spent, "threads": a.threads,
                    "init": str(a.init), "trained": "head only (head_train.py)",
                    "model": {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}},
                   path)

    def held_out():
        w, ex = evaluate(model, test, device, limit=a.eval_limit)  # the whole model, as it streams
        if w < best["wer"]:
            best.update(wer=w, step=step)
            save_weights(a.exp / "best.fp16.pt")
        emit({"step": step, "test_wer": round(w, 4), "examples": ex})

    emit({"init": str(a.init), "train_utterances": len(cached), "silence_padded": len(picked),
          "hours": round(float(cached.lengths.sum()) * 0.02 / 3600, 2),
          "head_params": sum(p.numel() for p in params), "cache_seconds": round(cache_s, 1)})
    held_out()
    model.train()
    t1 = time.time()
    done = False
    while not done:
        for idx in batches(cached, a.max_frames, rng):
            x, lens, ys, ylens = collate(cached, idx, nrng, a.time_mask, a.channel_mask)
            x, lens = x.to(device), lens.to(device)
            mask = chunk_attention_mask(lens, x.size(1), cfg.chunk_size, cfg.num_left_chunks)
            lp = model.spell(x, mask)
            loss = ctc_loss(lp, lens, ys, ylens)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            gn = torch.nn.utils.clip_grad_norm_(params, 5.0)
            spent = time.time() - t1
            scale = min((step + 1) / a.warmup, max(0.05, 1.0 - spent / (a.max_minutes * 60)))
            for g in opt.param_groups:
                g["lr"] = a.lr * scale
            opt.step()
            step += 1
            if step % 50 == 0:
                emit({"step": step, "ctc": round(loss.item(), 3), "grad_norm": round(float(gn), 2),
                      "lr": round(opt.param_groups[0]["lr"], 6), "minutes": round(spent / 60, 2)})
            if step % a.eval_every == 0:
                held_out()
                model.train()
            if spent > a.max_minutes * 60 or step >= a.max_steps:
                done = True
                break
    save_weights(a.exp / "student.fp16.pt")
    held_out()
    emit({"final_step": step, "train_minutes": round(spent / 60, 1), "best_step": best["step"],
          "best_test_wer": round(best["wer"], 4)})


if __name__ == "__main__":
    main()
