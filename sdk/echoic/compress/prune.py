"""Structured pruning of feed-forward channels: whole hidden units of ``W2 · act(W1 x + b1)`` go (a
column of W1, an entry of b1, a row of W2), so the layers get narrower and every runtime gets faster
(no sparse kernels needed).

Channels are found in the graph, not by layer names: a weight MatMul W2 [F, D] whose input is reached
from ``Add(MatMul(x, W1 [D, F]), b1 [F])`` through element-wise operators with scalar constants only
(GELU's Erf form, SiLU's Sigmoid and Mul, ReLU, ...), with no other reader of those tensors.

Importance (data-free): ||W1[:, j]|| * ||W2[j, :]||, the size of channel j's path through the block
when its activation is of unit size; the lowest-scoring ``fraction`` of each block's channels go
(kept counts rounded up to a multiple of 16 for the int8 kernels).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Set

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


def prune_feed_forward(graph: Graph, fraction: float, multiple: int = 16) -> List[Pruned]:
    """Remove the least important ``fraction`` of every feed-forward block's hidden channels."""
    if not 0.0 <= fraction < 1.0:
        raise InvalidArgumentError(f"pruning fraction must be in [0, 1), got {fraction}")
    done = []
    for ff in find_feed_forwards(graph):
        w1, b1, w2 = graph.array(ff.w1), graph.array(ff.b1), graph.array(ff.w2)
        keep_n = min(ff.width, int(np.ceil(ff.width * (1.0 - fraction) / multiple) * multiple))
        if keep_n >= ff.width:
            continue
        score = np.linalg.norm(w1, axis=0) * np.linalg.norm(w2, axis=1)
        keep = np.sort(np.argsort(-score)[:keep_n])
        graph.set_array(ff.w1, w1[:, keep])
        graph.set_array(ff.b1, b1[keep])
        graph.set_array(ff.w2, w2[keep, :])
        done.append(Pruned(ff.down.name or ff.down.output[0], ff.width, keep_n))
    graph.reindex()
    return done
