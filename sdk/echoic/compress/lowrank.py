"""Low-rank factorization: a linear layer's weight W [K, N] becomes A [K, r] @ B [r, N] (truncated SVD,
A = U_r diag(s_r), B = V_r^T), two MatMuls instead of one, where that stores fewer weights.

The rank r is the smallest that keeps ``energy`` of the weights' squared spectrum. Data-aware
(``inputs`` = the layer's input activations X on calibration audio): the rank-r factors come from
the SVD of C^(1/2) W with C = X^T X / n, so they minimise the error of the layer's *outputs* X W on
that audio rather than of the weights (directions the inputs never use cost nothing);
A = C^(-1/2) U_r diag(s_r). (An energy target on the outputs' spectrum picks ranks of 2-80 at 90 %
on echoic-small-en: activations have a few dominant directions, and the model stops working.)"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from ..errors import InvalidArgumentError
from .graph import Graph


@dataclass
class Factorized:
    layer: str
    shape: tuple
    rank: int
    energy: float  # kept share of sum(s^2)
    criterion: str = "weights"  # or "activations"


def choose_rank(s: np.ndarray, energy: float) -> int:
    """Smallest r whose singular values keep ``energy`` of the squared spectrum."""
    c = np.cumsum(s.astype(np.float64) ** 2)
    return int(np.searchsorted(c, energy * c[-1]) + 1)


def factorize(graph: Graph, energy: float = 0.9, min_saving: float = 0.1,
              inputs: Optional[Dict[str, np.ndarray]] = None) -> List[Factorized]:
    """Factorize every weight MatMul whose rank at ``energy`` saves at least ``min_saving`` of its weights.
    ``inputs``: {MatMul input tensor name: activations [rows, K]} (see input_tensors); layers without
    enough rows there are factorized from their weights alone."""
    if not 0.0 < energy <= 1.0:
        raise InvalidArgumentError(f"low-rank energy must be in (0, 1], got {energy}")
    h = graph.onnx.helper
    done = []
    for mm in graph.weight_matmuls():
        if not graph.only_reader(mm.weight, mm.node):
            continue  # a shared weight (tied embedding) is left alone
        w = graph.array(mm.weight).astype(np.float64)
        k, n = w.shape
        x = (inputs or {}).get(mm.node.input[0])
        data = x is not None and x.ndim == 2 and x.shape[1] == k and len(x) >= 2 * k
        u, s, vt = np.linalg.svd(w, full_matrices=False)
        r = choose_rank(s, energy)  # the rank (so the size) follows the weights' spectrum either way
        if r * (k + n) > (1.0 - min_saving) * k * n:
            continue
        kept = float(np.sum(s[:r] ** 2) / np.sum(s ** 2))
        left = u[:, :r] * s[:r]
        if data:  # the same rank, placed where the layer's outputs on the audio lose least
            root, inv_root = _whitening(x)
            u, s, vt = np.linalg.svd(root @ w, full_matrices=False)
            left = inv_root @ (u[:, :r] * s[:r])
        a = graph.set_array(mm.weight, left.astype(np.float32), new_name=mm.weight + "_lowrank_a")
        b = graph.set_array(mm.weight, vt[:r].astype(np.float32), new_name=mm.weight + "_lowrank_b")
        mid = mm.node.output[0] + "_lowrank"
        first = h.make_node("MatMul", [mm.node.input[0], a], [mid], name=mm.name + "_lowrank_a")
        second = h.make_node("MatMul", [mid, b], list(mm.node.output), name=mm.name + "_lowrank_b")
        nodes = graph.model.graph.node
        at = list(nodes).index(mm.node)
        nodes.remove(mm.node)
        nodes.insert(at, second)
        nodes.insert(at, first)
        done.append(Factorized(mm.name, (k, n), r, round(kept, 4), "activations" if data else "weights"))
    graph.drop_unused_initializers()
    return done


def input_tensors(graph: Graph) -> List[str]:
    """The tensors factorize reads with ``inputs``: each unshared weight MatMul's input."""
    return sorted({mm.node.input[0] for mm in graph.weight_matmuls() if graph.only_reader(mm.weight, mm.node)})


def _whitening(x: np.ndarray):
    """C^(1/2) and C^(-1/2) of C = X^T X / n, its small eigenvalues floored (directions with no data)."""
    x = x.astype(np.float64)
    c = x.T @ x / len(x)
    e, q = np.linalg.eigh(c)
    e = np.maximum(e, 1e-6 * max(float(e.max()), 1e-12))
    return (q * np.sqrt(e)) @ q.T, (q / np.sqrt(e)) @ q.T
