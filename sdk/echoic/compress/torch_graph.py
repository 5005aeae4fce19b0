"""An ONNX graph run by PyTorch, node by node, with chosen initializers as trainable parameters:
what lets the recovery step (recover.py) take gradients through the compressed graph itself, so
the weights it trains are exactly the ones the engine will run (no second model definition).

Covers the operators echoic's exported acoustic models use (streaming CTC encoders, Whisper's
encoder); any other raises UnsupportedError naming the operator and node."""
from __future__ import annotations

from typing import Callable, Dict, Iterable, List

import numpy as np

from ..errors import UnsupportedError

_INT64_MAX = (1 << 63) - 1


def require_torch():
    try:
        import torch
    except ImportError:
        raise UnsupportedError("the recovery step trains with PyTorch: pip install torch "
                               "(a CPU wheel is enough)") from None
    return torch


class TorchGraph:
    """Runs ``model`` (an onnx.ModelProto) with torch. ``trainable``: float initializer names that become
    ``torch.nn.Parameter`` (``parameters``); every other initializer is a constant tensor."""

    def __init__(self, model, trainable: Iterable[str] = ()):
        import onnx

        torch = require_torch()
        self.torch = torch
        self.model = model
        self.helper = onnx.helper
        self.numpy_helper = onnx.numpy_helper
        want = set(trainable)
        self.constants: Dict[str, object] = {}
        self.parameters: Dict[str, object] = {}
        for t in model.graph.initializer:
            a = np.array(onnx.numpy_helper.to_array(t))
            if t.name in want:
                self.parameters[t.name] = torch.nn.Parameter(torch.from_numpy(a.astype(np.float32)))
            else:
                self.constants[t.name] = torch.from_numpy(a)
        self.outputs = [o.name for o in model.graph.output]
        # {parameter: fn(tensor) -> tensor} applied to a parameter's value before each run (fake quantization)
        self.transforms: Dict[str, Callable] = {}
        for n in model.graph.node:
            if n.domain not in ("", "ai.onnx") or n.op_type not in _OPS:
                raise UnsupportedError(f"recovery cannot run operator {n.domain + '.' if n.domain else ''}"
                                       f"{n.op_type} (node '{n.name}') in PyTorch")

    def run(self, feeds: Dict[str, np.ndarray], outputs: List[str] | None = None) -> Dict[str, object]:
        torch = self.torch
        env: Dict[str, object] = dict(self.constants)
        env.update(self.parameters)
        for k, fn in self.transforms.items():
            env[k] = fn(env[k])
        for k, v in feeds.items():
            env[k] = v if torch.is_tensor(v) else torch.from_numpy(np.ascontiguousarray(v))
        env[""] = None
        for n in self.model.graph.node:
            attrs = {a.name: self.helper.get_attribute_value(a) for a in n.attribute}
            if "value" in attrs and n.op_type == "Constant":
                attrs["value"] = self.numpy_helper.to_array(attrs["value"])
            args = [env[i] for i in n.input]
            try:
                res = _OPS[n.op_type](torch, args, attrs, len(n.output))
            except UnsupportedError:
                raise
            except Exception as e:  # a shape or dtype the translation does not cover
                raise UnsupportedError(f"recovery: {n.op_type} node '{n.name}' failed in PyTorch: {e}") from None
            if not isinstance(res, (list, tuple)):
                res = [res]
            for name, value in zip(n.output, res):
                env[name] = value
        return {o: env[o] for o in (outputs or self.outputs)}

    def trained_arrays(self) -> Dict[str, np.ndarray]:
        return {k: p.detach().numpy().copy() for k, p in self.parameters.items()}


# --- operators: fn(torch, inputs, attributes, number of outputs) -> tensor or list of tensors -------

_DTYPES = {1: "float32", 2: "uint8", 3: "int8", 6: "int32", 7: "int64", 9: "bool", 10: "float16", 11: "float64"}


def _ints(t) -> List[int]:
    return [int(v) for v in t.reshape(-1).tolist()]


def _binary(fn: Callable) -> Callable:
    return lambda torch, a, at, n: fn(torch, a[0], a[1])


def _div(torch, a, b):
    if a.is_floating_point() or b.is_floating_point():
        return a / b
    return torch.div(a, b, rounding_mode="trunc")


def _gather(torch, a, at, n):
    x, idx = a[0], a[1].long()
    axis = at.get("axis", 0) % x.dim()
    idx = torch.where(idx < 0, idx + x.shape[axis], idx)
    out = x.index_select(axis, idx.reshape(-1))
    return out.reshape(tuple(x.shape[:axis]) + tuple(idx.shape) + tuple(x.shape[axis + 1:]))


def _reshape(torch, a, at, n):
    x, shape = a[0], _ints(a[1])
    if not at.get("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def _slice(torch, a, at, n):
    x = a[0]
    starts, ends = _ints(a[1]), _ints(a[2])
    axes = _ints(a[3]) if len(a) > 3 and a[3] is not None else list(range(len(starts)))
    steps = _ints(a[4]) if len(a) > 4 and a[4] is not None else [1] * len(starts)
    index = [slice(None)] * x.dim()
    for s, e, ax, st in zip(starts, ends, axes, steps):
        if st <= 0:
            raise UnsupportedError("recovery: Slice with a negative step")
        dim = x.shape[ax]
        s = max(0, min(dim, s + dim if s < 0 else s))
        e = max(0, min(dim, e + dim if e < 0 else e)) if e < _INT64_MAX // 2 else dim
        index[ax % x.dim()] = slice(s, e, st)
    return x[tuple(index)]


def _split(torch, a, at, n):
    x, axis = a[0], at.get("axis", 0)
    if len(a) > 1 and a[1] is not None:
        sizes = _ints(a[1])
    elif "split" in at:
        sizes = list(at["split"])
    else:
        total = x.shape[axis]
        step = -(-total // n)
        sizes = [min(step, total - i * step) for i in range(n)]
    return list(torch.split(x, sizes, dim=axis))


def _squeeze(torch, a, at, n):
    x = a[0]
    axes = _ints(a[1]) if len(a) > 1 and a[1] is not None else at.get("axes")
    if axes is None:
        return x.squeeze()
    for ax in sorted((ax % x.dim() for ax in axes), reverse=True):
        x = x.squeeze(ax)
    return x


def _unsqueeze(torch, a, at, n):
    x = a[0]
    axes = _ints(a[1]) if len(a) > 1 and a[1] is not None else list(at["axes"])
    rank = x.dim() + len(axes)
    for ax in sorted(ax % rank for ax in axes):
        x = x.unsqueeze(ax)
    return x


def _conv(torch, a, at, n):
    import torch.nn.functional as F

    x, w = a[0], a[1]
    b = a[2] if len(a) > 2 else None
    dims = w.dim() - 2
    if at.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise UnsupportedError("recovery: Conv with auto_pad")
    pads = list(at.get("pads", [0] * 2 * dims))
    if pads[:dims] != pads[dims:]:  # asymmetric: pad explicitly (F.pad takes the last axis first)
        flat = []
        for i in reversed(range(dims)):
            flat += [pads[i], pads[i + dims]]
        x, pad = F.pad(x, flat), 0
    else:
        pad = pads[:dims]
    fn = {1: F.conv1d, 2: F.conv2d}.get(dims)
    if fn is None:
        raise UnsupportedError(f"recovery: Conv over {dims} dimensions")
    return fn(x, w, b, stride=list(at.get("strides", [1] * dims)), padding=pad,
              dilation=list(at.get("dilations", [1] * dims)), groups=at.get("group", 1))


def _layer_norm(torch, a, at, n):
    x, scale = a[0], a[1]
    bias = a[2] if len(a) > 2 else None
    axis = at.get("axis", -1) % x.dim()
    shape = tuple(x.shape[axis:])
    return torch.nn.functional.layer_norm(x, shape, scale.reshape(shape),
                                          None if bias is None else bias.reshape(shape), at.get("epsilon", 1e-5))


def _clip(torch, a, at, n):
    x = a[0]
    lo = a[1] if len(a) > 1 and a[1] is not None else at.get("min")
    hi = a[2] if len(a) > 2 and a[2] is not None else at.get("max")
    if lo is not None:
        x = torch.maximum(x, torch.as_tensor(lo, dtype=x.dtype))
    if hi is not None:
        x = torch.minimum(x, torch.as_tensor(hi, dtype=x.dtype))
    return x


def _gemm(torch, a, at, n):
    x, w = a[0], a[1]
    if at.get("transA", 0):
        x = x.t()
    if at.get("transB", 0):
        w = w.t()
    y = at.get("alpha", 1.0) * (x @ w)
    if len(a) > 2 and a[2] is not None:
        y = y + at.get("beta", 1.0) * a[2]
    return y


def _reduce(name: str) -> Callable:
    def fn(torch, a, at, n):
        x = a[0]
        axes = _ints(a[1]) if len(a) > 1 and a[1] is not None else at.get("axes")
        keep = bool(at.get("keepdims", 1))
        if axes is None or len(axes) == 0:
            axes = list(range(x.dim()))
        return getattr(torch, name)(x, dim=[ax % x.dim() for ax in axes], keepdim=keep)
    return fn


_OPS: Dict[str, Callable] = {
    "Constant": lambda torch, a, at, n: torch.from_numpy(np.array(at["value"])),
    "Identity": lambda torch, a, at, n: a[0],
    "Shape": lambda torch, a, at, n: torch.tensor(list(a[0].shape), dtype=torch.int64)[
        at.get("start", 0):at.get("end", None)],
    "Gather": _gather,
    "Reshape": _reshape,
    "Slice": _slice,
    "Split": _split,
    "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze,
    "Concat": lambda torch, a, at, n: torch.cat(list(a), dim=at["axis"]),
    "Transpose": lambda torch, a, at, n: a[0].permute(*(at.get("perm") or reversed(range(a[0].dim())))),
    "Cast": lambda torch, a, at, n: a[0].to(getattr(torch, _DTYPES[at["to"]])),
    "Range": lambda torch, a, at, n: torch.arange(a[0].item(), a[1].item(), a[2].item(), dtype=a[0].dtype),
    "Expand": lambda torch, a, at, n: a[0].expand(torch.broadcast_shapes(tuple(a[0].shape), tuple(_ints(a[1])))),
    "ConstantOfShape": lambda torch, a, at, n: torch.full(
        _ints(a[0]), float(np.array(at["value"]).reshape(-1)[0]) if "value" in at else 0.0,
        dtype=getattr(torch, str(np.array(at["value"]).dtype)) if "value" in at else torch.float32),
    "Add": _binary(lambda torch, x, y: x + y),
    "Sub": _binary(lambda torch, x, y: x - y),
    "Mul": _binary(lambda torch, x, y: x * y),
    "Div": _binary(_div),
    "Pow": _binary(lambda torch, x, y: torch.pow(x, y)),
    "Equal": _binary(lambda torch, x, y: x == y),
    "Less": _binary(lambda torch, x, y: x < y),
    "Greater": _binary(lambda torch, x, y: x > y),
    "GreaterOrEqual": _binary(lambda torch, x, y: x >= y),
    "LessOrEqual": _binary(lambda torch, x, y: x <= y),
    "And": _binary(lambda torch, x, y: x & y),
    "Or": _binary(lambda torch, x, y: x | y),
    "Max": lambda torch, a, at, n: torch.stack(torch.broadcast_tensors(*a)).amax(0),
    "Min": lambda torch, a, at, n: torch.stack(torch.broadcast_tensors(*a)).amin(0),
    "Not": lambda torch, a, at, n: ~a[0],
    "Neg": lambda torch, a, at, n: -a[0],
    "Where": lambda torch, a, at, n: torch.where(a[0], a[1], a[2]),
    "MatMul": _binary(lambda torch, x, y: torch.matmul(x, y)),
    "Gemm": _gemm,
    "Conv": _conv,
    "LayerNormalization": _layer_norm,
    "Softmax": lambda torch, a, at, n: torch.softmax(a[0], dim=at.get("axis", -1)),
    "LogSoftmax": lambda torch, a, at, n: torch.log_softmax(a[0], dim=at.get("axis", -1)),
    "Erf": lambda torch, a, at, n: torch.erf(a[0]),
    "Sin": lambda torch, a, at, n: torch.sin(a[0]),
    "Cos": lambda torch, a, at, n: torch.cos(a[0]),
    "Sqrt": lambda torch, a, at, n: torch.sqrt(a[0]),
    "Exp": lambda torch, a, at, n: torch.exp(a[0]),
    "Log": lambda torch, a, at, n: torch.log(a[0]),
    "Tanh": lambda torch, a, at, n: torch.tanh(a[0]),
    "Sigmoid": lambda torch, a, at, n: torch.sigmoid(a[0]),
    "Relu": lambda torch, a, at, n: torch.relu(a[0]),
    "Clip": _clip,
    "ReduceMean": _reduce("mean"),
    "ReduceSum": _reduce("sum"),
}
