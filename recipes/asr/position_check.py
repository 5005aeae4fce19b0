"""How far the streaming student starts from its Whisper teacher, with and without Whisper's positions
and with full or chunked attention (the diagnostic behind keeping the positions; whisper_student.py).

  python3 recipes/asr/position_check.py --whisper <whisper folder> --data ~/.cache/echoic/asr-data

Prints the mean squared distance per dimension between student and teacher ``ln_post`` outputs on
10 training utterances, before any training (seen 2026-12-03: full attention with positions 0.15,
chunk 16 / 4 left with positions 0.55, without positions 2.05-2.07 whatever the attention).
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import whisper_student as ws  # noqa: E402
from distil import adapter_sample, distil_loss  # noqa: E402
from train import Split, cmvn_stats  # noqa: E402


def distance(tensors, heads, split, teacher, chunk: int, left: int, positions: bool, n: int = 10) -> float:
    m = ws.student_from_whisper(tensors, heads, vocab_size=29, chunk_size=chunk, num_left_chunks=left)
    mean, istd = cmvn_stats(split, 200_000)
    m.cmvn.mean.copy_(mean)
    m.cmvn.istd.copy_(istd)
    ws.fit_adapter(m, *adapter_sample(split, 50, random.Random(0)))
    if not positions:
        m.inv_timescales.zero_()  # sin(0) = 0, cos(0) = 1: a constant, i.e. no position information
    m.eval()
    out = []
    for i in range(n):
        f, w = torch.from_numpy(split.feat(i))[None], torch.from_numpy(split.wmel(i))[None]
        with torch.no_grad():
            _, ol, hid = m(f, torch.tensor([f.shape[1]]), return_hidden=True)
            th, tl = teacher(w, torch.tensor([w.shape[1]]))
        out.append(distil_loss(hid, ol, [th[0, : int(tl[0])]]).item())
    return float(np.mean(out))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--whisper", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True, help="a data.py --whisper-mel corpus")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    tensors, heads, _ = ws.load_whisper_tensors(a.whisper)
    split = Split(a.data / "train")
    teacher = ws.WhisperTeacher(tensors, heads)
    for label, chunk, left, pos in (("full attention, positions", 10**6, 0, True),
                                    ("full attention, no positions", 10**6, 0, False),
                                    ("chunk 16 / 4 left, positions", 16, 4, True),
                                    ("chunk 16 / 4 left, no positions", 16, 4, False)):
        print(f"{label:34s} {distance(tensors, heads, split, teacher, chunk, left, pos):.3f}")


if __name__ == "__main__":
    main()
