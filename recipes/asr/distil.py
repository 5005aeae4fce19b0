"""Distil Whisper's encoder into a streaming CTC model (echoic's contract, 320 ms chunks).

  python3 recipes/asr/data.py --out ~/.cache/echoic/asr-data --num-train 5000 --num-test 200 \\
      --seed 0 --augment basic --whisper-mel
  python3 recipes/asr/data.py --out ~/.cache/echoic/asr-data-human --human asterisk --copies 8 --whisper-mel
  python3 recipes/asr/distil.py --whisper <whisper-tiny.en folder> \\
      --data ~/.cache/echoic/asr-data ~/.cache/echoic/asr-data-human --exp exp/distil --max-minutes 90

The student (whisper_student.py) starts as Whisper's encoder with streaming attention, its
sinusoidal positions (by frames since the stream started), a fbank adapter and a CTC head.
Every step it learns from two signals:
  * CTC on the corpus transcripts (SpecAugment on the student's input);
  * distillation: mean squared distance between its ``ln_post`` output and that of the frozen
    full-attention Whisper encoder (the teacher) on Whisper's log-mel of the same clean audio,
    frame by frame. This pulls the chunked, position-free encoder back to what Whisper computes
    with the whole utterance, so it keeps Whisper's acoustics (learned from real speech) while
    the CTC head learns to spell from synthetic speech.
All layers train: the adapter, convolutions and relative-position biases must move (their
inputs changed), and the blocks must adapt to the chunk mask; the pretrained parts take a 10x
smaller learning rate than the new ones (adapter, biases, CTC head). Teacher outputs are cached
in memory after their first computation (the teacher sees no augmentation).

Progress goes to stdout and <exp>/log.jsonl; <exp>/last.pt every --ckpt-every steps and at the
end; --resume continues (step, optimizer, schedule, time spent). The learning rate warms up,
then decays linearly to 5 % over --max-minutes of training time.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import text as T  # noqa: E402
from train import batches, cmvn_stats, collate, ctc_loss, evaluate, setup  # noqa: E402
from whisper_student import (  # noqa: E402
    TEACHER_SHIFT,
    StudentConfig,
    WhisperTeacher,
    fit_adapter,
    load_whisper_tensors,
    student_from_whisper,
)

NEW_PARAMS = ("adapter.", "ctc.", "rel_bias", "head.", "head_ln.")


def adapter_sample(train, n: int, rng: random.Random):
    """Aligned (fbank, Whisper log-mel) frames from n random utterances."""
    xs, ys = [], []
    for i in rng.sample(range(len(train)), min(n, len(train))):
        f, w = train.feat(i), train.wmel(i)
        m = min(len(f), len(w))
        xs.append(f[:m])
        ys.append(w[:m])
    return np.concatenate(xs), np.concatenate(ys)


def teacher_batch(train, idx, teacher, cache: dict, device):
    """Teacher hidden states per utterance (cached, float16 in RAM)."""
    todo = [i for i in idx if i not in cache]
    if todo:
        mels = [train.wmel(i) for i in todo]
        lens = torch.tensor([len(m) for m in mels])
        x = torch.stack([F.pad(torch.from_numpy(m), (0, 0, 0, int(lens.max()) - len(m)), value=float(m.min()))
                         for m in mels])
        h, hl = teacher(x.to(device), lens.to(device))
        for k, i in enumerate(todo):
            # float16; kept on the GPU when training there (tiny.en: 0.14 GB per hour of audio)
            cache[i] = h[k, : int(hl[k])].to(torch.float16).to(device if device.type == "cuda" else "cpu")
    return [cache[i].float() for i in idx]


def distil_loss(hidden, olens, targets) -> torch.Tensor:
    """Mean over valid frames of ||student_j - teacher_{j+shift}||^2 / d."""
    total, frames = hidden.new_zeros(()), 0
    for b, t in enumerate(targets):
        n = min(int(olens[b]), len(t) - TEACHER_SHIFT)
        if n <= 0:
            continue
        total = total + ((hidden[b, :n] - t[TEACHER_SHIFT:TEACHER_SHIFT + n].to(hidden.device)) ** 2).mean(-1).sum()
        frames += n
    return total / max(frames, 1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--whisper", type=Path, required=True,
                    help="Whisper weights echoic can import (CTranslate2 folder, transformers folder, .pt)")
    ap.add_argument("--data", type=Path, nargs="+", required=True,
                    help="corpora from data.py --whisper-mel; train on all train splits, test on the first's")
    ap.add_argument("--exp", type=Path, default=Path("exp/distil"))
    ap.add_argument("--chunk-size", type=int, default=16, help="output frames per chunk (20 ms each)")
    ap.add_argument("--left-chunks", type=int, default=4, help="attention cache, in chunks")
    ap.add_argument("--head-blocks", type=int, default=1,
                    help="new chunked-attention blocks between Whisper's ln_post and the CTC head")
    ap.add_argument("--head-ffn", type=int, default=768, help="FFN width of the head blocks")
    ap.add_argument("--dropout", type=float, default=0.0,
                    help="dropout in every block (a GPU run sees a small corpus many times: 0.1)")
    ap.add_argument("--max-frames", type=int, default=8000, help="padded fbank frames per batch")
    ap.add_argument("--lr", type=float, default=1e-3, help="new parameters; pretrained ones take lr/10")
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--distill-weight", type=float, default=1.0)
    ap.add_argument("--max-minutes", type=float, default=90)
    ap.add_argument("--max-steps", type=int, default=10**9)
    ap.add_argument("--ckpt-every", type=int, default=50)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--eval-limit", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--resume", action="store_true", help="continue <exp>/last.pt (weights, optimizer, step, time)")
    ap.add_argument("--init", type=Path, default=None,
                    help="start from these student weights (e.g. the committed fp16 checkpoint) instead of Whisper's")
    a = ap.parse_args(argv)

    rng, nrng, device, train, test = setup(a)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    tensors, n_head, dims = load_whisper_tensors(a.whisper)
    teacher = WhisperTeacher(tensors, n_head).to(device)
    model = student_from_whisper(tensors, n_head, vocab_size=len(T.TOKENS), chunk_size=a.chunk_size,
                                 num_left_chunks=a.left_chunks, head_blocks=a.head_blocks,
                                 head_ffn_dim=a.head_ffn, dropout=a.dropout)
    del tensors
    mean, istd = cmvn_stats(train)
    model.cmvn.mean.copy_(mean)
    model.cmvn.istd.copy_(istd)
    rms = fit_adapter(model, *adapter_sample(train, 200, random.Random(a.seed)))
    if a.init is not None:
        init = torch.load(a.init, map_location="cpu", weights_only=False)
        state = {k: v.float() for k, v in init["model"].items() if k != "positions"}
        # A checkpoint without head blocks continues into a model with them: the head's blocks
        # start new; its CTC layer is kept only when it already read a head block's output.
        if any(k.startswith("head.") for k in model.state_dict()) and not any(k.startswith("head.") for k in state):
            state = {k: v for k, v in state.items() if not k.startswith("ctc.")}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or any(not k.startswith(("head.", "head_ln.", "ctc.")) for k in missing):
            raise SystemExit(f"{a.init}: does not fit the student (missing {missing}, unexpected {unexpected})")
    model.to(device)
    new = [p for n, p in model.named_parameters() if any(k in n for k in NEW_PARAMS)]
    old = [p for n, p in model.named_parameters() if not any(k in n for k in NEW_PARAMS)]
    opt = torch.optim.AdamW([{"params": new, "lr": a.lr}, {"params": old, "lr": a.lr / 10}],
                            betas=(0.9, 0.98), weight_decay=1e-3)
    base = [g["lr"] for g in opt.param_groups]
    a.exp.mkdir(parents=True, exist_ok=True)
    step, spent = 0, 0.0
    if a.resume and (a.exp / "last.pt").exists():
        ck = torch.load(a.exp / "last.pt", map_location=device, weights_only=False)
        ck["model"].pop("positions", None)  # stored by checkpoints before positions were computed
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, spent = ck["step"], ck.get("train_seconds", 0.0)
    cfg: StudentConfig = model.cfg
    print(f"distil.py: {len(train)} train / {len(test)} test utterances, student {model.num_params()} params, "
          f"whisper {dims}, adapter fit rms {rms:.3f}, device {device}", flush=True)
    log = open(a.exp / "log.jsonl", "a")
    fill = mean.numpy()
    cache: dict = {}

    def save(tag="last"):
        torch.save({"config": cfg.to_dict(), "model": model.state_dict(), "opt": opt.state_dict(),
                    "step": step, "train_seconds": spent, "threads": a.threads, "whisper": str(a.whisper),
                    "data": [str(d) for d in a.data]}, a.exp / f"{tag}.pt")

    best = {"wer": float("inf"), "step": None}

    def save_weights(path):
        # Weights only, float16: small enough to commit (recipes/asr/checkpoints/), what --init continues from.
        torch.save({"config": cfg.to_dict(), "step": step, "train_seconds": spent, "threads": a.threads,
                    "model": {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}},
                   path)

    def held_out(limit):
        """WER on the first corpus's test split (held-out voices); the best weights so far are kept
        in <exp>/best.fp16.pt, so a run that overfits late still yields its best model."""
        w, ex = evaluate(model, test, device, limit=limit)
        if w < best["wer"]:
            best.update(wer=w, step=step)
            save_weights(a.exp / "best.fp16.pt")
        return w, ex

    def emit(rec):
        log.write(json.dumps(rec) + "\n")
        log.flush()
        print(rec, flush=True)

    if step == 0:
        w, ex = held_out(a.eval_limit)
        emit({"step": 0, "test_wer": round(w, 4), "examples": ex})
    t0 = time.time() - spent
    done = False
    model.train()
    while not done:
        for idx in batches(train, a.max_frames, rng):
            x, lens, ys, ylens = collate(train, idx, True, nrng, fill)
            targets = teacher_batch(train, idx, teacher, cache, device)
            lp, olens, hidden = model(x.to(device), lens.to(device), return_hidden=True)
            ctc = ctc_loss(lp, olens, ys, ylens)
            dist = distil_loss(hidden, olens, targets)
            loss = ctc + a.distill_weight * dist * 100.0  # per-frame MSE is ~0.01-1; scale to CTC's range
            opt.zero_grad(set_to_none=True)
            loss.backward()
            gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            spent = time.time() - t0
            scale = min((step + 1) / a.warmup, max(0.05, 1.0 - spent / (a.max_minutes * 60)))
            for g, b in zip(opt.param_groups, base):
                g["lr"] = b * scale
            opt.step()
            step += 1
            if step % 10 == 0:
                emit({"step": step, "ctc": round(ctc.item(), 3), "distil": round(dist.item(), 4),
                      "grad_norm": round(float(gn), 2), "lr": round(opt.param_groups[0]["lr"], 6),
                      "minutes": round(spent / 60, 2), "cached_teacher": len(cache)})
            if step % a.eval_every == 0:
                w, ex = held_out(a.eval_limit)
                emit({"step": step, "test_wer": round(w, 4), "examples": ex})
            if step % a.ckpt_every == 0:
                save()
            if spent > a.max_minutes * 60 or step >= a.max_steps:
                done = True
                break
    save()
    save_weights(a.exp / "student.fp16.pt")
    w, ex = held_out(a.eval_limit)
    emit({"final_step": step, "train_minutes": round(spent / 60, 1), "test_wer": round(w, 4),
          "best_step": best["step"], "best_test_wer": round(best["wer"], 4), "examples": ex})


if __name__ == "__main__":
    main()
