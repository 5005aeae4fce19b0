"""The keyword-spotting network as plain numpy arrays: ONNX import/export, forward,
backward, size and MACs.

The network is a chain (TC-ResNet-like temporal convolutions over the 80 log-mel
bins, no residuals so that whole channels can be removed):

    features [B, T, F] -> (x - mean) * inv_std -> transpose [B, F, T]
    -> (Conv1d + ReLU) x L -> mean over time -> Gemm -> Softmax -> probs [B, 1 + K]

and a second output ``hidden`` (the input of the last conv block) so that on-device
adaptation can run the frozen prefix in ONNX Runtime and backpropagate the rest in
numpy. The runtime (C++) only relies on the model's inputs/outputs and metadata.
Needs the ``onnx`` package for import/export (``pip install echoic[personalize]``).
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

try:
    from ..errors import InvalidArgumentError, ModelError, UnsupportedError
except ImportError:  # no compiled core (the training recipe needs none): plain exceptions
    InvalidArgumentError = ModelError = ValueError  # type: ignore[misc,assignment]
    UnsupportedError = ImportError  # type: ignore[misc,assignment]

OPSET = 17


@dataclass
class ConvLayer:
    w: np.ndarray  # [Cout, Cin, K]
    b: np.ndarray  # [Cout]
    stride: int = 1
    pad: int = 0

    @property
    def kernel(self) -> int:
        return int(self.w.shape[2])


def _import_onnx():
    """The optional ``onnx`` package (reading and writing keyword models for personalisation)."""
    try:
        import onnx
    except ImportError as exc:
        raise UnsupportedError("keyword personalisation needs the onnx package: "
                               "pip install 'echoic[personalize]'") from exc
    return onnx


@dataclass
class KwsNet:
    mean: np.ndarray       # [F]
    inv_std: np.ndarray    # [F]
    convs: List[ConvLayer]
    fc_w: np.ndarray       # [classes, C]
    fc_b: np.ndarray       # [classes]
    metadata: Dict[str, str] = field(default_factory=dict)
    # The runtime's reading of the metadata (``_echoic.KwsModel.info``: window, front-end,
    # threshold), set by ``from_onnx``; the one parser of these settings is the C++ core.
    settings: Optional[Dict[str, Any]] = None

    # ---- facts ----------------------------------------------------------------------------
    @property
    def keywords(self) -> List[str]:
        if self.settings is not None:
            return list(self.settings["keywords"])
        return [k for k in self.metadata.get("keywords", "").split(",") if k]

    @property
    def window_frames(self) -> int:
        """Frames per window: as the runtime reads it, or as a recipe declared it."""
        if self.settings is not None:
            return int(self.settings["window_frames"])
        return int(self.metadata["window_frames"])

    @property
    def hidden_layer(self) -> int:
        """Index of the conv layer whose *input* is the ``hidden`` output (the last block)."""
        return len(self.convs) - 1

    def channels(self) -> List[int]:
        return [int(c.w.shape[0]) for c in self.convs]

    def num_params(self) -> int:
        n = self.mean.size + self.inv_std.size + self.fc_w.size + self.fc_b.size
        return int(n + sum(c.w.size + c.b.size for c in self.convs))

    def macs(self, frames: Optional[int] = None) -> int:
        """Multiply-accumulates of one window (convs + classifier)."""
        t = int(frames or self.window_frames)
        total = 0
        for c in self.convs:
            t = (t + 2 * c.pad - c.kernel) // c.stride + 1
            total += t * c.w.size
        return int(total + self.fc_w.size)

    def copy(self) -> "KwsNet":
        return copy.deepcopy(self)

    # ---- numpy forward / backward -----------------------------------------------------
    def forward(self, feats: np.ndarray, start: int = 0, keep: bool = False):
        """feats: [B, T, F] features when start == 0, else the [B, C, T'] input of conv `start`.
        Returns (probs, cache) where cache holds what backward() needs when keep=True."""
        if start == 0:
            x = ((feats - self.mean) * self.inv_std).transpose(0, 2, 1)
        else:
            x = feats
        cache = []
        for c in self.convs[start:]:
            cols, t_out = _im2col(x, c.kernel, c.stride, c.pad)
            y = cols @ c.w.reshape(c.w.shape[0], -1).T + c.b  # [B, To, Cout]
            y = np.maximum(y, 0.0)
            if keep:
                cache.append((x.shape, cols, y))
            x = y.transpose(0, 2, 1)
        pooled = x.mean(axis=2)
        logits = pooled @ self.fc_w.T + self.fc_b
        probs = _softmax(logits)
        if keep:
            cache.append(pooled)
        return probs, cache

    def backward(self, probs: np.ndarray, labels: np.ndarray, cache, start: int, train_from: int,
                 weights: Optional[np.ndarray] = None):
        """Cross-entropy gradients for conv layers >= train_from (>= start) and the classifier.
        labels: class indices [B] or target distributions [B, classes]."""
        n = probs.shape[0]
        w = np.ones(n, np.float32) if weights is None else weights.astype(np.float32)
        d = probs.copy()
        if labels.ndim == 2:  # soft targets (distillation): d = p - q
            d -= labels
        else:
            d[np.arange(n), labels] -= 1.0
        d *= (w / w.sum())[:, None]
        pooled = cache[-1]
        grads = {"fc_w": d.T @ pooled, "fc_b": d.sum(0)}
        dx = d @ self.fc_w  # [B, C]
        layers = self.convs[start:]
        t_last = cache[-2][2].shape[1]
        dy = np.repeat(dx[:, None, :] / t_last, t_last, axis=1)  # [B, To, C]
        for i in range(len(layers) - 1, -1, -1):
            li = start + i
            if li < train_from:
                break
            in_shape, cols, y = cache[i]
            c = layers[i]
            dy = dy * (y > 0)
            dy2 = dy.reshape(-1, dy.shape[2])
            grads[f"conv{li}_w"] = (dy2.T @ cols.reshape(-1, cols.shape[2])).reshape(c.w.shape)
            grads[f"conv{li}_b"] = dy2.sum(0)
            if li > train_from:
                dcols = dy @ c.w.reshape(c.w.shape[0], -1)  # [B, To, Cin*K]
                dx_in = _col2im(dcols, in_shape, c.kernel, c.stride, c.pad)  # [B, Cin, T]
                dy = dx_in.transpose(0, 2, 1)
        return grads

    def apply(self, grads, lr: float):
        self.fc_w -= lr * grads["fc_w"]
        self.fc_b -= lr * grads["fc_b"]
        for i, c in enumerate(self.convs):
            if f"conv{i}_w" in grads:
                c.w -= lr * grads[f"conv{i}_w"]
                c.b -= lr * grads[f"conv{i}_b"]

    def activations(self, feats: np.ndarray) -> List[np.ndarray]:
        """Per-layer post-ReLU activations [B, C, T] (for data-aware channel scores)."""
        x = ((feats - self.mean) * self.inv_std).transpose(0, 2, 1)
        out = []
        for c in self.convs:
            cols, _ = _im2col(x, c.kernel, c.stride, c.pad)
            x = np.maximum(cols @ c.w.reshape(c.w.shape[0], -1).T + c.b, 0.0).transpose(0, 2, 1)
            out.append(x)
        return out

    # ---- structured pruning ------------------------------------------------------------
    def keep_channels(self, layer: int, keep: np.ndarray, mean_act: Optional[np.ndarray] = None) -> None:
        """Keeps output channels `keep` of conv `layer` (and the matching inputs downstream).

        mean_act: the layer's mean activation per channel; the removed channels' average
        contribution is folded into the next layer's bias (mean replacement), so the next
        pre-activations keep their level instead of collapsing below the ReLU."""
        keep = np.sort(np.asarray(keep, dtype=np.int64))
        if keep.size == 0:
            raise InvalidArgumentError(f"pruning would remove every channel of conv layer {layer}")
        c = self.convs[layer]
        drop = np.setdiff1d(np.arange(c.w.shape[0]), keep)
        c.w, c.b = c.w[keep].copy(), c.b[keep].copy()
        if layer + 1 < len(self.convs):
            nxt = self.convs[layer + 1]
            if mean_act is not None and drop.size:
                nxt.b = nxt.b + np.einsum("oik,i->o", nxt.w[:, drop], mean_act[drop]).astype(nxt.b.dtype)
            nxt.w = nxt.w[:, keep].copy()
        else:
            if mean_act is not None and drop.size:
                self.fc_b = self.fc_b + (self.fc_w[:, drop] @ mean_act[drop]).astype(self.fc_b.dtype)
            self.fc_w = self.fc_w[:, keep].copy()

    # ---- ONNX ------------------------------------------------------------------------------
    def to_onnx(self, path: str) -> None:
        onnx = _import_onnx()
        from onnx import TensorProto, helper, numpy_helper

        f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
        inits = [numpy_helper.from_array(f32(self.mean), "norm_mean"),
                 numpy_helper.from_array(f32(self.inv_std), "norm_inv_std"),
                 numpy_helper.from_array(f32(self.fc_w), "fc_w"),
                 numpy_helper.from_array(f32(self.fc_b), "fc_b")]
        nodes = [helper.make_node("Sub", ["features", "norm_mean"], ["norm_sub"]),
                 helper.make_node("Mul", ["norm_sub", "norm_inv_std"], ["norm_out"]),
                 helper.make_node("Transpose", ["norm_out"], ["x0"], perm=[0, 2, 1])]
        x = "x0"
        for i, c in enumerate(self.convs):
            inits += [numpy_helper.from_array(f32(c.w), f"conv{i}_w"), numpy_helper.from_array(f32(c.b), f"conv{i}_b")]
            if i == self.hidden_layer:
                nodes.append(helper.make_node("Identity", [x], ["hidden"]))
            nodes.append(helper.make_node("Conv", [x, f"conv{i}_w", f"conv{i}_b"], [f"conv{i}_out"],
                                          kernel_shape=[c.kernel], strides=[c.stride], pads=[c.pad, c.pad]))
            nodes.append(helper.make_node("Relu", [f"conv{i}_out"], [f"x{i + 1}"]))
            x = f"x{i + 1}"
        nodes += [helper.make_node("ReduceMean", [x], ["pooled"], axes=[2], keepdims=0),
                  helper.make_node("Gemm", ["pooled", "fc_w", "fc_b"], ["logits"], transB=1),
                  helper.make_node("Softmax", ["logits"], ["probs"], axis=1)]
        nbins = int(self.mean.shape[0])
        graph = helper.make_graph(
            nodes, "echoic_kws",
            [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", "frames", nbins])],
            [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", int(self.fc_w.shape[0])]),
             helper.make_tensor_value_info("hidden", TensorProto.FLOAT,
                                           ["batch", int(self.convs[-1].w.shape[1]), "hidden_frames"])],
            inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="echoic-kws")
        model.ir_version = 8
        meta = dict(self.metadata)
        meta["num_params"] = str(self.num_params())
        meta["macs_per_window"] = str(self.macs())
        meta["channels"] = ",".join(str(c) for c in self.channels())
        # What the runtime feeds for frames before the stream start: the normalization
        # mean, i.e. an all-zero input after normalization (as in training).
        meta["pad_frame"] = ",".join(f"{v:.5f}" for v in self.mean)
        for k, v in sorted(meta.items()):
            model.metadata_props.add(key=k, value=str(v))
        onnx.checker.check_model(model)
        tmp = path + ".tmp"
        onnx.save(model, tmp)
        os.replace(tmp, path)

    @staticmethod
    def from_onnx(path: str) -> "KwsNet":
        onnx = _import_onnx()
        from onnx import numpy_helper

        try:
            model = onnx.load(path)
        except Exception as exc:  # onnx raises several unrelated types
            raise ModelError(f"keyword model '{path}': cannot parse ONNX: {exc}") from exc
        init = {t.name: numpy_helper.to_array(t).astype(np.float32) for t in model.graph.initializer}
        meta = {p.key: p.value for p in model.metadata_props}
        convs = []
        for node in model.graph.node:
            if node.op_type != "Conv":
                continue
            attrs = {a.name: list(a.ints) for a in node.attribute}
            w, b = init.get(node.input[1]), init.get(node.input[2]) if len(node.input) > 2 else None
            if w is None or b is None or w.ndim != 3:
                raise ModelError(f"keyword model '{path}': Conv node '{node.name}' lacks 1-D weight/bias initializers")
            convs.append(ConvLayer(w.copy(), b.copy(), attrs.get("strides", [1])[0], attrs.get("pads", [0])[0]))
        for key in ("norm_mean", "norm_inv_std", "fc_w", "fc_b"):
            if key not in init:
                raise ModelError(f"keyword model '{path}': initializer '{key}' missing (not an echoic-kws network)")
        if not convs:
            raise ModelError(f"keyword model '{path}': no Conv layers")
        for k in ("num_params", "macs_per_window", "channels", "pad_frame"):
            meta.pop(k, None)
        from .._native import native

        settings = dict(native.KwsModel(os.fspath(path)).info)  # the core validates and reads the metadata
        return KwsNet(init["norm_mean"], init["norm_inv_std"], convs, init["fc_w"], init["fc_b"], meta, settings)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _im2col(x: np.ndarray, k: int, s: int, p: int) -> Tuple[np.ndarray, int]:
    """x [B, C, T] -> cols [B, To, C*K]."""
    if p:
        x = np.pad(x, ((0, 0), (0, 0), (p, p)))
    t_out = (x.shape[2] - k) // s + 1
    idx = s * np.arange(t_out)[:, None] + np.arange(k)[None, :]
    cols = x[:, :, idx]  # [B, C, To, K]
    return np.ascontiguousarray(cols.transpose(0, 2, 1, 3)).reshape(x.shape[0], t_out, -1), t_out


def _col2im(dcols: np.ndarray, in_shape, k: int, s: int, p: int) -> np.ndarray:
    b, c, t = in_shape
    t_out = dcols.shape[1]
    d = dcols.reshape(b, t_out, c, k)
    dx = np.zeros((b, c, t + 2 * p), np.float32)
    base = s * np.arange(t_out)
    for j in range(k):  # indices base + j are unique for fixed j
        dx[:, :, base + j] += d[:, :, :, j].transpose(0, 2, 1)
    return dx[:, :, p:p + t] if p else dx
