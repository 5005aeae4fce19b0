"""Structured pruning of feed-forward channels: whole hidden units of ``W2 · act(W1 x + b1)`` go (a
column of W1, an entry of b1, a row of W2), so the layers get narrower and every runtime gets faster
(no sparse kernels needed).

Channels are found in the graph, not by layer names: a weight MatMul W2 [F, D] whose input is reached
from ``Add(MatMul(x, W1 [D, F]), b1 [F])`` through element-wise operators with scalar constants only
(GELU's Erf form, SiLU's Sigmoid and Mul, ReLU, ...), with no other reader of those tensors.

Importance, data-free: ||W1[:, j]|| * ||W2[j, :]||, the size of channel j's path through the block
when its activation is of unit size. Data-aware (``hidden`` = the block's hidden activations H on
calibration audio, rows x F): ||H[:, j]|| * ||W2[j, :]||, what channel j actually adds to the
block's output there. The lowest-scoring ``fraction`` of each block's channels go (kept counts
rounded up to a multiple of 16 for the int8 kernels).

Refit (``refit=True``, data-aware only): the kept rows of W2 (and the output bias, where the block
has one) are solved by ridge least squares so the narrower block reproduces the original block's
output H W2 on the calibration activations: the removed channels' mean contribution moves into the
bias and their correlated part into the kept channels (layer-wise distillation, no gradient steps).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Set

import numpy as np

from ..errors import InvalidArgumentError
from .graph import Graph

_ELEMENTWISE = {"Mul", "Div", "Add", "Sub", "Erf", "Sigmoid", "Relu", "Tanh", "Gelu", "FastGelu", "Softplus",
                "HardSigmoid", "HardSwish", "Identity", "Neg", "Pow", "Sqrt", "Abs"}


@dataclass
class FeedForward:
    up: object  # MatMul node with W1 [D, F]
    bias_add: object  # Add node with b1 [F]
    down: object  # MatMul node with W2 [F, D]
    w1: str
    b1: str
    w2: str
    width: int


@dataclass
class Pruned:
    layer: str
    width: int
    kept: int
    criterion: str = "magnitude"
    # Relative error of the block's output on the calibration activations, ||H W2 - H_kept W2'|| / ||H W2||
    # (data-aware only): before and after the refit.
    error: Optional[float] = None
    error_refit: Optional[float] = None


def _scalar_constant(graph: Graph, name: str) -> bool:
    if name in graph.inits:
        return int(np.prod(graph.inits[name].dims)) == 1
    p = graph.producer.get(name)
    if p is not None and p.op_type == "Constant":
        for a in p.attribute:
            if a.name == "value":
                return int(np.prod(a.t.dims)) == 1
            if a.name in ("value_float", "value_int"):
                return True
    return False


def _bias_add(graph: Graph, node, width: int) -> Optional[tuple]:
    """(up MatMul, W1, b1) when ``node`` is Add(MatMul(x, W1 [D, width]), b1 [width])."""
    if node.op_type != "Add" or len(node.input) != 2:
        return None
    for mm_out, b in ((node.input[0], node.input[1]), (node.input[1], node.input[0])):
        up = graph.producer.get(mm_out)
        if (b in graph.inits and list(graph.inits[b].dims) == [width] and up is not None
                and up.op_type == "MatMul" and up.input[1] in graph.inits
                and list(graph.inits[up.input[1]].dims)[-1:] == [width] and len(graph.inits[up.input[1]].dims) == 2):
            return up, up.input[1], b
    return None


def find_feed_forwards(graph: Graph) -> List[FeedForward]:
    found = []
    for mm in graph.weight_matmuls():
        w2 = graph.inits[mm.weight]
        width = int(w2.dims[0])
        region: Set[int] = set()
        nodes = {}
        stack, root, ok = [mm.node.input[0]], None, True
        while stack and ok:
            p = graph.producer.get(stack.pop())
            if p is None:
                ok = False
            elif (hit := _bias_add(graph, p, width)) is not None:
                ok = root is None or root[0] is p
                root = (p, *hit)
            elif p.op_type in _ELEMENTWISE and id(p) not in region:
                region.add(id(p))
                nodes[id(p)] = p
                stack += [i for i in p.input if not _scalar_constant(graph, i)]
            elif id(p) not in region:
                ok = False
        if not ok or root is None:
            continue
        add, up, w1, b1 = root
        inside = set(region) | {id(add), id(mm.node)}
        for n in list(nodes.values()) + [add]:
            for o in n.output:
                if any(c is None or id(c) not in inside for c in graph.consumers.get(o, [])):
                    ok = False
        ok = ok and graph.only_reader(up.output[0], add) and graph.only_reader(w1, up)
        ok = ok and graph.only_reader(b1, add) and graph.only_reader(mm.weight, mm.node)
        if ok:
            found.append(FeedForward(up, add, mm.node, w1, b1, mm.weight, width))
    return found


def prune_feed_forward(graph: Graph, fraction: float, multiple: int = 16,
                       hidden: Optional[Dict[str, np.ndarray]] = None, refit: bool = False) -> List[Pruned]:
    """Remove the least important ``fraction`` of every feed-forward block's hidden channels.
    ``hidden``: {name of W2's input tensor: activations [rows, F]} from calibration audio (see
    hidden_tensors); with it, blocks with fewer than 2 x kept rows there are left whole."""
    if not 0.0 <= fraction < 1.0:
        raise InvalidArgumentError(f"pruning fraction must be in [0, 1), got {fraction}")
    done = []
    for ff in find_feed_forwards(graph):
        w1, b1, w2 = graph.array(ff.w1), graph.array(ff.b1), graph.array(ff.w2)
        keep_n = min(ff.width, int(np.ceil(ff.width * (1.0 - fraction) / multiple) * multiple))
        if keep_n >= ff.width:
            continue
        h = (hidden or {}).get(ff.down.input[0])
        data = h is not None and h.ndim == 2 and h.shape[1] == ff.width and len(h) >= 2 * keep_n
        if hidden is not None and not data:
            # Data-aware run, but this block saw too little of the audio (Whisper's decoder: one row
            # per token): left whole rather than cut blind (magnitude pruning broke Whisper).
            done.append(Pruned(ff.down.name or ff.down.output[0], ff.width, ff.width,
                               f"kept whole: {0 if h is None else len(h)} calibration rows"))
            continue
        if data:
            score = np.linalg.norm(h.astype(np.float64), axis=0) * np.linalg.norm(w2, axis=1)
        else:
            score = np.linalg.norm(w1, axis=0) * np.linalg.norm(w2, axis=1)
        keep = np.sort(np.argsort(-score)[:keep_n])
        p = Pruned(ff.down.name or ff.down.output[0], ff.width, keep_n, "activations" if data else "magnitude")
        new_w2 = w2[keep, :]
        if data:
            new_w2, p.error, p.error_refit = _refit(graph, ff, h, w2, keep, refit)
        graph.set_array(ff.w1, w1[:, keep])
        graph.set_array(ff.b1, b1[keep])
        graph.set_array(ff.w2, new_w2)
        done.append(p)
    graph.reindex()
    return done


def hidden_tensors(graph: Graph) -> List[str]:
    """The tensors prune_feed_forward reads with ``hidden``: each block's activations entering W2."""
    return [ff.down.input[0] for ff in find_feed_forwards(graph)]


def _output_bias(graph: Graph, ff: FeedForward, width: int) -> Optional[str]:
    """The [D] initializer added to W2's output, when only that Add reads both."""
    users = graph.consumers.get(ff.down.output[0], [])
    if len(users) != 1 or users[0] is None or users[0].op_type != "Add":
        return None
    other = [i for i in users[0].input if i != ff.down.output[0]]
    if (len(other) == 1 and other[0] in graph.inits and list(graph.inits[other[0]].dims) == [width]
            and graph.only_reader(other[0], users[0])):
        return other[0]
    return None


def _refit(graph: Graph, ff: FeedForward, h: np.ndarray, w2: np.ndarray, keep: np.ndarray, refit: bool):
    h = h.astype(np.float64)
    w = w2.astype(np.float64)
    y = h @ w
    hk = h[:, keep]
    norm = float(np.linalg.norm(y)) or 1.0
    before = float(np.linalg.norm(y - hk @ w[keep])) / norm
    if not refit:
        return w2[keep, :], before, None
    bias = _output_bias(graph, ff, w2.shape[1])
    if bias is not None:  # centred fit; the means go into the bias
        mh, my = hk.mean(axis=0), y.mean(axis=0)
        a, b = hk - mh, y - my
    else:
        a, b = hk, y
    gram = a.T @ a
    gram[np.diag_indices_from(gram)] += 1e-4 * float(np.trace(gram)) / len(gram) + 1e-12
    new = np.linalg.solve(gram, a.T @ b)
    after = float(np.linalg.norm(b - a @ new)) / norm
    if after >= before:  # never worse than plain pruning on the data it was fitted to
        return w2[keep, :], before, before
    if bias is not None:
        graph.set_array(bias, (graph.array(bias).astype(np.float64) + my - mh @ new).astype(np.float32))
    return new.astype(np.float32), before, after
