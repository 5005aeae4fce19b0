"""Structured pruning of channels between two linear layers: whole hidden units of
``W2 · act(W1 x + b1)`` go (a column of W1, an entry of b1, a row of W2), so the layers get narrower
and every runtime gets faster (no sparse kernels needed). Two kinds of pair: feed-forward blocks
(MatMul, bias, activation, MatMul) and convolution pairs (Conv, activation, Conv: an output channel
of the first and the matching input channel of the second go, e.g. Whisper's conv1 -> conv2).

Channels are found in the graph, not by layer names: a weight MatMul W2 [F, D] whose input is reached
from ``Add(MatMul(x, W1 [D, F]), b1 [F])`` through element-wise operators with scalar constants only
(GELU's Erf form, SiLU's Sigmoid and Mul, ReLU, ...), with no other reader of those tensors.

Importance, data-free: ||W1[:, j]|| * ||W2[j, :]||, the size of channel j's path through the block
when its activation is of unit size. Data-aware (``hidden`` = the block's hidden activations H on
calibration audio, rows x F): ||H[:, j]|| * ||W2[j, :]||, what channel j actually adds to the
block's output there. The lowest-scoring ``fraction`` of each block's channels go (kept counts
rounded up to a multiple of 16 for the int8 kernels).

Convolution pairs (1-D, group 1) use the same rules on the second convolution's input patches: H
is then [rows, C x kernel] (each output position's receptive field) and W2 the kernel laid out
[C x kernel, D], so a channel is scored and refitted through all its taps at once.

Refit (``refit=True``, data-aware only): the kept rows of W2 (and the output bias, where the block
has one) are solved by ridge least squares so the narrower block reproduces the original block's
output H W2 on the calibration activations: the removed channels' mean contribution moves into the
bias and their correlated part into the kept channels (layer-wise distillation, no gradient steps).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

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
    kind: str = "feed-forward"  # or "convolution"
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


def _channel_path(graph: Graph, start: str, reader, match) -> Optional[tuple]:
    """Walks back from ``start`` (read by ``reader``) through element-wise operators with scalar
    constants to one node for which ``match(node)`` returns a tuple; that tuple when nothing else
    reads the walked tensors, else None."""
    region: Dict[int, object] = {}
    stack, root = [start], None
    while stack:
        p = graph.producer.get(stack.pop())
        if p is None:
            return None
        if (hit := match(p)) is not None:
            if root is not None and root[0] is not p:
                return None
            root = (p, *hit)
        elif p.op_type in _ELEMENTWISE and id(p) not in region:
            region[id(p)] = p
            stack += [i for i in p.input if not _scalar_constant(graph, i)]
        elif id(p) not in region:
            return None
    if root is None:
        return None
    inside = set(region) | {id(root[0]), id(reader)}
    for n in list(region.values()) + [root[0]]:
        for o in n.output:
            if any(c is None or id(c) not in inside for c in graph.consumers.get(o, [])):
                return None
    return root


def find_feed_forwards(graph: Graph) -> List[FeedForward]:
    found = []
    for mm in graph.weight_matmuls():
        width = int(graph.inits[mm.weight].dims[0])
        root = _channel_path(graph, mm.node.input[0], mm.node, lambda p, w=width: _bias_add(graph, p, w))
        if root is None:
            continue
        add, up, w1, b1 = root
        ok = graph.only_reader(up.output[0], add) and graph.only_reader(w1, up)
        ok = ok and graph.only_reader(b1, add) and graph.only_reader(mm.weight, mm.node)
        if ok:
            found.append(FeedForward(up, add, mm.node, w1, b1, mm.weight, width))
    return found


@dataclass
class ConvPair:
    first: object  # Conv node whose output channels are pruned, weight [C, C_in, k]
    second: object  # Conv node reading them, weight [D, C, k]
    w1: str
    b1: Optional[str]
    w2: str
    width: int
    kernel: int
    stride: int
    dilation: int


def _plain_conv(graph: Graph, node) -> bool:
    """A 1-D, group-1 Conv with its weight (and bias) as initializers read by it alone."""
    return (node.op_type == "Conv" and graph.attribute(node, "group", 1) == 1 and len(node.input) >= 2
            and node.input[1] in graph.inits and len(graph.inits[node.input[1]].dims) == 3
            and graph.only_reader(node.input[1], node)
            and (len(node.input) < 3 or not node.input[2] or
                 (node.input[2] in graph.inits and graph.only_reader(node.input[2], node))))


def find_conv_pairs(graph: Graph) -> List[ConvPair]:
    found = []
    for conv in graph.model.graph.node:
        if not _plain_conv(graph, conv):
            continue
        width = int(graph.inits[conv.input[1]].dims[1])
        root = _channel_path(graph, conv.input[0], conv, lambda p, w=width: (
            () if _plain_conv(graph, p) and int(graph.inits[p.input[1]].dims[0]) == w else None))
        if root is None:
            continue
        first = root[0]
        k = int(graph.inits[conv.input[1]].dims[2])
        found.append(ConvPair(first, conv, first.input[1], first.input[2] if len(first.input) > 2 and first.input[2]
                              else None, conv.input[1], width, k, int(graph.attribute(conv, "strides", [1])[0]),
                              int(graph.attribute(conv, "dilations", [1])[0])))
    return found


def conv_patches(x: np.ndarray, kernel: int, stride: int, dilation: int) -> np.ndarray:
    """[rows, C x kernel] receptive fields of a 1-D convolution's input [B, C, T] (no padding: the
    pairs found here are unpadded or their padding is zeros that add nothing to a channel's score)."""
    b, c, t = x.shape
    span = dilation * (kernel - 1) + 1
    starts = np.arange(0, max(0, t - span + 1), stride)
    if not len(starts):
        return np.zeros((0, c * kernel), np.float32)
    idx = starts[:, None] + dilation * np.arange(kernel)[None, :]  # [P, k]
    p = x[:, :, idx]  # [B, C, P, k]
    return p.transpose(0, 2, 1, 3).reshape(-1, c * kernel)


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
            bias = _output_bias(graph, ff, w2.shape[1]) if refit else None
            new_w2, p.error, p.error_refit = _refit(graph, h, w2, keep, refit, bias)
        graph.set_array(ff.w1, w1[:, keep])
        graph.set_array(ff.b1, b1[keep])
        graph.set_array(ff.w2, new_w2)
        done.append(p)
    graph.reindex()
    return done


def prune_convolutions(graph: Graph, fraction: float, multiple: int = 16,
                       patches: Optional[Dict[str, np.ndarray]] = None, refit: bool = False) -> List[Pruned]:
    """Remove the least important ``fraction`` of the channels between every convolution pair.
    ``patches``: {the second convolution's input tensor: its input patches [rows, C x kernel]} from
    calibration audio (see conv_input_tensors and conv_patches); pairs with fewer than 2 x kept x
    kernel rows there are left whole."""
    if not 0.0 <= fraction < 1.0:
        raise InvalidArgumentError(f"pruning fraction must be in [0, 1), got {fraction}")
    done = []
    for cp in find_conv_pairs(graph):
        w1, w2 = graph.array(cp.w1), graph.array(cp.w2)  # [C, C_in, k1], [D, C, k]
        keep_n = min(cp.width, int(np.ceil(cp.width * (1.0 - fraction) / multiple) * multiple))
        if keep_n >= cp.width:
            continue
        name = cp.second.name or cp.second.output[0]
        h = (patches or {}).get(cp.second.input[0])
        data = (h is not None and h.ndim == 2 and h.shape[1] == cp.width * cp.kernel
                and len(h) >= 2 * keep_n * cp.kernel)
        if patches is not None and not data:
            done.append(Pruned(name, cp.width, cp.width, f"kept whole: {0 if h is None else len(h)} calibration rows",
                               kind="convolution"))
            continue
        w2_rows = w2.reshape(w2.shape[0], -1).T  # [C x k, D], row c*k + t
        if data:
            per = np.linalg.norm(h.astype(np.float64), axis=0).reshape(cp.width, cp.kernel)
            score = np.linalg.norm(per, axis=1) * np.linalg.norm(w2_rows.reshape(cp.width, -1), axis=1)
        else:
            score = (np.linalg.norm(w1.reshape(cp.width, -1), axis=1)
                     * np.linalg.norm(w2.transpose(1, 0, 2).reshape(cp.width, -1), axis=1))
        keep = np.sort(np.argsort(-score)[:keep_n])
        rows = (keep[:, None] * cp.kernel + np.arange(cp.kernel)[None, :]).ravel()
        p = Pruned(name, cp.width, keep_n, "activations" if data else "magnitude", kind="convolution")
        new_rows = w2_rows[rows]
        if data:
            bias = cp.second.input[2] if refit and len(cp.second.input) > 2 and cp.second.input[2] else None
            new_rows, p.error, p.error_refit = _refit(graph, h, w2_rows, rows, refit, bias)
        graph.set_array(cp.w1, w1[keep])
        if cp.b1 is not None:
            graph.set_array(cp.b1, graph.array(cp.b1)[keep])
        graph.set_array(cp.w2, np.ascontiguousarray(new_rows.T.reshape(w2.shape[0], keep_n, cp.kernel)))
        done.append(p)
    graph.reindex()
    return done


def conv_input_tensors(graph: Graph) -> Dict[str, tuple]:
    """{tensor prune_convolutions reads with ``patches``: (kernel, stride, dilation)}."""
    return {cp.second.input[0]: (cp.kernel, cp.stride, cp.dilation) for cp in find_conv_pairs(graph)}


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


def _refit(graph: Graph, h: np.ndarray, w2: np.ndarray, keep: np.ndarray, refit: bool, bias: Optional[str]):
    """(W2's kept rows, refitted when that helps, error before, error after); ``bias``: the [D]
    initializer added to the layer's output, which takes the removed rows' mean contribution."""
    h = h.astype(np.float64)
    w = w2.astype(np.float64)
    y = h @ w
    hk = h[:, keep]
    norm = float(np.linalg.norm(y)) or 1.0
    before = float(np.linalg.norm(y - hk @ w[keep])) / norm
    if not refit:
        return w2[keep, :], before, None
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
