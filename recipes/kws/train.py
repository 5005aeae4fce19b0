#!/usr/bin/env python3
"""Trains the base keyword spotter on the synthetic corpus and exports ONNX.

    nice -n 10 python3 recipes/kws/train.py --data ~/.cache/echoic/kws-data \
        --out sdk/echoic/models/echoic-kws-en/model.onnx

CPU only, one thread (the build machine is shared). BatchNorm is folded into the
convolutions at export; an L1 penalty on the BatchNorm scales (network slimming)
makes whole channels cheap to remove later during on-device pruning.
"""
import argparse
import os
import time

import kws_data  # noqa: E402
import numpy as np

from echoic.kws.model import ConvLayer, KwsNet  # the network description shared with the SDK (no native core needed)

# (out_channels, kernel, stride); the input has `num_bins` channels.
ARCH = [(64, 3, 1), (64, 9, 2), (64, 9, 2), (96, 9, 2), (96, 5, 1)]


def build_torch(nbins, nclasses):
    import torch.nn as nn

    layers, cin = [], nbins
    for cout, k, s in ARCH:
        layers += [nn.Conv1d(cin, cout, k, s, padding=k // 2, bias=False), nn.BatchNorm1d(cout), nn.ReLU()]
        cin = cout

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(*layers)
            self.fc = nn.Linear(cin, nclasses)

        def forward(self, x):  # x: normalized [B, T, F]
            return self.fc(self.body(x.transpose(1, 2)).mean(2))

    return Net()


def export(net, mean, inv_std, meta, path):
    convs = []
    mods = list(net.body)
    for i in range(0, len(mods), 3):
        conv, bn = mods[i], mods[i + 1]
        scale = (bn.weight / (bn.running_var + bn.eps).sqrt()).detach().numpy()
        w = conv.weight.detach().numpy() * scale[:, None, None]
        b = bn.bias.detach().numpy() - bn.running_mean.detach().numpy() * scale
        convs.append(ConvLayer(w.astype(np.float32), b.astype(np.float32), conv.stride[0], conv.padding[0]))
    kws = KwsNet(mean.astype(np.float32), inv_std.astype(np.float32), convs,
                 net.fc.weight.detach().numpy().copy(), net.fc.bias.detach().numpy().copy(), meta)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    kws.to_onnx(path)
    return kws


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.expanduser("~/.cache/echoic/kws-data"))
    ap.add_argument("--out", default="sdk/echoic/models/echoic-kws-en/model.onnx")
    ap.add_argument("--epochs", type=int, default=14)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--l1", type=float, default=2e-3, help="L1 on BatchNorm scales (channel sparsity)")
    a = ap.parse_args()

    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    feats, labels = kws_data.training_windows(a.data, seed=a.seed)
    classes = ["_filler_"] + kws_data.KEYWORDS
    mean = feats.reshape(-1, feats.shape[2]).astype(np.float64).mean(0)
    std = feats.reshape(-1, feats.shape[2]).astype(np.float64).std(0) + 1e-3
    inv_std = 1.0 / std
    rng = np.random.default_rng(a.seed)
    idx = rng.permutation(len(labels))
    n_val = len(idx) // 20
    val, tr = idx[:n_val], idx[n_val:]
    x_all = torch.from_numpy(feats)
    y_all = torch.from_numpy(labels.astype(np.int64))
    m_t, s_t = torch.from_numpy(mean.astype(np.float32)), torch.from_numpy(inv_std.astype(np.float32))

    net = build_torch(feats.shape[2], len(classes))
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = a.epochs * (len(tr) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    step = 0
    for ep in range(a.epochs):
        net.train()
        t0 = time.time()
        perm = rng.permutation(tr)
        tot = 0.0
        for bi in range(len(tr) // 128):
            b = perm[bi * 128:(bi + 1) * 128]
            x = (x_all[b].float() - m_t) * s_t
            # SpecAugment-style masks and "stream start" padding (normalized 0 = the mean frame).
            for j in range(x.shape[0]):
                if rng.random() < 0.5:
                    f0 = rng.integers(0, 70)
                    x[j, :, f0:f0 + rng.integers(1, 10)] = 0
                if rng.random() < 0.1:
                    x[j, :rng.integers(1, 40)] = 0
            out = net(x)
            loss = F.cross_entropy(out, y_all[b], label_smoothing=0.05)
            loss = loss + a.l1 * sum(bn.weight.abs().sum() for bn in bns)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step < steps - 1:
                sched.step()
            step += 1
            tot += loss.item()
        net.eval()
        with torch.no_grad():
            pv = net((x_all[val].float() - m_t) * s_t).argmax(1)
            acc = (pv == y_all[val]).float().mean().item()
        print(f"epoch {ep} loss {tot / (len(tr) // 128):.4f} val_acc {acc:.4f} ({time.time() - t0:.0f}s)", flush=True)

    meta = {
        "model_type": "echoic-kws",
        "model_name": "echoic-kws-en",
        "version": "1",
        "keywords": ",".join(kws_data.KEYWORDS),
        "classes": ",".join(classes),
        "filler_class": "0",
        "window_frames": str(kws_data.WINDOW_FRAMES),
        "hop_frames": "10",
        "sample_rate": "16000",
        "num_bins": str(feats.shape[2]),
        "input_scale": "32768",
        "fbank_low_freq": "20",
        "fbank_high_freq": "0",
        "frame_length_ms": "25",
        "frame_shift_ms": "10",
        "smoothing_hops": "3",
        "threshold": "0.5",
        "refractory_s": "1.0",
        "val_accuracy": f"{acc:.4f}",
        "training_seed": str(a.seed),
    }
    kws = export(net, mean, inv_std, meta, a.out)
    print(f"exported {a.out}: {os.path.getsize(a.out)} bytes, {kws.num_params()} params, {kws.macs()} MACs/window")


if __name__ == "__main__":
    main()
