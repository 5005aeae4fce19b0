"""Low-rank factorization: a linear layer's weight W [K, N] becomes A [K, r] @ B [r, N] (truncated SVD,
A = U_r diag(s_r), B = V_r^T), two MatMuls instead of one, where that stores fewer weights."""
from __future__ import annotations

from dataclasses import dataclass
from typing import List

import numpy as np

from ..errors import InvalidArgumentError
from .graph import Graph


@dataclass
class Factorized:
    layer: str
    shape: tuple
    rank: int
    energy: float  # kept share of sum(s^2)


def choose_rank(s: np.ndarray, energy: float) -> int:
    """Smallest r whose singular values keep ``energy`` of the squared spectrum."""
    c = np.cumsum(s.astype(np.float64) ** 2)
    return int(np.searchsorted(c, energy * c[-1]) + 1)


def factorize(graph: Graph, energy: float = 0.9, min_saving: float = 0.1) -> List[Factorized]:
    """Factorize every weight MatMul whose rank at ``energy`` saves at least ``min_saving`` of its weights."""
    if not 0.0 < energy <= 1.0:
        raise InvalidArgumentError(f"low-rank energy must be in (0, 1], got {energy}")
    h = graph.onnx.helper
    done = []
    for mm in graph.weight_matmuls():
        if not graph.only_reader(mm.weight, mm.node):
            continue  # a shared weight (tied embedding) is left alone
        w = graph.array(mm.weight).astype(np.float64)
        k, n = w.shape
        u, s, vt = np.linalg.svd(w, full_matrices=False)
        r = choose_rank(s, energy)
        if r * (k + n) > (1.0 - min_saving) * k * n:
            continue
        a = graph.set_array(mm.weight, (u[:, :r] * s[:r]).astype(np.float32), new_name=mm.weight + "_lowrank_a")
        b = graph.set_array(mm.weight, vt[:r].astype(np.float32), new_name=mm.weight + "_lowrank_b")
        mid = mm.node.output[0] + "_lowrank"
        first = h.make_node("MatMul", [mm.node.input[0], a], [mid], name=mm.name + "_lowrank_a")
        second = h.make_node("MatMul", [mid, b], list(mm.node.output), name=mm.name + "_lowrank_b")
        nodes = graph.model.graph.node
        at = list(nodes).index(mm.node)
        nodes.remove(mm.node)
        nodes.insert(at, second)
        nodes.insert(at, first)
        kept = float(np.sum(s[:r] ** 2) / np.sum(s ** 2))
        done.append(Factorized(mm.name, (k, n), r, round(kept, 4)))
    graph.drop_unused_initializers()
    return done
