"""CTC training of the streaming conformer on the corpus built by data.py.

  python3 recipes/asr/train.py --data ~/.cache/echoic/asr-data --exp exp/small --max-minutes 40

Trains with the streaming chunk mask (chunk 16, 4 left chunks: exactly the
computation the exported model does), SpecAugment, AdamW with warmup and
inverse-sqrt decay. CPU (one thread by default) or CUDA when present.
Writes <exp>/last.pt (every --ckpt-every steps and at the end) and <exp>/log.jsonl.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import text as T  # noqa: E402
from model import ModelConfig, StreamingConformerCTC  # noqa: E402


class Split:
    def __init__(self, d: Path):
        self.feats = np.load(d / "feats.npy", mmap_mode="r")
        self.offsets = np.load(d / "offsets.npy")
        self.items = [json.loads(l) for l in open(d / "manifest.jsonl", encoding="utf-8")]
        self.targets = [T.encode(it["text"]) for it in self.items]
        assert len(self.items) == len(self.offsets) - 1, f"{d}: manifest and features disagree"
        self.lengths = np.diff(self.offsets)
        # Whisper's log-mel of the same audio (data.py --whisper-mel): distil.py's teacher input.
        self.wmels = np.load(d / "wmel.npy", mmap_mode="r") if (d / "wmel.npy").exists() else None
        self.woffsets = np.load(d / "wmel_offsets.npy") if self.wmels is not None else None

    def __len__(self):
        return len(self.items)

    def feat(self, i: int) -> np.ndarray:
        return np.asarray(self.feats[self.offsets[i]:self.offsets[i + 1]], dtype=np.float32)

    def wmel(self, i: int) -> np.ndarray:
        if self.wmels is None:
            raise FileNotFoundError("corpus has no wmel.npy: build it with data.py --whisper-mel")
        return np.asarray(self.wmels[self.woffsets[i]:self.woffsets[i + 1]], dtype=np.float32)


class Corpus:
    """Several corpora built by data.py (different seeds) read as one training split."""

    def __init__(self, parts: list[Split]):
        self.parts = parts
        self.items = [it for p in parts for it in p.items]
        self.targets = [t for p in parts for t in p.targets]
        self.lengths = np.concatenate([p.lengths for p in parts])
        self.index = [(k, i) for k, p in enumerate(parts) for i in range(len(p))]
        self.feats = parts[0].feats  # CMVN statistics come from the first corpus

    def __len__(self):
        return len(self.items)

    def feat(self, i: int) -> np.ndarray:
        k, j = self.index[i]
        return self.parts[k].feat(j)

    def wmel(self, i: int) -> np.ndarray:
        k, j = self.index[i]
        return self.parts[k].wmel(j)


def batches(split, max_frames: int, rng: random.Random):
    order = sorted(range(len(split)), key=lambda i: split.lengths[i])
    out, cur, longest = [], [], 0
    for i in order:
        n = int(split.lengths[i])
        if cur and max(longest, n) * (len(cur) + 1) > max_frames:
            out.append(cur)
            cur, longest = [], 0
        cur.append(i)
        longest = max(longest, n)
    if cur:
        out.append(cur)
    rng.shuffle(out)
    return out


def collate(split: Split, idx, spec_aug: bool, rng: np.random.Generator, fill: np.ndarray):
    feats = [split.feat(i) for i in idx]
    lens = torch.tensor([len(f) for f in feats])
    x = np.tile(fill, (len(feats), int(lens.max()), 1)).astype(np.float32)
    for b, f in enumerate(feats):
        f = f.copy()
        if spec_aug:
            for _ in range(2):  # frequency masks
                w = rng.integers(0, 15)
                s = rng.integers(0, 80 - w)
                f[:, s:s + w] = fill[s:s + w]
            for _ in range(max(1, len(f) // 250)):  # time masks, ~ up to 10 % of frames
                w = rng.integers(0, min(40, max(1, len(f) // 10)))
                s = rng.integers(0, max(1, len(f) - w))
                f[s:s + w] = fill
        x[b, : len(f)] = f
    ys = [torch.tensor(split.targets[i]) for i in idx]
    ylens = torch.tensor([len(y) for y in ys])
    return torch.from_numpy(x), lens, torch.cat(ys), ylens


def cmvn_stats(split: Split, max_frames: int = 2_000_000):
    step = max(1, len(split.feats) // max_frames)
    f = np.asarray(split.feats[::step], dtype=np.float64)
    mean = f.mean(0)
    std = np.sqrt(np.maximum(f.var(0), 1e-6))
    return torch.tensor(mean, dtype=torch.float32), torch.tensor(1.0 / std, dtype=torch.float32)


def greedy(lp: torch.Tensor, n: int) -> list[int]:
    best = lp[:n].argmax(-1).tolist()
    out, prev = [], -1
    for y in best:
        if y != 0 and y != prev:
            out.append(y)
        prev = y
    return out


@torch.no_grad()
def evaluate(model, split: Split, device, limit: int = 100):
    model.eval()
    refs, hyps = [], []
    for i in range(min(limit, len(split))):
        x = torch.from_numpy(split.feat(i))[None].to(device)
        lp, ol = model(x, torch.tensor([x.size(1)], device=device))
        hyps.append(T.decode(greedy(lp[0].cpu(), int(ol[0]))))
        refs.append(T.normalize(split.items[i]["text"]))
    model.train()
    return T.wer(refs, hyps), list(zip(refs[:3], hyps[:3]))


def ctc_loss(lp, olens, ys, ylens):
    """CTC (blank 0) summed over the batch and divided by its utterance count."""
    return F.ctc_loss(lp.transpose(0, 1), ys.to(lp.device), olens, ylens.to(lp.device), blank=0,
                      reduction="sum", zero_infinity=True) / len(olens)


def setup(a):
    """Seeds, the device (CUDA when present, else CPU with ``a.threads`` threads) and the corpora: the
    train splits of every ``a.data`` folder as one, and the first folder's test split."""
    torch.manual_seed(a.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cpu":
        torch.set_num_threads(a.threads)
    train = Corpus([Split(d / "train") for d in a.data])
    return random.Random(a.seed), np.random.default_rng(a.seed), device, train, Split(a.data[0] / "test")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, nargs="+", default=[Path("~/.cache/echoic/asr-data").expanduser()],
                    help="corpus folders from data.py; train on all their train splits, test on the first's")
    ap.add_argument("--exp", type=Path, default=Path("exp/small"))
    ap.add_argument("--d-model", type=int, default=144)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--blocks", type=int, default=6)
    ap.add_argument("--ffn", type=int, default=576)
    ap.add_argument("--kernel", type=int, default=15)
    ap.add_argument("--subsample-channels", type=int, default=64)
    ap.add_argument("--max-frames", type=int, default=12000, help="padded input frames per batch")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--max-minutes", type=float, default=40)
    ap.add_argument("--max-steps", type=int, default=10**9)
    ap.add_argument("--anneal-minutes", type=float, default=0.0,
                    help="decay the learning rate linearly to 0 over the last N minutes of --max-minutes")
    ap.add_argument("--ckpt-every", type=int, default=100)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--teacher", type=Path, default=None,
                    help="checkpoint of a larger model (same front end and subsampling) to distil from")
    ap.add_argument("--distill-weight", type=float, default=1.0,
                    help="weight of the frame-level KL(teacher || student) term added to CTC")
    a = ap.parse_args(argv)

    rng, nrng, device, train, test = setup(a)
    cfg = ModelConfig(vocab_size=len(T.TOKENS), d_model=a.d_model, heads=a.heads, num_blocks=a.blocks,
                      ffn_dim=a.ffn, kernel=a.kernel, subsample_channels=a.subsample_channels)
    model = StreamingConformerCTC(cfg)
    mean, istd = cmvn_stats(train)
    model.cmvn.mean.copy_(mean)
    model.cmvn.istd.copy_(istd)
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.98), weight_decay=1e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / a.warmup, math.sqrt(a.warmup / (s + 1))))
    a.exp.mkdir(parents=True, exist_ok=True)
    step, spent = 0, 0.0
    if a.resume and (a.exp / "last.pt").exists():
        ck = torch.load(a.exp / "last.pt", map_location=device, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        step, spent = ck["step"], ck.get("train_seconds", 0.0)
    teacher = None
    if a.teacher is not None:
        tk = torch.load(a.teacher, map_location=device, weights_only=False)
        teacher = StreamingConformerCTC(ModelConfig(**tk["config"])).to(device)
        teacher.load_state_dict(tk["model"])
        teacher.eval()
    print(f"train.py: {len(train)} train / {len(test)} test utterances, {model.num_params()} params, "
          f"device {device}", flush=True)
    fill = mean.numpy()  # SpecAugment masks with the mean (0 after CMVN)
    log = open(a.exp / "log.jsonl", "a")

    def save(tag="last"):
        torch.save({"config": cfg.to_dict(), "model": model.state_dict(), "opt": opt.state_dict(),
                    "sched": sched.state_dict(), "step": step, "train_seconds": spent},
                   a.exp / f"{tag}.pt")

    t0 = time.time() - spent
    done = False
    model.train()
    while not done:
        for idx in batches(train, a.max_frames, rng):
            x, lens, ys, ylens = collate(train, idx, True, nrng, fill)
            lp, olens = model(x.to(device), lens.to(device))
            loss = ctc_loss(lp, olens, ys, ylens)
            if teacher is not None:
                # The teacher sees the same (augmented) batch; both emit one frame per 4 inputs.
                with torch.no_grad():
                    tlp, _ = teacher(x.to(device), lens.to(device))
                valid = (torch.arange(lp.size(1), device=device)[None, :] < olens[:, None]).unsqueeze(-1)
                kl = (tlp.exp() * (tlp - lp)).masked_fill(~valid, 0.0).sum() / len(idx)
                loss = loss + a.distill_weight * kl
            opt.zero_grad(set_to_none=True)
            loss.backward()
            gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            step += 1
            spent = time.time() - t0
            left = a.max_minutes * 60 - spent
            if a.anneal_minutes > 0 and left < a.anneal_minutes * 60:
                # A short linear cool-down at the end settles the weights (cheap WER gain).
                scale = max(left, 0.0) / (a.anneal_minutes * 60)
                for g, base in zip(opt.param_groups, sched.get_last_lr()):
                    g["lr"] = base * scale
            if step % 10 == 0:
                rec = {"step": step, "loss": round(loss.item(), 3), "grad_norm": round(float(gn), 2),
                       "lr": opt.param_groups[0]["lr"], "minutes": round(spent / 60, 2)}
                log.write(json.dumps(rec) + "\n")
                log.flush()
                print(rec, flush=True)
            if step % a.eval_every == 0:
                w, ex = evaluate(model, test, device)
                rec = {"step": step, "test_wer": round(w, 4), "examples": ex}
                log.write(json.dumps(rec) + "\n")
                print(rec, flush=True)
            if step % a.ckpt_every == 0:
                save()
            if spent > a.max_minutes * 60 or step >= a.max_steps:
                done = True
                break
    save()
    w, ex = evaluate(model, test, device, limit=len(test))
    rec = {"final_step": step, "train_minutes": round(spent / 60, 1), "test_wer_full_forward": round(w, 4),
           "examples": ex}
    log.write(json.dumps(rec) + "\n")
    print(rec, flush=True)


if __name__ == "__main__":
    main()
