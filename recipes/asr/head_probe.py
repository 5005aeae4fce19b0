"""Which CTC head can spell from Whisper's encoder features: heads trained on the frozen full-attention
teacher's ``ln_post`` outputs (the best features a streaming student can hope to match), greedy WER on
the first corpus's held-out test split (the diagnostic behind ``distil.py --head-blocks``).

  python3 recipes/asr/head_probe.py --whisper <whisper folder> --data ~/.cache/echoic/asr-data \\
      ~/.cache/echoic/asr-data-2 ~/.cache/echoic/asr-data-human --head linear --minutes 6
  python3 recipes/asr/head_probe.py ... --head block --minutes 8

Teacher features are computed once and cached (``--cache``, float16: about 2 GB for the three
corpora; the process peaks near 15 GB). Seen 2026-12-03 on 2 threads, 13,408 training utterances,
200 held-out: ``linear`` (what the first echoic-small-en had) 94.3 % after 19,220 steps in 6 min;
``block`` (one chunked-attention Whisper-style block, FFN 1536, then a linear layer) 78.8 % after
1,830 steps in 8 min, still falling. Whisper's features are phonetic frame by frame; spelling
English needs context a per-frame linear map does not have. (distil.py's head block has FFN 768
to keep the int8 file under 12 MB.)
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import text as T  # noqa: E402
import whisper_student as ws  # noqa: E402
from model import chunk_attention_mask  # noqa: E402
from train import Corpus, Split, ctc_loss, greedy  # noqa: E402


@torch.no_grad()
def teacher_features(teacher, split, batch: int = 16) -> list[torch.Tensor]:
    order = sorted(range(len(split)), key=lambda i: len(split.wmel(i)))
    out: dict[int, torch.Tensor] = {}
    for s in range(0, len(order), batch):
        idx = order[s:s + batch]
        mels = [torch.from_numpy(split.wmel(i)) for i in idx]
        lens = torch.tensor([len(m) for m in mels])
        x = torch.stack([F.pad(m, (0, 0, 0, int(lens.max()) - len(m)), value=float(m.min())) for m in mels])
        h, hl = teacher(x, lens)
        for k, i in enumerate(idx):
            out[i] = h[k, : int(hl[k])].half()
    return [out[i] for i in range(len(split))]


class Head(nn.Module):
    def __init__(self, kind: str, cfg: ws.StudentConfig):
        super().__init__()
        self.blocks = nn.ModuleList(ws.WhisperBlock(cfg) for _ in range(kind == "block"))
        self.ln = nn.LayerNorm(cfg.d_model) if kind == "block" else nn.Identity()
        self.out = nn.Linear(cfg.d_model, cfg.vocab_size)
        self.cfg = cfg

    def forward(self, h, lens):
        mask = chunk_attention_mask(lens, h.size(1), self.cfg.chunk_size, self.cfg.num_left_chunks)
        for blk in self.blocks:
            h = blk(h, mask)
        return F.log_softmax(self.out(self.ln(h)), -1)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--whisper", type=Path, required=True)
    ap.add_argument("--data", type=Path, nargs="+", required=True, help="data.py --whisper-mel corpora")
    ap.add_argument("--head", choices=["linear", "block"], default="block")
    ap.add_argument("--minutes", type=float, default=8)
    ap.add_argument("--max-frames", type=int, default=4000, help="padded teacher frames per batch")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/echoic-head-probe.pt"))
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    train, test = Corpus([Split(d / "train") for d in a.data]), Split(a.data[0] / "test")
    if not a.cache.exists():
        tensors, heads, _ = ws.load_whisper_tensors(a.whisper)
        teacher = ws.WhisperTeacher(tensors, heads)
        torch.save({"train": teacher_features(teacher, train), "test": teacher_features(teacher, test)}, a.cache)
    feats = torch.load(a.cache)
    tr, te = feats["train"], feats["test"]
    head = Head(a.head, ws.StudentConfig(vocab_size=len(T.TOKENS)))
    opt = torch.optim.AdamW(head.parameters(), lr=1e-3, weight_decay=1e-3)
    batches, cur = [], []
    for i in sorted(range(len(tr)), key=lambda i: len(tr[i])):
        if cur and len(tr[i]) * (len(cur) + 1) > a.max_frames:
            batches.append(cur)
            cur = []
        cur.append(i)
    batches.append(cur)
    rng, t0, step = random.Random(0), time.time(), 0
    while time.time() - t0 < a.minutes * 60:
        rng.shuffle(batches)
        for idx in batches:
            hs = [tr[i].float() for i in idx]
            lens = torch.tensor([len(h) for h in hs])
            x = torch.stack([F.pad(h, (0, 0, 0, int(lens.max()) - len(h))) for h in hs])
            ys = [torch.tensor(train.targets[i]) for i in idx]
            loss = ctc_loss(head(x, lens), lens, torch.cat(ys), torch.tensor([len(y) for y in ys]))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(head.parameters(), 5.0)
            opt.step()
            step += 1
            if time.time() - t0 > a.minutes * 60:
                break
    head.eval()
    refs, hyps = [], []
    with torch.no_grad():
        for i, h in enumerate(te):
            lp = head(h.float()[None], torch.tensor([len(h)]))
            hyps.append(T.decode(greedy(lp[0], len(h))))
            refs.append(T.normalize(test.items[i]["text"]))
    print(json.dumps({"head": a.head, "steps": step, "minutes": a.minutes, "held_out_wer": round(T.wer(refs, hyps), 4),
                      "examples": list(zip(refs[:2], hyps[:2]))}))


if __name__ == "__main__":
    main()
