"""Structured pruning of whole attention heads in echoic's streaming models.

A head is a slice of the fused query/key/value projection (``dk`` columns in each of q, k and v),
its rows of any per-head table (a learned position bias), and ``dk`` rows of the output projection.
Removing the same number of heads from every block keeps the model contract: the attention cache
input ``att_cache`` [blocks, streams x head, frames, 2 dk] just holds fewer rows per stream, the
metadata ``head`` (which the engine sizes that cache by) says how many, and ``head_dim`` says dk
(no longer output_size / head; an echoic extension of WeNet's contract, so a pruned model runs in
echoic but not in sherpa-onnx).

Found from the contract and the graph, not from layer names: each block is an output projection
MatMul W_o [head x dk, D] whose input is Reshape(Transpose(context [B, head, T, dk], perm 0 2 1 3));
walking back from it (never through a Shape node's input) reaches exactly one fused projection
MatMul [D, 3 x head x dk] whose output (plus bias) is reshaped to [..., 3, head, dk]. The head count
in the shape arithmetic is the graph's int64 scalar constants equal to ``head`` that feed a Concat or
Mul; if the count found does not fit the blocks found, the model is refused (UnsupportedError).

Importance, data-free: ||W_v,h|| * ||W_o,h||, the size of head h's value path. Data-aware
(``context`` = W_o's inputs on calibration audio, rows x head dk): ||X_h W_o,h||, what the head
actually adds to the block's output there. ``refit``: the kept rows of W_o and its bias are solved
by ridge least squares to reproduce the whole block's output on that audio (prune._refit).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from ..errors import InvalidArgumentError, UnsupportedError
from .graph import Graph

CACHE = "att_cache"  # the contract's attention-cache input: [blocks, streams x head, frames, 2 dk]


@dataclass
class AttentionBlock:
    qkv: object  # MatMul node, weight [D, 3 head dk]
    qkv_w: str
    qkv_b: Optional[str]
    out: object  # MatMul node, weight [head dk, D]
    out_w: str
    out_b: Optional[str]
    per_head: List[str] = field(default_factory=list)  # initializers [head, ...]
    layer: Optional[int] = None  # the att_cache row this block reads


def _walk_back(graph: Graph, start: str, stop) -> List[object]:
    """Nodes reached from ``start`` going to producers, not through Shape nodes' inputs, not past ``stop(node)``."""
    seen, out, stack = set(), [], [start]
    while stack:
        p = graph.producer.get(stack.pop())
        if p is None or id(p) in seen:
            continue
        seen.add(id(p))
        out.append(p)
        if stop(p) or p.op_type == "Shape":
            continue
        stack += list(p.input)
    return out


def _bias_of(graph: Graph, mm, width: int) -> Optional[str]:
    users = graph.consumers.get(mm.output[0], [])
    if len(users) == 1 and users[0] is not None and users[0].op_type == "Add":
        for i in users[0].input:
            if i in graph.inits and list(graph.inits[i].dims) == [width] and graph.only_reader(i, users[0]):
                return i
    return None


def find_attention_blocks(graph: Graph, heads: int) -> List[AttentionBlock]:
    found = []
    matmuls = {id(m.node): m for m in graph.weight_matmuls()}
    for m in matmuls.values():
        k, d = (int(x) for x in graph.inits[m.weight].dims)
        if k % heads:
            continue
        dk = k // heads
        r = graph.producer.get(m.node.input[0])
        t = graph.producer.get(r.input[0]) if r is not None and r.op_type == "Reshape" else None
        if t is None or t.op_type != "Transpose" or list(graph.attribute(t, "perm", [])) != [0, 2, 1, 3]:
            continue
        reached = _walk_back(graph, m.node.input[0], lambda p: id(p) in matmuls)
        qkvs = [matmuls[id(p)] for p in reached if id(p) in matmuls and p is not m.node]
        if len(qkvs) != 1 or [int(x) for x in graph.inits[qkvs[0].weight].dims] != [d, 3 * k]:
            continue
        q = qkvs[0]
        qkv_b = _bias_of(graph, q.node, 3 * k)
        projected = graph.consumers[q.node.output[0]][0].output[0] if qkv_b else q.node.output[0]  # + bias
        split = graph.consumers.get(projected, [None])[0]
        shape = graph.producer.get(split.input[1]) if split is not None and split.op_type == "Reshape" else None
        concat = shape is not None and shape.op_type == "Concat"
        tail = [graph.const_ints(i) for i in shape.input[-3:]] if concat else []
        if tail != [[3], [heads], [dk]]:
            raise UnsupportedError(f"head pruning: {q.name}'s output is not reshaped to [..., 3, {heads}, {dk}] "
                                   "(query/key/value, head, channel), the only layout echoic can cut heads from")
        per_head = sorted({i for p in reached for i in p.input if i in graph.inits and i not in (q.weight, qkv_b)
                           and len(graph.inits[i].dims) >= 2 and int(graph.inits[i].dims[0]) == heads})
        layer = None
        for p in reached:
            if p.op_type == "Gather" and p.input[0] == CACHE:
                idx = graph.const_ints(p.input[1])
                layer = idx[0] if idx and len(idx) == 1 else None
        found.append(AttentionBlock(q.node, q.weight, qkv_b, m.node, m.weight, _bias_of(graph, m.node, d),
                                    per_head, layer))
    return found


def head_constants(graph: Graph, heads: int) -> List[object]:
    """Constant nodes holding the head count in the shape arithmetic (int64 scalars read by Concat or Mul)."""
    out = []
    for n in graph.model.graph.node:
        if n.op_type != "Constant" or graph.const_ints(n.output[0]) != [heads]:
            continue
        t = n.attribute[0].t
        if t.data_type == graph.onnx.TensorProto.INT64 and all(
                c is not None and c.op_type in ("Concat", "Mul") for c in graph.consumers.get(n.output[0], [])):
            out.append(n)
    return out


@dataclass
class PrunedHeads:
    layer: str
    width: int  # heads before
    kept: int
    heads: List[int] = field(default_factory=list)  # which were kept
    criterion: str = "magnitude"
    kind: str = "attention heads"
    cache_row: Optional[int] = None  # the att_cache row the block reads
    error: Optional[float] = None
    error_refit: Optional[float] = None


def prune_heads(graph: Graph, fraction: float, context: Optional[Dict[str, np.ndarray]] = None,
                refit: bool = False) -> List[PrunedHeads]:
    """Remove ``round(fraction x head)`` heads from every attention block (at least one stays).
    ``context``: {output projection's input tensor: rows [n, head dk]} from calibration audio."""
    from .prune import _refit

    if not 0.0 <= fraction < 1.0:
        raise InvalidArgumentError(f"head pruning fraction must be in [0, 1), got {fraction}")
    meta = graph.metadata()
    try:
        heads = int(meta["head"])
        if heads < 1:
            raise ValueError
    except (KeyError, ValueError):
        got = repr(meta["head"]) if "head" in meta else "none"
        raise UnsupportedError("head pruning needs a head count in the model's metadata 'head', as echoic's "
                               f"streaming models have; this one ({meta.get('model_type', 'no model_type')}) has "
                               f"{got}") from None
    blocks = find_attention_blocks(graph, heads)
    if not blocks:
        raise UnsupportedError("head pruning: no attention block (fused q/k/v projection, heads, output "
                               "projection) found")
    keep_n = max(1, heads - int(round(fraction * heads)))
    consts = head_constants(graph, heads)
    if keep_n < heads and len(consts) < len(blocks):
        raise UnsupportedError(f"head pruning: found {len(consts)} head-count constants for {len(blocks)} "
                               "attention blocks; the shapes could not all be rewritten")
    done = []
    for b in blocks:
        wo = graph.array(b.out_w)  # [head dk, D]
        dk = wo.shape[0] // heads
        name = b.out.name or b.out.output[0]
        x = (context or {}).get(b.out.input[0])
        data = x is not None and x.ndim == 2 and x.shape[1] == wo.shape[0] and len(x) >= 2 * keep_n * dk
        if data:
            xd = x.astype(np.float64)
            score = np.array([np.linalg.norm(xd[:, h * dk:(h + 1) * dk] @ wo[h * dk:(h + 1) * dk])
                              for h in range(heads)])
        else:
            wqkv = graph.array(b.qkv_w)
            score = np.array([np.linalg.norm(wqkv[:, 2 * heads * dk + h * dk:2 * heads * dk + (h + 1) * dk])
                              * np.linalg.norm(wo[h * dk:(h + 1) * dk]) for h in range(heads)])
        keep = np.sort(np.argsort(-score)[:keep_n])
        cols = (keep[:, None] * dk + np.arange(dk)[None, :]).ravel()
        p = PrunedHeads(name, heads, keep_n, [int(h) for h in keep], "activations" if data else "magnitude",
                        cache_row=b.layer)
        new_wo = wo[cols]
        if data:
            new_wo, p.error, p.error_refit = _refit(graph, x, wo, cols, refit, b.out_b if refit else None)
        qkv_cols = np.concatenate([s * heads * dk + cols for s in range(3)])
        graph.set_array(b.qkv_w, graph.array(b.qkv_w)[:, qkv_cols])
        if b.qkv_b is not None:
            graph.set_array(b.qkv_b, graph.array(b.qkv_b)[qkv_cols])
        graph.set_array(b.out_w, new_wo)
        for t in b.per_head:
            graph.set_array(t, graph.array(t)[keep])
        done.append(p)
    if keep_n < heads:
        for n in consts:
            t = graph.onnx.numpy_helper.from_array(np.array(keep_n, dtype=np.int64).reshape(
                graph.onnx.numpy_helper.to_array(n.attribute[0].t).shape))
            n.attribute[0].t.CopyFrom(t)
        dk = graph.inits[blocks[0].out_w].dims[0] // keep_n
        graph.set_metadata("head", str(keep_n))
        graph.set_metadata("head_dim", str(dk))  # no longer output_size / head (the engine reads it)
    graph.reindex()
    return done


def output_projection_inputs(graph: Graph) -> List[str]:
    """The tensors prune_heads reads with ``context``."""
    try:
        heads = int(graph.metadata()["head"])
    except (KeyError, ValueError):
        return []
    if heads < 1:
        return []
    return [b.out.input[0] for b in find_attention_blocks(graph, heads)]


def cached_heads(feeds: Dict[str, np.ndarray], kept: List[PrunedHeads]) -> Dict[str, np.ndarray]:
    """``feeds`` recorded for the unpruned model, with ``att_cache`` narrowed to each block's kept
    heads, so the pruned graph can replay them."""
    cache = feeds.get(CACHE)
    if cache is None or not kept:
        return feeds
    heads, keep_n = kept[0].width, kept[0].kept
    n_layers, rows = cache.shape[0], cache.shape[1]
    c = cache.reshape(n_layers, rows // heads, heads, *cache.shape[2:])
    out = np.zeros((n_layers, rows // heads, keep_n, *cache.shape[2:]), cache.dtype)
    for p in kept:
        if p.cache_row is not None:
            out[p.cache_row] = c[p.cache_row][:, p.heads]
    return dict(feeds, **{CACHE: out.reshape(n_layers, -1, *cache.shape[2:])})
