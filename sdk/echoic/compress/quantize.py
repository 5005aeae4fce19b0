"""Weight-only quantization (int8 / int4 with one scale per block of input weights), its inverse, and
float16 storage.

Quantized layers become ONNX Runtime ``MatMulNBits`` (ORT's own quantizer writes them; it needs the
``onnx-ir`` package): weights are stored in ``bits`` bits with a float scale per ``block_size``
consecutive input weights of each output channel, and with ``accuracy_level`` 4 ORT multiplies in int8,
quantizing activations row by row, so a stream's result never depends on the other streams in a batch.
Convolutions, attention scores, norms and biases stay float.
"""
from __future__ import annotations

import logging
from typing import Iterable

import numpy as np

from ..errors import UnsupportedError
from .graph import Graph


def quantize_weights(graph: Graph, bits: int = 8, block_size: int = 32, keep_float: Iterable[str] = (),
                     only: Iterable[str] | None = None) -> Graph:
    """A new graph whose weight MatMuls (except ``keep_float`` node names; only ``only`` when given)
    are MatMulNBits of ``bits`` bits."""
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
    exclude = set(keep_float)
    if only is not None:
        exclude |= set(names) - set(only)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)  # the quantizer logs every node at INFO
    try:
        model = type(graph.model)()
        model.CopyFrom(graph.model)  # the quantizer edits the proto it is given in place
        q = MatMulNBitsQuantizer(model, bits=bits, block_size=block_size, is_symmetric=True,
                                 accuracy_level=4, nodes_to_exclude=sorted(exclude))
        q.process()
    finally:
        root.setLevel(level)
    return Graph(q.model.model if hasattr(q.model, "model") else q.model)


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
        k, n, bits, block = attrs["K"], attrs["N"], attrs.get("bits", 4), attrs["block_size"]
        if len(node.input) > 4 and any(node.input[4:]):
            raise UnsupportedError(f"MatMulNBits '{node.name}': g_idx / bias inputs are not supported")
        if any(i not in graph.inits for i in node.input[1:] if i):
            raise UnsupportedError(f"MatMulNBits '{node.name}': weights are not constant")
        packed = graph.array(node.input[1]).astype(np.int32)
        nblocks = (k + block - 1) // block
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
