"""On-device personalization of an echoic-kws model, with numpy only (no PyTorch).

(a) Weight adaptation: the frozen prefix runs in ONNX Runtime up to the model's
    ``hidden`` output; the last block and the classifier are fine-tuned by numpy
    backprop (or, ``train_from=0``, the whole chain).
(b) Hybrid: after (a), structured channel pruning. Channels are scored by weight
    magnitude (data-agnostic) or by activation statistics on the user's windows times
    the weight that reads them (data-aware); whole channels are removed, the ONNX graph
    is rewritten with smaller tensors, and the removed channels' mean contribution is
    folded into the next layer's bias. Pruning is gradual (``prune_steps``, the same
    share of the remaining channels each step) and every step is followed by an Adam
    fine-tune that distils the weight-adapted model into the pruned one.

Unlabeled ambient audio (``unlabeled=``: what the device heard that holds no keyword)
is what keeps a pruned model quiet at low false-alarm rates: its windows take the
teacher's whole posterior as target and a fixed share of every batch, so the student
relearns the filler class that a few enrollment clips cannot show. A held-out part of
it checks the ambient false-window rate and calibrates the model's threshold.

Guards against drift: an L2 pull towards the starting weights (weight adaptation), a
held-out check that refuses an update whose held-out loss or accuracy or ambient
false-window rate is worse. ``pseudo_labels`` turns confident detections on unlabeled
audio that may hold keywords into labels (capped share, minimum margin).
Needs the ``onnx`` package (``pip install echoic[personalize]``).
"""
from __future__ import annotations

import os
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .. import features as _features
from ..errors import InvalidArgumentError
from .model import KwsNet

SR = 16000


# ---- windows from clips ------------------------------------------------------------------
def _settings(net: KwsNet) -> dict:
    if net.settings is None:
        raise InvalidArgumentError("personalization needs a keyword model loaded with KwsNet.from_onnx")
    return net.settings


def _fbank(x: np.ndarray, net: KwsNet) -> np.ndarray:
    s = _settings(net)
    return _features.compute_fbank(np.ascontiguousarray(x, np.float32) * s["input_scale"], sample_rate=SR,
                                   dither=0.0, low_freq=s["fbank_low_freq"], high_freq=s["fbank_high_freq"],
                                   num_bins=s["num_bins"])


def keyword_windows(clip: np.ndarray, net: KwsNet, shifts: Sequence[float] = (0.5,), seed: int = 0) -> np.ndarray:
    """Windows [n, W, F] holding the whole clip at relative positions `shifts` (0 = left)."""
    w = net.window_frames
    n_win = w * 160
    rng = np.random.default_rng(seed)
    out = []
    clip = np.asarray(clip, np.float32)
    if len(clip) > n_win:  # keep the middle (the synthetic/enrolled words are trimmed)
        s = (len(clip) - n_win) // 2
        clip = clip[s:s + n_win]
    for sh in shifts:
        bg = (rng.standard_normal(n_win) * 3e-4).astype(np.float32)
        o = int(round(sh * (n_win - len(clip))))
        bg[o:o + len(clip)] += clip
        out.append(_fbank(bg, net)[:w])
    return np.stack(out).astype(np.float32)


def partial_windows(clip: np.ndarray, net: KwsNet, visible: float = 0.35) -> np.ndarray:
    """A window where only the head of the word has arrived (must stay filler)."""
    w = net.window_frames
    n_win = w * 160
    bg = (np.random.default_rng(1).standard_normal(n_win) * 3e-4).astype(np.float32)
    k = max(1, int(len(clip) * visible))
    bg[-k:] += np.asarray(clip, np.float32)[:k]
    return _fbank(bg, net)[None, :w].astype(np.float32)


def stream_windows(audio: np.ndarray, net: KwsNet, hop_frames: int = 50) -> np.ndarray:
    """Sliding windows [n, W, F] over a long negative recording."""
    w = net.window_frames
    f = _fbank(audio, net)
    if len(f) < w:
        f = np.concatenate([f, np.repeat(f[-1:], w - len(f), 0)]) if len(f) else np.zeros((w, net.mean.shape[0]))
    starts = range(0, len(f) - w + 1, hop_frames)
    return np.stack([f[s:s + w] for s in starts]).astype(np.float32)


def speed(clip: np.ndarray, factor: float) -> np.ndarray:
    """Plays a clip `factor` times faster (tempo and pitch, like tape): users say a keyword
    faster or slower than when they enrolled."""
    clip = np.asarray(clip, np.float32)
    n = max(2, int(round(len(clip) / factor)))
    return np.interp(np.linspace(0, len(clip) - 1, n), np.arange(len(clip)), clip).astype(np.float32)


def build_dataset(net: KwsNet, clips_by_keyword: Mapping[str, Sequence[np.ndarray]],
                  negatives: Optional[Sequence[np.ndarray]] = None, shifts=(0.2, 0.5, 0.8),
                  speeds: Sequence[float] = (1.0,)) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(windows, labels, group) where group ties the windows of one clip together (for splits).
    speeds: speed-perturbed copies of every keyword clip (same group as the clip)."""
    kws = net.keywords
    xs, ys, gs = [], [], []
    g = 0
    for kw, clips in clips_by_keyword.items():
        if kw not in kws:
            raise InvalidArgumentError(f"personalize: keyword '{kw}' is not in the model (it knows {kws})")
        for c in clips:
            win = np.concatenate([keyword_windows(c if f == 1.0 else speed(c, f), net, shifts, seed=g)
                                  for f in speeds])
            xs.append(win)
            ys += [kws.index(kw) + 1] * len(win)
            gs += [g] * len(win)
            xs.append(partial_windows(c, net))
            ys.append(0)
            gs.append(g)
            g += 1
    for a in negatives or ():
        a = np.asarray(a, np.float32)
        win = stream_windows(a, net) if len(a) > 1.5 * SR else keyword_windows(a, net, (0.5,), seed=g)
        xs.append(win)
        ys += [0] * len(win)
        gs += [g] * len(win)
        g += 1
    if not xs:
        raise InvalidArgumentError("personalize: no clips given")
    return np.concatenate(xs), np.array(ys, np.int64), np.array(gs, np.int64)


# ---- evaluation ---------------------------------------------------------------------------
def evaluate(net: KwsNet, x: np.ndarray, y: np.ndarray) -> Dict[str, float]:
    p, _ = net.forward(x)
    loss = float(-np.log(np.maximum(p[np.arange(len(y)), y], 1e-8)).mean())
    acc = float((p.argmax(1) == y).mean())
    return {"loss": loss, "accuracy": acc}


# ---- training -----------------------------------------------------------------------------
class _Prefix:
    """Runs the frozen layers once: ONNX Runtime up to ``hidden`` when only the last block
    trains (the model's second output), numpy otherwise."""

    def __init__(self, net: KwsNet, onnx_path: Optional[str], train_from: int):
        self.net, self.path, self.train_from = net, onnx_path, train_from

    def __call__(self, x: np.ndarray) -> Tuple[np.ndarray, int]:
        net, tf = self.net, self.train_from
        if tf == 0:
            return x, 0
        if tf == net.hidden_layer and self.path is not None:
            from ..ort import Session

            s = Session(self.path)
            outs = [s.run({"features": x[i:i + 256]}, ["hidden"])["hidden"] for i in range(0, len(x), 256)]
            return np.concatenate(outs), tf
        h = ((x - net.mean) * net.inv_std).transpose(0, 2, 1)
        from .model import _im2col

        for c in net.convs[:tf]:
            cols, _ = _im2col(h, c.kernel, c.stride, c.pad)
            h = np.maximum(cols @ c.w.reshape(c.w.shape[0], -1).T + c.b, 0).transpose(0, 2, 1)
        return h.astype(np.float32), tf


def finetune(net: KwsNet, x: np.ndarray, y: np.ndarray, *, train_from: Optional[int] = None, epochs: int = 20,
             lr: float = 0.05, batch: int = 64, l2_to_start: float = 1e-3, seed: int = 0,
             onnx_path: Optional[str] = None, sample_weights: Optional[np.ndarray] = None,
             teacher: Optional[np.ndarray] = None, distill: float = 0.5, optimizer: str = "sgd",
             targets: Optional[np.ndarray] = None, steps_per_epoch: Optional[int] = None) -> KwsNet:
    """Cross-entropy fine-tuning of layers >= train_from (default: the last block).

    teacher: the unpruned model's posteriors for x; the target becomes
    (1 - distill) * one-hot + distill * teacher (knowledge distillation, which lets a
    pruned network recover from few labelled clips). optimizer: "sgd" (momentum) or "adam".
    targets: explicit soft targets [n, classes]; with sample_weights given, batches are
    drawn in proportion to the weights (a few heavy enrollment windows among thousands
    of ambient ones would otherwise make every batch's gradient noisy)."""
    tf = net.hidden_layer if train_from is None else int(train_from)
    if not 0 <= tf < len(net.convs):
        raise InvalidArgumentError(f"personalize: train_from must be in [0, {len(net.convs) - 1}], got {tf}")
    h, start = _Prefix(net, onnx_path, tf)(x)
    start_params = {k: v.copy() for k, v in _params(net, tf).items()}
    vel = {k: np.zeros_like(v) for k, v in start_params.items()}
    rng = np.random.default_rng(seed)
    n = len(y)
    resample = targets is not None and sample_weights is not None
    if resample:
        p_draw = sample_weights / sample_weights.sum()
        w_all = np.ones(n, np.float32)
    else:
        # Balance classes: each keyword counts as much as the filler.
        counts = np.bincount(y, minlength=len(net.keywords) + 1).astype(np.float64)
        cw = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / np.count_nonzero(counts), 0.0)
        w_all = cw[y] * (sample_weights if sample_weights is not None else 1.0)
    spe = steps_per_epoch if resample and steps_per_epoch else (n + batch - 1) // batch
    steps = max(1, epochs * spe)
    step = 0
    if targets is None and teacher is not None:
        onehot = np.eye(len(net.keywords) + 1, dtype=np.float32)[y]
        targets = (1 - distill) * onehot + distill * teacher.astype(np.float32)
    sq = {k: np.zeros_like(v) for k, v in start_params.items()}
    for _ in range(epochs):
        perm = rng.permutation(n)
        for i in range(spe):
            b = rng.choice(n, size=batch, p=p_draw) if resample else perm[i * batch:(i + 1) * batch]
            probs, cache = net.forward(h[b], start=start, keep=True)
            grads = net.backward(probs, targets[b] if targets is not None else y[b], cache, start, tf, w_all[b])
            cur_lr = lr * 0.5 * (1 + np.cos(np.pi * step / steps))
            params = _params(net, tf)
            for k, g in grads.items():
                g = g + l2_to_start * (params[k] - start_params[k])
                if optimizer == "adam":
                    vel[k] = 0.9 * vel[k] + 0.1 * g
                    sq[k] = 0.999 * sq[k] + 0.001 * g * g
                    mh = vel[k] / (1 - 0.9 ** (step + 1))
                    vh = sq[k] / (1 - 0.999 ** (step + 1))
                    params[k] -= cur_lr * mh / (np.sqrt(vh) + 1e-8)
                else:
                    vel[k] = 0.9 * vel[k] + g
                    params[k] -= cur_lr * vel[k]
            step += 1
    return net


def _params(net: KwsNet, train_from: int) -> Dict[str, np.ndarray]:
    p = {"fc_w": net.fc_w, "fc_b": net.fc_b}
    for i in range(train_from, len(net.convs)):
        p[f"conv{i}_w"] = net.convs[i].w
        p[f"conv{i}_b"] = net.convs[i].b
    return p


# ---- pruning ------------------------------------------------------------------------------
def channel_scores(net: KwsNet, method: str = "data", x: Optional[np.ndarray] = None) -> List[np.ndarray]:
    """Importance of every output channel of every conv layer.

    magnitude: L2 norm of the channel's filter (data-agnostic).
    data: mean activation on the user's windows x L2 norm of the weights that read
          the channel downstream (how much signal it actually passes on).
    """
    if method == "magnitude":
        return [np.sqrt((c.w ** 2).sum(axis=(1, 2))) for c in net.convs]
    if method != "data":
        raise InvalidArgumentError(f"pruning method must be 'magnitude' or 'data', got '{method}'")
    if x is None:
        raise InvalidArgumentError("data-aware pruning needs the user's windows")
    acts = net.activations(x[:512])
    out = []
    for i, a in enumerate(acts):
        nxt = net.convs[i + 1].w if i + 1 < len(net.convs) else net.fc_w[:, :, None]
        out.append(a.mean(axis=(0, 2)) * np.sqrt((nxt ** 2).sum(axis=(0, 2))))
    return out


def prune(net: KwsNet, keep_ratio: float, method: str = "data", x: Optional[np.ndarray] = None,
          min_channels: int = 4) -> KwsNet:
    """Keeps the top `keep_ratio` share of channels of every conv layer (relative to the
    net's current widths)."""
    if not 0 < keep_ratio <= 1:
        raise InvalidArgumentError(f"keep ratio must be in (0, 1], got {keep_ratio}")
    for i in range(len(net.convs)):
        s = channel_scores(net, method, x)[i]  # rescored: earlier removals change activations
        k = max(min_channels, int(round(len(s) * keep_ratio)))
        mean_act = net.activations(x[:512])[i].mean(axis=(0, 2)) if x is not None else None
        net.keep_channels(i, np.argsort(-s)[:k], mean_act)
    return net


# ---- pseudo-labels ----------------------------------------------------------------------
def pseudo_labels(net: KwsNet, windows: np.ndarray, *, high: float = 0.9, near: Tuple[float, float] = (0.3, 0.6),
                  min_margin: float = 0.5, max_share: float = 0.3, n_labelled: int = 0
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """Confident detections -> positives; near misses (a keyword scored in `near` but not
    detected) -> filler. Only windows whose top-2 margin is >= min_margin are used as
    positives, and all together may make up at most `max_share` of the training set."""
    p, _ = net.forward(windows)
    top = np.sort(p, axis=1)
    margin = top[:, -1] - top[:, -2]
    kw = p[:, 1:].max(1)
    pos = (kw >= high) & (margin >= min_margin) & (p.argmax(1) > 0)
    neg = (kw >= near[0]) & (kw < near[1])
    idx = np.flatnonzero(pos | neg)
    cap = int(max_share / max(1e-9, 1 - max_share) * max(n_labelled, 1))
    if len(idx) > cap:  # keep the most certain ones
        idx = idx[np.argsort(-np.abs(kw[idx] - 0.5))[:cap]]
    labels = np.where(pos[idx], p[idx].argmax(1), 0)
    return windows[idx], labels.astype(np.int64)


# ---- the entry point ----------------------------------------------------------------------
def _ambient_split(windows_per_recording: Sequence[np.ndarray], held_out: float, block: int = 10
                   ) -> Tuple[np.ndarray, np.ndarray]:
    """Splits ambient windows into (train, held-out): whole recordings when there are
    enough, else contiguous blocks (neighbouring windows overlap, a per-window split
    would leak)."""
    every = max(2, int(round(1.0 / max(held_out, 1e-3))))
    if len(windows_per_recording) >= every:
        tr = [w for i, w in enumerate(windows_per_recording) if i % every != every - 1]
        te = [w for i, w in enumerate(windows_per_recording) if i % every == every - 1]
        return np.concatenate(tr), np.concatenate(te)
    tr, te = [], []
    for w in windows_per_recording:
        m = (np.arange(len(w)) // block) % every == every - 1
        tr.append(w[~m])
        te.append(w[m])
    return np.concatenate(tr), np.concatenate(te)


def _false_rate(net: KwsNet, x: np.ndarray) -> Dict[str, float]:
    """On audio known to hold no keyword: share of windows a keyword wins, and the top
    keyword posterior (what a threshold must stay above)."""
    if len(x) == 0:
        return {"false_windows": 0.0, "max_keyword_prob": 0.0}
    p = np.concatenate([net.forward(x[i:i + 512])[0] for i in range(0, len(x), 512)])
    return {"false_windows": float((p.argmax(1) > 0).mean()), "max_keyword_prob": float(p[:, 1:].max())}


def _mixed_targets(net_teacher: Optional[KwsNet], x_lab: np.ndarray, y_lab: np.ndarray, x_amb: np.ndarray,
                   share: float, distill: float, classes: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, hard labels, soft targets, draw weights): enrollment windows class-balanced with
    one-hot targets (mixed with the teacher when distill > 0); ambient windows take the
    teacher's whole posterior and `share` of the draws (they carry the filler behaviour
    that a few enrollment clips cannot teach)."""
    onehot = np.eye(classes, dtype=np.float32)[y_lab]
    t_lab = onehot
    if net_teacher is not None and distill > 0:
        t_lab = (1 - distill) * onehot + distill * net_teacher.forward(x_lab)[0]
    counts = np.bincount(y_lab, minlength=classes).astype(np.float64)
    w_lab = 1.0 / np.maximum(counts[y_lab], 1)
    w_lab *= (1.0 - share) / w_lab.sum()
    if len(x_amb) == 0 or net_teacher is None:
        return x_lab, y_lab, t_lab, w_lab / w_lab.sum()
    t_amb = np.concatenate([net_teacher.forward(x_amb[i:i + 512])[0] for i in range(0, len(x_amb), 512)])
    w_amb = np.full(len(x_amb), share / len(x_amb))
    return (np.concatenate([x_lab, x_amb]), np.concatenate([y_lab, t_amb.argmax(1)]),
            np.concatenate([t_lab, t_amb]).astype(np.float32), np.concatenate([w_lab, w_amb]))


def personalize(model_path: "str | os.PathLike[str]", clips_by_keyword: Mapping[str, Sequence[np.ndarray]],
                negatives: Optional[Sequence[np.ndarray]] = None, *, out: "str | os.PathLike[str]",
                prune: float = 0.0, prune_method: str = "data", prune_steps: int = 3,
                train_from: Optional[int] = None, epochs: int = 15, lr: float = 0.05, held_out: float = 0.25,
                unlabeled: Optional[Sequence[np.ndarray]] = None, unlabeled_share: float = 0.5,
                prune_epochs: Optional[int] = None, seed: int = 0, force: bool = False,
                prune_lr: float = 3e-3, calibrate: bool = True, speeds: Sequence[float] = (0.85, 1.0, 1.15)) -> dict:
    """Adapts `model_path` to the user's clips and writes the result to `out`.

    prune: share of channels to remove (0 = weights only). Hybrid adaptation first adapts
    the weights, then prunes and distils that adapted model into the pruned one.
    unlabeled: long recordings the device heard that hold no keyword (ambient speech and
    noise). Their windows are distilled from the teacher (the base model for weight
    adaptation, the weight-adapted model for pruning) so that the adapted model keeps the
    teacher's filler posteriors; a held-out part of them checks false alarms and, with
    calibrate, sets the model's threshold above the top keyword posterior seen there.
    Returns a report with held-out loss/accuracy (and ambient false-window rates) before
    and after, parameters, MACs and file sizes; ``accepted`` is False (and nothing is
    written) when the held-out check fails.
    """
    model_path, out = os.fspath(model_path), os.fspath(out)
    if not 0 <= unlabeled_share < 1:
        raise InvalidArgumentError(f"unlabeled_share must be in [0, 1), got {unlabeled_share}")
    base = KwsNet.from_onnx(model_path)
    classes = len(base.keywords) + 1
    x, y, g = build_dataset(base, clips_by_keyword, negatives, speeds=speeds)
    rng = np.random.default_rng(seed)
    groups = np.unique(g)
    test_groups = set(rng.choice(groups, size=max(1, int(round(held_out * len(groups)))), replace=False).tolist())
    te = np.array([gi in test_groups for gi in g])
    x_tr, y_tr, x_te, y_te = x[~te], y[~te], x[te], y[te]
    u_tr = u_te = np.zeros((0,) + x.shape[1:], np.float32)
    if unlabeled is not None and len(unlabeled):
        u_tr, u_te = _ambient_split([stream_windows(np.asarray(a, np.float32), base, 20) for a in unlabeled],
                                    held_out)
    before = evaluate(base, x_te, y_te)
    amb_before = _false_rate(base, u_te)
    net = base.copy()
    # (a) weights: the last block, distilling the base on ambient windows.
    if len(u_tr):
        xa, ya, ta, wa = _mixed_targets(base, x_tr, y_tr, u_tr, unlabeled_share, 0.0, classes)
        finetune(net, xa, ya, train_from=train_from, epochs=epochs, lr=lr, seed=seed, onnx_path=model_path,
                 targets=ta, sample_weights=wa, steps_per_epoch=max(1, 2 * len(y_tr) // 64))
    else:
        finetune(net, x_tr, y_tr, train_from=train_from, epochs=epochs, lr=lr, seed=seed, onnx_path=model_path)
    if prune > 0:
        # (b) channels: the weight-adapted model is the teacher; its posteriors carry what
        # the few clips cannot (above all, the filler class on ambient audio).
        teacher = net.copy()
        share = unlabeled_share if len(u_tr) else 0.0
        xa, ya, ta, wa = _mixed_targets(teacher, x_tr, y_tr, u_tr, share, 0.5, classes)
        spe = max(1, 2 * len(y_tr) // 32) if len(u_tr) else None
        p_ep = prune_epochs or 3 * epochs
        score_x = np.concatenate([x_tr[:256], u_tr[:256]])
        keep_final = 1.0 - float(prune)
        for s in range(1, prune_steps + 1):
            # geometric schedule: the same share of the remaining channels each step
            globals()["prune"](net, keep_final ** (1.0 / prune_steps), prune_method, score_x)
            finetune(net, xa, ya, train_from=0, epochs=max(3, p_ep // (2 * prune_steps)), lr=prune_lr,
                     seed=seed + s, l2_to_start=0.0, targets=ta, sample_weights=wa, optimizer="adam", batch=32,
                     steps_per_epoch=spe)
        finetune(net, xa, ya, train_from=0, epochs=p_ep, lr=prune_lr, seed=seed, l2_to_start=0.0,
                 targets=ta, sample_weights=wa, optimizer="adam", batch=32, steps_per_epoch=spe)
    after = evaluate(net, x_te, y_te)
    amb_after = _false_rate(net, u_te)
    accepted = force or (after["loss"] <= before["loss"] * 1.05 + 1e-3
                         and after["accuracy"] >= before["accuracy"] - 1e-9
                         and amb_after["false_windows"] <= amb_before["false_windows"] + 2e-3)
    report = {
        "accepted": bool(accepted), "held_out_before": before, "held_out_after": after,
        "ambient_before": amb_before, "ambient_after": amb_after,
        "train_windows": int(len(y_tr)), "held_out_windows": int(len(y_te)),
        "ambient_windows": int(len(u_tr)), "ambient_held_out_windows": int(len(u_te)),
        "params_before": base.num_params(), "params_after": net.num_params(),
        "macs_before": base.macs(), "macs_after": net.macs(),
        "channels_before": base.channels(), "channels_after": net.channels(),
        "bytes_before": os.path.getsize(model_path),
    }
    if calibrate and len(u_te):
        # Above every keyword posterior on held-out ambient audio, never below the shipped one.
        thr = min(0.95, max(float(_settings(base)["threshold"]), amb_after["max_keyword_prob"] + 0.05))
        net.metadata["threshold"] = f"{thr:.3f}"
        report["threshold"] = thr
    if accepted:
        net.metadata["personalized"] = "pruned" if prune > 0 else "weights"
        net.to_onnx(out)
        report["bytes_after"] = os.path.getsize(out)
        report["out"] = out
    return report


__all__ = ["personalize", "finetune", "prune", "channel_scores", "pseudo_labels", "build_dataset", "evaluate",
           "keyword_windows", "stream_windows"]
