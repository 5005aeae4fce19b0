"""Weight-only quantization (int8 / int4 with one scale per block of input weights), its inverse, and
float16 storage.

Quantized layers become ONNX Runtime ``MatMulNBits`` (ORT's own quantizer writes them; it needs the
``onnx-ir`` package): weights are stored in ``bits`` bits with a float scale per ``block_size``
consecutive input weights of each output channel, and with ``accuracy_level`` 4 ORT multiplies in int8,
quantizing activations row by row, so a stream's result never depends on the other streams in a batch.
Convolution weights (quantize_convolutions) are stored the same way, unpacked by graph nodes on
constant inputs that ONNX Runtime folds when it loads the model: the file shrinks, compute stays float.
Attention scores, norms and biases stay float.
"""
from __future__ import annotations

import logging
from typing import Iterable

import numpy as np

from ..errors import CorruptDataError, UnsupportedError
from .graph import Graph


def quantize_weights(graph: Graph, bits: int = 8, block_size: int = 32, keep_float: Iterable[str] = (),
                     only: Iterable[str] | None = None, symmetric: bool = True) -> Graph:
    """A new graph whose weight MatMuls (except ``keep_float`` node names; only ``only`` when given)
    are MatMulNBits of ``bits`` bits. ``symmetric=False`` adds a zero point per block (about 25 % less
    weight error at 4 bits on Whisper, for 4 more bits per block)."""
    if bits not in (4, 8):
        raise UnsupportedError(f"weight quantization supports 4 or 8 bits, not {bits}")
    if block_size < 16 or block_size & (block_size - 1):
        raise UnsupportedError(f"block size must be a power of two >= 16, not {block_size}")
    try:
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    except ImportError as e:
        raise UnsupportedError(f'int{bits} weights need onnxruntime\'s quantizer and onnx-ir: '
                               f'pip install "echoic[compress]" ({e})') from None
    names = [m.name for m in graph.weight_matmuls()]
    tied = _tied_gathers(graph)
    exclude = set(keep_float)
    if only is not None:
        exclude |= set(names) - set(only)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)  # the quantizer logs every node at INFO
    try:
        model = type(graph.model)()
        model.CopyFrom(graph.model)  # the quantizer edits the proto it is given in place
        q = MatMulNBitsQuantizer(model, bits=bits, block_size=block_size, is_symmetric=symmetric,
                                 accuracy_level=4, nodes_to_exclude=sorted(exclude))
        q.process()
    finally:
        root.setLevel(level)
    out = Graph(q.model.model if hasattr(q.model, "model") else q.model)
    _gather_from_packed(out, tied, bits)
    return out


def block_quantize(rows: np.ndarray, bits: int, block_size: int, symmetric: bool):
    """(codes [o, nb, block_size], scales [o, nb], zero points [o, nb]) of ``rows`` [o, k], cut into blocks
    of ``block_size`` consecutive weights (zero-padded): a scale per block, and a zero point unless
    ``symmetric`` (then the middle code, and the scale is the block's largest-magnitude weight over
    -2^(bits-1), so that weight lands exactly on code 0 and all 2^bits codes are used). The grid of
    MatMulNBits (ONNX Runtime's quantizer), of quantize_convolutions, and of recovery's fake
    quantization; a test holds it to ONNX Runtime's."""
    o, k = rows.shape
    nb = -(-k // block_size)
    flat = np.zeros((o, nb * block_size), np.float32)
    flat[:, :k] = rows
    blocks = flat.reshape(o, nb, block_size)
    top = (1 << bits) - 1
    if symmetric:
        zp = np.full((o, nb), 1 << (bits - 1), np.int32)
        peak = np.take_along_axis(blocks, np.abs(blocks).argmax(-1)[..., None], -1)[..., 0]
        scale = peak / -(1 << (bits - 1))
    else:
        lo, hi = np.minimum(blocks.min(-1), 0), np.maximum(blocks.max(-1), 0)
        scale = (hi - lo) / top
        zp = np.clip(np.round(-lo / np.where(scale > 0, scale, 1)), 0, top).astype(np.int32)
    scale = np.where(scale != 0, scale, 1.0).astype(np.float32)
    q = np.clip(np.round(blocks / scale[:, :, None]) + zp[:, :, None], 0, top).astype(np.int32)
    return q, scale, zp


def block_dequantized(rows: np.ndarray, bits: int, block_size: int, symmetric: bool) -> np.ndarray:
    """``rows`` [o, k] as they read back after block_quantize."""
    q, scale, zp = block_quantize(rows, bits, block_size, symmetric)
    deq = ((q - zp[:, :, None]) * scale[:, :, None]).reshape(rows.shape[0], -1)
    return deq[:, :rows.shape[1]].astype(np.float32)


def quantize_convolutions(graph: Graph, bits: int = 8, block_size: int = 32, symmetric: bool = True) -> int:
    """Stores every float Conv weight in ``bits`` bits with a scale (and, not ``symmetric``, a zero point)
    per ``block_size`` consecutive weights of an output channel; a chain of Cast/Reshape/Sub/Mul nodes
    rebuilds the float tensor under its old name. Returns the number of weights converted."""
    onnx = graph.onnx
    h, TP = onnx.helper, onnx.TensorProto
    count = 0
    for node in list(graph.model.graph.node):
        if node.op_type != "Conv" or len(node.input) < 2 or node.input[1] not in graph.inits:
            continue
        name = node.input[1]
        t = graph.inits[name]
        readers = graph.consumers.get(name, [])
        if t.data_type != TP.FLOAT or any(r is None or r.op_type != "Conv" for r in readers):
            continue
        w = graph.array(name)
        o, k = w.shape[0], int(np.prod(w.shape[1:]))
        nb = -(-k // block_size)
        q, scale, zp = block_quantize(w.reshape(o, k), bits, block_size, symmetric)
        q = q.astype(np.uint8)
        p = name + f"_conv_q{bits}"
        if bits == 4:
            pairs = q.reshape(o, -1, 2)
            q = (pairs[..., 0] | (pairs[..., 1] << 4)).astype(np.uint8)
        packed = graph.set_array(name, q, new_name=p)
        sixteen = graph.set_array(name, np.array(16, np.int32), new_name=p + "_16")
        new = _unpack(h, TP, graph, packed, p + "_int", bits, sixteen, p)
        if symmetric:
            zname = graph.set_array(name, np.array(1 << (bits - 1), np.int32), new_name=p + "_zero")
        else:  # a byte per block, widened in the graph
            stored = graph.set_array(name, zp.reshape(o, nb, 1).astype(np.uint8), new_name=p + "_zero")
            zname = p + "_zero_i32"
            new.append(h.make_node("Cast", [stored], [zname], to=TP.INT32, name=zname))
        new += [
            h.make_node("Reshape", [p + "_int", graph.set_array(name, np.array([o, nb, block_size], np.int64),
                                                                 new_name=p + "_bshape")], [p + "_b"], name=p + "_b"),
            h.make_node("Sub", [p + "_b", zname], [p + "_c"], name=p + "_c"),
            h.make_node("Cast", [p + "_c"], [p + "_f"], to=TP.FLOAT, name=p + "_f"),
            h.make_node("Mul", [p + "_f", graph.set_array(name, scale.reshape(o, nb, 1), new_name=p + "_scales")],
                        [p + "_deq"], name=p + "_deq"),
            h.make_node("Reshape", [p + "_deq", graph.set_array(name, np.array([o, nb * block_size], np.int64),
                                                                new_name=p + "_fshape")], [p + "_flat"],
                        name=p + "_flat"),
            h.make_node("Slice", [p + "_flat", graph.set_array(name, np.array([0], np.int64), new_name=p + "_s0"),
                                  graph.set_array(name, np.array([k], np.int64), new_name=p + "_sk"),
                                  graph.set_array(name, np.array([1], np.int64), new_name=p + "_s1")],
                        [p + "_cut"], name=p + "_cut"),
            h.make_node("Reshape", [p + "_cut", graph.set_array(name, np.array(w.shape, np.int64),
                                                                new_name=p + "_wshape")], [name], name=p + "_w")]
        graph.model.graph.initializer.remove(graph.inits.pop(name))
        for i, n in enumerate(new):
            graph.model.graph.node.insert(i, n)
        graph.reindex()
        count += 1
    graph.drop_unused_initializers()
    return count


def _tied_gathers(graph: Graph) -> dict:
    """Initializer -> (Gather node name, MatMul node name) for weights shared by an embedding lookup and a
    MatMul (Whisper's decoder: token embedding and output projection)."""
    tied = {}
    for mm in graph.weight_matmuls():
        readers = graph.consumers.get(mm.weight, [])
        gathers = [n for n in readers if n is not None and n.op_type == "Gather"]
        if len(readers) == 2 and len(gathers) == 1:
            axis = next((a.i for a in gathers[0].attribute if a.name == "axis"), 0)
            if axis == 1:
                tied[mm.weight] = (gathers[0].name, mm.name)
    return tied


def _gather_from_packed(graph: Graph, tied: dict, bits: int) -> None:
    """Point each tied Gather at the MatMul's packed quantized copy (rows of B are the embedding's
    columns), unpacking the gathered rows in the graph, and drop the float copy: a tied embedding is
    then stored once, in ``bits`` bits."""
    onnx = graph.onnx
    h, TP = onnx.helper, onnx.TensorProto
    nodes = {n.name: n for n in graph.model.graph.node}
    for weight, (gname, mname) in tied.items():
        nb, g = nodes.get(mname + f"_Q{bits}"), nodes.get(gname)
        if nb is None or g is None or nb.op_type != "MatMulNBits" or len(nb.input) > 4 and any(nb.input[4:]):
            continue
        zpt = nb.input[3] if len(nb.input) > 3 and nb.input[3] else None
        attrs = {a.name: h.get_attribute_value(a) for a in nb.attribute}
        k, block = attrs["K"], attrs["block_size"]
        nblocks = (k + block - 1) // block
        idx, out, p = g.input[1], g.output[0], gname + "_packed"
        rank = _rank(graph, idx)
        if rank is None:
            continue
        shape = graph.set_array(weight, np.array([-1, nblocks * block], np.int64), new_name=p + "_shape")
        bshape = graph.set_array(weight, np.array([-1, nblocks, block], np.int64), new_name=p + "_bshape")
        cshape = graph.set_array(weight, np.array([-1, nblocks, 1], np.int64), new_name=p + "_cshape")
        sixteen = graph.set_array(weight, np.array(16, np.int32), new_name=p + "_16")
        new = [h.make_node("Gather", [nb.input[1], idx], [p + "_rows"], axis=0, name=p + "_rows")]
        new += _unpack(h, TP, graph, p + "_rows", p + "_q", bits, sixteen, p)
        if zpt is None:
            zp = graph.set_array(weight, np.array(1 << (bits - 1), np.int32), new_name=p + "_zero")
        else:  # one zero point per block, packed like the weights
            new.append(h.make_node("Gather", [zpt, idx], [p + "_zrows"], axis=0, name=p + "_zrows"))
            new += _unpack(h, TP, graph, p + "_zrows", p + "_zq", bits, sixteen, p + "_z")
            new += [h.make_node("Reshape", [p + "_zq", graph.set_array(
                        weight, np.array([-1, (nblocks + 1) // 2 * 2 if bits == 4 else nblocks], np.int64),
                        new_name=p + "_zflat_shape")], [p + "_zflat"], name=p + "_zflat"),
                    h.make_node("Slice", [p + "_zflat", graph.set_array(weight, np.array([0], np.int64),
                                                                         new_name=p + "_z0"),
                                          graph.set_array(weight, np.array([nblocks], np.int64), new_name=p + "_znb"),
                                          graph.set_array(weight, np.array([1], np.int64), new_name=p + "_z1")],
                                [p + "_zcut"], name=p + "_zcut"),
                    h.make_node("Reshape", [p + "_zcut", cshape], [p + "_z3"], name=p + "_z3")]
            zp = p + "_z3"
        new += [h.make_node("Reshape", [p + "_q", bshape], [p + "_b"], name=p + "_b"),
                h.make_node("Sub", [p + "_b", zp], [p + "_c"], name=p + "_c"),
                h.make_node("Cast", [p + "_c"], [p + "_f"], to=TP.FLOAT, name=p + "_f"),
                h.make_node("Gather", [nb.input[2], idx], [p + "_s"], axis=0, name=p + "_s"),
                h.make_node("Reshape", [p + "_s", cshape], [p + "_s2"], name=p + "_s2"),
                h.make_node("Mul", [p + "_f", p + "_s2"], [p + "_deq"], name=p + "_deq"),
                h.make_node("Reshape", [p + "_deq", shape], [p + "_deq2"], name=p + "_deq2"),
                h.make_node("Slice", [p + "_deq2", graph.set_array(weight, np.array([0], np.int64), new_name=p + "_s0"),
                                      graph.set_array(weight, np.array([k], np.int64), new_name=p + "_sk"),
                                      graph.set_array(weight, np.array([1], np.int64), new_name=p + "_s1ax")],
                            [p + "_rowsf"], name=p + "_slice"),
                # rows [prod(idx), K] -> idx shape + [K] -> Gather(axis=1)'s [K] + idx shape
                h.make_node("Shape", [idx], [p + "_ishape"], name=p + "_ishape"),
                h.make_node("Concat", [p + "_ishape", graph.set_array(weight, np.array([k], np.int64),
                                                                      new_name=p + "_k")], [p + "_oshape"], axis=0,
                            name=p + "_oshape"),
                h.make_node("Reshape", [p + "_rowsf", p + "_oshape"], [p + "_emb"], name=p + "_emb"),
                h.make_node("Transpose", [p + "_emb"], [out], perm=[rank] + list(range(rank)), name=p + "_t")]
        at = list(graph.model.graph.node).index(g)
        graph.model.graph.node.remove(g)
        for i, n in enumerate(new):
            graph.model.graph.node.insert(at + i, n)
    graph.drop_unused_initializers()


def _unpack(h, TP, graph: Graph, src: str, dst: str, bits: int, sixteen: str, p: str) -> list:
    """uint8 bytes -> int32 values (4 bits: low nibble first, so [..., n] bytes -> [..., n, 2])."""
    nodes = [h.make_node("Cast", [src], [p + "_i32"], to=TP.INT32, name=p + "_i32")]
    if bits == 8:
        return nodes + [h.make_node("Identity", [p + "_i32"], [dst], name=p + "_id")]
    return nodes + [
        h.make_node("Div", [p + "_i32", sixteen], [p + "_hi"], name=p + "_hi"),
        h.make_node("Mul", [p + "_hi", sixteen], [p + "_hi16"], name=p + "_hi16"),
        h.make_node("Sub", [p + "_i32", p + "_hi16"], [p + "_lo"], name=p + "_lo"),
        h.make_node("Unsqueeze", [p + "_lo", _axes(graph, p, -1)], [p + "_lo1"], name=p + "_lo1"),
        h.make_node("Unsqueeze", [p + "_hi", _axes(graph, p, -1)], [p + "_hi1"], name=p + "_hi1"),
        h.make_node("Concat", [p + "_lo1", p + "_hi1"], [dst], axis=-1, name=p + "_cat")]


def _axes(graph: Graph, prefix: str, axis: int) -> str:
    name = f"{prefix}_axis{axis}"
    if name not in graph.inits:
        graph.set_array(name, np.array([axis], np.int64), new_name=name)
    return name


def _rank(graph: Graph, name: str):
    for v in list(graph.model.graph.input) + list(graph.model.graph.value_info):
        if v.name == name and v.type.tensor_type.HasField("shape"):
            return len(v.type.tensor_type.shape.dim)
    return None


def dequantize_nbits(graph: Graph) -> int:
    """Turn every MatMulNBits back into a float MatMul (so a shipped int8 model can be pruned,
    factorized or re-quantized). Returns how many were turned."""
    onnx = graph.onnx
    h = onnx.helper
    count = 0
    for node in list(graph.model.graph.node):
        if node.op_type != "MatMulNBits" or node.domain not in ("com.microsoft",):
            continue
        attrs = {a.name: h.get_attribute_value(a) for a in node.attribute}
        if not all(isinstance(attrs.get(key), int) and 0 < attrs[key] <= 1 << 20 for key in ("K", "N", "block_size")):
            raise CorruptDataError(f"MatMulNBits '{node.name}': K, N and block_size must be in 1..2^20, "
                                   f"got {[attrs.get(key) for key in ('K', 'N', 'block_size')]}")
        k, n, bits, block = attrs["K"], attrs["N"], attrs.get("bits", 4), attrs["block_size"]
        if len(node.input) > 4 and any(node.input[4:]):
            raise UnsupportedError(f"MatMulNBits '{node.name}': g_idx / bias inputs are not supported")
        if any(i not in graph.inits for i in node.input[1:] if i):
            raise UnsupportedError(f"MatMulNBits '{node.name}': weights are not constant")
        packed = graph.array(node.input[1]).astype(np.int32)
        nblocks = (k + block - 1) // block
        if bits in (4, 8) and (packed.size != n * nblocks * block * bits // 8
                               or graph.array(node.input[2]).size != n * nblocks):
            raise CorruptDataError(f"MatMulNBits '{node.name}': weights {packed.size} bytes / scales "
                                   f"{graph.array(node.input[2]).size} do not fit K={k}, N={n}, block {block}")
        if bits == 8:
            q = packed.reshape(n, nblocks * block)
        elif bits == 4:
            flat = packed.reshape(n, -1)
            q = np.stack([flat & 0xF, flat >> 4], axis=-1).reshape(n, -1)[:, : nblocks * block]
        else:
            raise UnsupportedError(f"MatMulNBits '{node.name}': {bits}-bit weights are not supported")
        scales = graph.array(node.input[2]).astype(np.float32).reshape(n, nblocks)
        if len(node.input) > 3 and node.input[3]:
            zp = graph.array(node.input[3])
            if zp.dtype != np.uint8:
                raise UnsupportedError(f"MatMulNBits '{node.name}': float zero points are not supported")
            zp = zp.astype(np.int32).reshape(n, -1)
            if bits == 4:
                zp = np.stack([zp & 0xF, zp >> 4], axis=-1).reshape(n, -1)
            zp = zp[:, :nblocks]
        else:
            zp = np.full((n, nblocks), 1 << (bits - 1), np.int32)
        w = (q.reshape(n, nblocks, block) - zp[:, :, None]) * scales[:, :, None]
        weight = np.ascontiguousarray(w.reshape(n, -1)[:, :k].T.astype(np.float32))  # [K, N]
        wname = graph.set_array(node.input[1], weight, new_name=node.input[1] + "_dequantized")
        new = h.make_node("MatMul", [node.input[0], wname], list(node.output), name=node.name + "_float")
        at = list(graph.model.graph.node).index(node)
        graph.model.graph.node.remove(node)
        graph.model.graph.node.insert(at, new)
        count += 1
    if count:
        graph.drop_unused_initializers()
    return count


def float16_storage(graph: Graph, min_elements: int = 1024) -> int:
    """Store large float32 initializers as float16 with a Cast back to float32 in the graph: the file
    shrinks by half for those tensors; ONNX Runtime folds the Cast when it loads the model, so compute
    (and resident memory) stay float32. Returns the number of tensors converted."""
    onnx = graph.onnx
    count = 0
    for t in list(graph.model.graph.initializer):
        if t.data_type != onnx.TensorProto.FLOAT or int(np.prod(t.dims)) < min_elements:
            continue
        readers = [c for c in graph.consumers.get(t.name, []) if c is not None]
        if not readers or len(readers) != len(graph.consumers.get(t.name, [])):
            continue
        half = graph.array(t.name).astype(np.float16)
        hname = graph.set_array(t.name, half, new_name=t.name + "_fp16")
        cast = onnx.helper.make_node("Cast", [hname], [t.name], to=onnx.TensorProto.FLOAT, name=t.name + "_cast")
        graph.model.graph.initializer.remove(graph.inits.pop(t.name))
        graph.model.graph.node.insert(0, cast)
        count += 1
    graph.reindex()
    return count
