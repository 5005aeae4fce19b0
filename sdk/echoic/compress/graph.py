"""What the compression steps need to know about an ONNX graph: its weight MatMuls, who reads a
tensor, and how to swap an initializer. Needs the ``onnx`` package (``pip install "echoic[compress]"``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from ..errors import UnsupportedError


def onnx_module():
    try:
        import onnx
    except ImportError:
        raise UnsupportedError('echoic compress needs the onnx package: pip install "echoic[compress]"') from None
    return onnx


@dataclass
class WeightMatMul:
    """A MatMul whose right operand is a 2-D float initializer [K, N] (a linear layer's weight)."""

    node: object  # onnx.NodeProto
    weight: str  # initializer name

    @property
    def name(self) -> str:
        return self.node.name or self.node.output[0]


class Graph:
    """A loaded model plus indexes over it; edits go through its methods so the indexes stay right."""

    def __init__(self, model):
        self.model = model
        self.onnx = onnx_module()
        self.reindex()

    def reindex(self) -> None:
        g = self.model.graph
        self.inits = {i.name: i for i in g.initializer}
        self.producer: Dict[str, object] = {o: n for n in g.node for o in n.output}
        self.consumers: Dict[str, List[object]] = {}
        for n in g.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)
        for o in g.output:
            self.consumers.setdefault(o.name, []).append(None)  # a graph output: never rewired

    def array(self, name: str) -> np.ndarray:
        return self.onnx.numpy_helper.to_array(self.inits[name])

    def set_array(self, name: str, value: np.ndarray, new_name: str | None = None) -> str:
        """Replace (or, with new_name, add) an initializer."""
        t = self.onnx.numpy_helper.from_array(np.ascontiguousarray(value), new_name or name)
        if new_name is None:
            self.model.graph.initializer.remove(self.inits[name])
        self.model.graph.initializer.append(t)
        self.inits[t.name] = t
        return t.name

    def drop_unused_initializers(self) -> None:
        used = {i for n in self.model.graph.node for i in n.input} | {o.name for o in self.model.graph.output}
        for t in list(self.model.graph.initializer):
            if t.name not in used:
                self.model.graph.initializer.remove(t)
        self.reindex()

    def weight_matmuls(self) -> List[WeightMatMul]:
        out = []
        for n in self.model.graph.node:
            if n.op_type != "MatMul" or len(n.input) != 2 or n.input[1] not in self.inits:
                continue
            t = self.inits[n.input[1]]
            if len(t.dims) == 2 and t.data_type == self.onnx.TensorProto.FLOAT:
                out.append(WeightMatMul(n, n.input[1]))
        return out

    def metadata(self) -> Dict[str, str]:
        return {p.key: p.value for p in self.model.metadata_props}

    def set_metadata(self, key: str, value: str) -> None:
        """Sets (or adds) one metadata entry."""
        for p in self.model.metadata_props:
            if p.key == key:
                p.value = value
                return
        self.onnx.helper.set_model_props(self.model, dict(self.metadata(), **{key: value}))

    def const_ints(self, name: str) -> Optional[List[int]]:
        """The integers in an initializer or a Constant node's output; None for any other tensor."""
        if name in self.inits:
            return [int(v) for v in self.array(name).ravel()]
        p = self.producer.get(name)
        if p is not None and p.op_type == "Constant" and p.attribute and p.attribute[0].name == "value":
            return [int(v) for v in self.onnx.numpy_helper.to_array(p.attribute[0].t).ravel()]
        return None

    def attribute(self, node, name: str, default=None):
        """A node's attribute value (ints as a list), or ``default``."""
        for a in node.attribute:
            if a.name == name:
                return self.onnx.helper.get_attribute_value(a)
        return default

    def only_reader(self, tensor: str, node) -> bool:
        return [c for c in self.consumers.get(tensor, [])] == [node]

    def weight_bytes(self) -> int:
        return sum(int(np.prod(t.dims)) * _itemsize(self.onnx, t.data_type) for t in self.model.graph.initializer)


def _itemsize(onnx, data_type: int) -> int:
    try:
        return int(np.dtype(onnx.helper.tensor_dtype_to_np_dtype(data_type)).itemsize)
    except (KeyError, TypeError):
        return 1
