"""Recovery by distillation: after pruning / factorization, train the compressed graph's weights so its
outputs match the input model's (the teacher's) on audio the user supplies. No transcripts: the
teacher's outputs are the targets, so any speech will do.

The training runs on the compressed ONNX graph itself (torch_graph.py executes it with PyTorch), fed
with what the engine fed the input model while transcribing the audio (calibrate.record_sequences:
each clip's chunks in order; teacher and student each carry their own caches from one chunk to the
next, as the engine does). Loss: the KL divergence from the teacher's frame posteriors when the graph's first output is
a LogSoftmax (a CTC model; optionally weighing frames the teacher calls blank less, since they
outnumber the frames that carry characters several times over), else the mean squared error
relative to the teacher's output power (an encoder's hidden states). Bounded by wall-clock minutes;
a tenth of the runs is held out, and the trained weights are kept only if they lower the held-out loss."""
from __future__ import annotations

import math
import os
import time
from typing import Dict, List

import numpy as np

from ..errors import InvalidArgumentError
from .graph import Graph
from .torch_graph import TorchGraph, require_torch

_BIAS_OF = ("MatMul", "Conv", "Gemm")
# The hidden-state loss's default weight, chosen on the recovery audio's held-out clips (the tiny
# tier's 30 min: output KL 0.551 with no hidden loss, 0.457 at weight 1, 0.408 at 3; TINY.md).
HIDDEN_WEIGHT = 3.0


def trainable_initializers(graph: Graph) -> List[str]:
    """Float initializers that are layer weights: MatMul / Gemm / Conv weights and biases, norm scales and
    shifts, and the bias added to a MatMul's / Conv's output. Constants (positions, CMVN, shapes) stay."""
    onnx = graph.onnx
    names = set()
    for n in graph.model.graph.node:
        cand: List[str] = []
        if n.op_type in ("MatMul", "Gemm", "Conv"):
            cand = list(n.input[1:])
        elif n.op_type == "LayerNormalization":
            cand = list(n.input[1:])
        elif n.op_type == "Add" and len(n.input) == 2:
            for i, other in ((0, 1), (1, 0)):
                prod = graph.producer.get(n.input[other])
                if prod is not None and prod.op_type in _BIAS_OF:
                    cand.append(n.input[i])
        for c in cand:
            t = graph.inits.get(c)
            if t is not None and t.data_type == onnx.TensorProto.FLOAT and int(np.prod(t.dims)) > 1:
                names.add(c)
    return sorted(names)


def _fake_quantize(tg: TorchGraph, graph: Graph, trainable: set, q: dict) -> List[str]:
    """Reads each quantizable weight through the grid quantization will put it on; the gradient passes
    straight through the rounding. MatMulNBits's blocks run along a MatMul weight's input dimension
    (rows of W^T), a quantized Conv's along each output channel's flattened kernel."""
    from .quantize import block_dequantized

    torch = tg.torch
    bits, block, sym = int(q["bits"]), int(q["block_size"]), bool(q["symmetric"])
    layout = {m.weight: "matmul" for m in graph.weight_matmuls() if m.weight in trainable}
    if q.get("convolutions"):
        layout.update({n.input[1]: "conv" for n in graph.model.graph.node
                       if n.op_type == "Conv" and len(n.input) > 1 and n.input[1] in trainable})

    def grid(kind: str):
        seen = [-1, None]  # the weight's version (an optimizer step bumps it) and its grid values then

        def fn(w):
            if seen[0] != w._version:
                with torch.no_grad():
                    a = w.detach().numpy()
                    rows = a.T if kind == "matmul" else a.reshape(a.shape[0], -1)
                    deq = block_dequantized(rows, bits, block, sym)
                    deq = deq.T if kind == "matmul" else deq.reshape(a.shape)
                seen[:] = [w._version, torch.from_numpy(np.ascontiguousarray(deq))]
            return w + (seen[1] - w).detach()
        return fn

    for name, kind in layout.items():
        tg.transforms[name] = grid(kind)
    return sorted(layout)


def shared_hidden_states(student: Graph, teacher: Graph) -> List[str]:
    """The residual stream entering each layer norm, by tensor name, where the teacher computes a tensor
    of that name too (pruning and factorization rename none of these)."""
    produced = {o for n in teacher.model.graph.node for o in n.output}
    names = [n.input[0] for n in student.model.graph.node if n.op_type == "LayerNormalization"]
    return [h for i, h in enumerate(names) if h in produced and h not in names[:i]]


def check_loss_weights(blank_weight: float, hidden_weight: float) -> None:
    if not 0 < blank_weight <= 1:
        raise InvalidArgumentError(f"the recovery's blank weight must be in (0, 1], not {blank_weight}")
    if not hidden_weight >= 0:
        raise InvalidArgumentError(f"the recovery's hidden-state weight must be >= 0, not {hidden_weight}")


def _blank_id(graph: Graph) -> int:
    """The CTC blank's token id: metadata ``blank_id`` (the engine's default, 0, when absent)."""
    value = graph.metadata().get("blank_id", "0")
    try:
        blank = int(value)
    except ValueError:
        raise InvalidArgumentError(f"recovery: the model's blank_id metadata '{value}' is not an integer") from None
    vocab = graph.model.graph.output[0].type.tensor_type.shape.dim[-1].dim_value
    if blank < 0 or (vocab and blank >= vocab):
        raise InvalidArgumentError(f"recovery: the model's blank_id {blank} is outside its {vocab} outputs")
    return blank


def distill(student: Graph, teacher: Graph, clips: List[List[Dict[str, np.ndarray]]], minutes: float,
            lr: float = 3e-4, batch: int = 8, seed: int = 0, threads: int | None = None,
            student_feeds=None, blank_weight: float = 1.0, hidden_weight: float = HIDDEN_WEIGHT,
            quantization: dict | None = None) -> dict:
    """Trains ``student``'s weights in place on ``clips`` (calibrate.record_sequences: each clip's runs in
    order); returns what happened, for the report. Teacher and student each run a clip's chunks in
    order, handing their own states (caches) from one run to the next as the engine does (``student_feeds``
    turns a clip's first recorded inputs into the student's where their shapes differ: pruned heads); the
    gradient stops at those states (truncated to one run), so a step costs one forward and backward.
    ``threads``: default every core (training runs on the developer's machine, not the device).
    ``blank_weight`` (CTC models, 0 < w <= 1): a frame's weight in the KL is 1 - (1 - w) x the teacher's
    blank probability there, so w = 1 weighs every frame alike and w = 0.1 makes a frame that is
    certainly blank count a tenth of one that carries a character.
    ``hidden_weight`` > 0 (the default; 0: outputs only) adds layer-to-layer distillation: the
    squared error of the student's residual stream (shared_hidden_states) against the teacher's,
    relative to the teacher's power there, averaged over those tensors and weighted so; pruning and
    factorization keep the model width, so the teacher's hidden states are targets for every block,
    not only for the last.
    ``quantization`` ({bits, block_size, symmetric, convolutions}: the quantization that will follow):
    quantization-aware training; every MatMul weight (and Conv weight with ``convolutions``) is read
    through that block grid (straight-through gradient), so the weights learn to survive it."""
    import onnxruntime as ort

    from .calibrate import carried_states, carry_state

    torch = require_torch()
    if minutes <= 0:
        raise InvalidArgumentError(f"recover needs a positive number of minutes, not {minutes}")
    check_loss_weights(blank_weight, hidden_weight)
    clips = [c for c in clips if c]
    if len(clips) < 2:
        raise InvalidArgumentError(f"recovery needs more audio: {len(clips)} clip(s) reached the model")
    torch.manual_seed(seed)
    if not threads:  # the cores this process may use
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    states = carried_states(student)
    out_name = student.model.graph.output[0].name
    prod = student.producer.get(out_name)
    kind = "kl" if prod is not None and prod.op_type == "LogSoftmax" else "mse"
    blank = _blank_id(student) if kind == "kl" and blank_weight < 1 else None

    hidden = shared_hidden_states(student, teacher) if hidden_weight > 0 else []
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    tm = teacher.onnx.ModelProto()
    tm.CopyFrom(teacher.model)
    tm.graph.output.extend(teacher.onnx.helper.make_tensor_value_info(h, teacher.onnx.TensorProto.FLOAT, None)
                           for h in hidden)
    sess = ort.InferenceSession(tm.SerializeToString(), so, providers=["CPUExecutionProvider"])
    del tm
    wanted = {i.name for i in sess.get_inputs()}
    outs = [out_name] + list(states)
    clips = [[{k: v for k, v in f.items() if k in wanted} for f in c] for c in clips]
    targets = []  # per clip, per run: (output, {hidden state: teacher's value, float16 to halve the memory})
    for c in clips:
        prev, ys = None, []
        for f in c:
            res = dict(zip(outs + hidden, sess.run(outs + hidden, carry_state(f, prev, states))))
            ys.append((torch.from_numpy(res[out_name].astype(np.float32)),
                       {h: torch.from_numpy(res[h].astype(np.float16)) for h in hidden}))
            prev = res
        targets.append(ys)
    if blank is not None and blank >= targets[0][0][0].shape[-1]:  # the graph did not declare its width
        raise InvalidArgumentError(f"recovery: the model's blank_id {blank} is outside its "
                                   f"{targets[0][0][0].shape[-1]} outputs")
    power = float(np.mean([float((t ** 2).mean()) for ys in targets for t, _ in ys])) or 1.0
    hidden_power = {h: float(np.mean([float((hs[h].float() ** 2).mean()) for ys in targets for _, hs in ys])) or 1.0
                    for h in hidden}

    names = trainable_initializers(student)
    tg = TorchGraph(student.model, trainable=names)
    params = list(tg.parameters.values())
    if not params:
        raise InvalidArgumentError("recovery: the compressed graph has no float weights to train")
    quantized = _fake_quantize(tg, student, set(names), quantization) if quantization else []
    order = rng.permutation(len(clips))
    held = order[: max(1, len(clips) // 10)]
    train = list(order[len(held):])

    def output_loss(y, t):
        if kind == "mse":
            return ((y - t) ** 2).mean() / power
        kl = (t.exp() * (t - y)).sum(-1)
        if blank is None:
            return kl.mean()
        w = 1 - (1 - blank_weight) * t[..., blank].exp()
        return (w * kl).sum() / w.sum()

    def loss_of(res, target):
        """(objective, its output part) of one run."""
        t, hs = target
        out = output_loss(res[out_name], t)
        if not hidden:
            return out, out
        err = sum(((res[h] - hs[h].float()) ** 2).mean() / hidden_power[h] for h in hidden) / len(hidden)
        return out + hidden_weight * err, out

    def clip_losses(i: int):
        """Yields each run's loss for clip ``i``, the student carrying its own (detached) states."""
        prev = None
        for f, t in zip(clips[i], targets[i]):
            if prev is None and student_feeds is not None:  # the first run's states, shaped for the student
                f = student_feeds(f)
            res = tg.run(carry_state(f, prev, states), outs + hidden)
            prev = {k: res[k].detach() for k in outs}
            yield loss_of(res, t)

    def held_out():
        """(objective, output part) on the held-out clips."""
        with torch.no_grad():
            values = [(float(v), float(o)) for i in held for v, o in clip_losses(int(i))]
        return tuple(float(np.mean(x)) for x in zip(*values))

    if hidden:  # a tensor the pruning reshaped (another width) is no target
        with torch.no_grad():
            first_run = tg.run(carry_state(student_feeds(clips[0][0]) if student_feeds else clips[0][0], None,
                                           states), hidden)
        hidden = [h for h in hidden if tuple(first_run[h].shape) == tuple(targets[0][0][1][h].shape)]
    (before, before_out) = held_out()
    start = {k: p.detach().clone() for k, p in tg.parameters.items()}
    opt = torch.optim.Adam(params, lr=lr)
    budget = minutes * 60.0
    t0 = time.monotonic()
    steps, runs, first, last, pending, total = 0, 0, None, None, 0, 0.0

    def step() -> None:
        nonlocal steps, first, last, pending, total
        frac = min(1.0, (time.monotonic() - t0) / budget)
        for group in opt.param_groups:  # short warm-up, then cosine decay over the time budget
            group["lr"] = lr * min(1.0, (steps + 1) / 20) * 0.5 * (1 + math.cos(math.pi * frac))
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad()
        steps += 1
        mean = total / pending
        first = mean if first is None else first
        last = mean if last is None else 0.9 * last + 0.1 * mean
        pending, total = 0, 0.0

    opt.zero_grad()
    while time.monotonic() - t0 < budget:
        rng.shuffle(train)
        for i in train:
            for loss, _ in clip_losses(int(i)):
                (loss / batch).backward()
                total += float(loss.detach())
                pending += 1
                runs += 1
                if pending == batch:
                    step()
                if time.monotonic() - t0 >= budget:  # mid-clip: a long clip must not overrun the budget
                    break
            if time.monotonic() - t0 >= budget:
                break
    seconds = time.monotonic() - t0
    (after, after_out) = held_out()
    kept = after < before
    if not kept:
        with torch.no_grad():
            for k, p in tg.parameters.items():
                p.copy_(start[k])
    for name, value in tg.trained_arrays().items():
        student.set_array(name, value)
    train_runs = sum(len(clips[int(i)]) for i in train)
    loss = ("squared error / teacher output power" if kind == "mse" else
            "KL divergence from the teacher's posteriors" + ("" if blank is None else
                                                             f", blank frames weighted {blank_weight:g}"))
    if quantized:
        q = quantization
        loss += (f"; through int{q['bits']} blocks of {q['block_size']}"
                 f"{'' if q['symmetric'] else ' with zero points'} ({len(quantized)} weights, quantization-aware)")
    if hidden:
        loss += (f" + {hidden_weight:g} x the residual stream's squared error relative to the teacher's "
                 f"({len(hidden)} tensors)")
    return {"loss": loss, "blank_weight": blank_weight if kind == "kl" else None,
            "hidden_weight": hidden_weight, "hidden_states": hidden, "fake_quantized": quantized,
            "held_out_output_before": before_out, "held_out_output_after": after_out,
            "runs": sum(len(c) for c in clips), "train_runs": train_runs,
            "held_out_runs": sum(len(clips[int(i)]) for i in held), "held_out_clips": int(len(held)),
            "parameters": int(sum(p.numel() for p in params)), "tensors": len(names),
            "steps": steps, "batch": batch, "epochs": round(runs / max(1, train_runs), 2), "lr": lr,
            "seconds": round(seconds, 1), "train_loss_first": first, "train_loss_last": last,
            "held_out_before": before, "held_out_after": after, "kept": kept}
