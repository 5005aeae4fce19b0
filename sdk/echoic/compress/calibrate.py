"""Activations of a model's layers on calibration audio, for the data-aware steps.

The engine transcribes the calibration clips with the *input* model while the core's input tap
(``_echoic.set_input_observer``) copies what it feeds each ONNX file on every run: features,
caches, tokens, exactly as in production (no second implementation of a model contract here).
Those runs are then replayed through the float graph being compressed, with the tensors a step
needs added as graph outputs, by ONNX Runtime's Python API (1 thread)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from ..errors import InvalidArgumentError
from .graph import Graph

# Rows kept per tensor (evenly spaced over all runs): bounds memory and the solves' cost.
MAX_ROWS = 20000


def _observe(folder: Path, clips: Sequence[Path], tap, threads: int, on_clip=None) -> None:
    """Transcribes ``clips`` with the model in ``folder`` (greedy) while ``tap(file, feeds)`` sees every run."""
    from .. import _native as _n
    from ..asr import Recognizer

    rec = Recognizer(str(folder), threads=threads, decoding="greedy")
    _n.set_input_observer(lambda session, feeds: tap(os.path.basename(session), feeds))
    try:
        for c in clips:
            if on_clip is not None:
                on_clip()
            rec.transcribe(str(c))
    finally:
        _n.set_input_observer(None)


def record_inputs(folder: Path, clips: Sequence[Path], threads: int = 1, budget_bytes: int = 256 << 20,
                  seed: int = 0) -> Dict[str, List[Dict[str, np.ndarray]]]:
    """{onnx file name: [feeds of one run, ...]} while the engine transcribes ``clips`` (greedy).
    Each file keeps a uniform sample of its runs (reservoir) of at most ``budget_bytes`` of inputs:
    a streaming model's caches are ~1 MB per run, Whisper's decoder holds its cross-attention keys."""
    if not clips:
        raise InvalidArgumentError("the data-aware steps need calibration= audio")
    runs: Dict[str, List[Dict[str, np.ndarray]]] = {}
    seen: Dict[str, int] = {}
    rng = np.random.default_rng(seed)

    def tap(name: str, feeds: dict) -> None:
        got = runs.setdefault(name, [])
        n = seen[name] = seen.get(name, 0) + 1
        cap = max(1, budget_bytes // max(1, sum(v.nbytes for v in feeds.values())))
        if len(got) < cap:
            got.append(feeds)
        elif (j := int(rng.integers(n))) < cap:
            got[j] = feeds

    _observe(folder, clips, tap, threads)
    return runs


def record_sequences(folder: Path, clips: Sequence[Path], carried: Dict[str, Sequence[str]], threads: int = 1,
                     budget_bytes: int = 1 << 30) -> Dict[str, List[List[Dict[str, np.ndarray]]]]:
    """{onnx file name: [[feeds of each run, in order] per clip]}: what the engine fed each file while
    transcribing ``clips``. Inputs in ``carried[file]`` (states a run hands to the next: caches) are
    kept for a clip's first run only; the replay carries them over (carry_state). Clips past
    ``budget_bytes`` of inputs are left out."""
    if not clips:
        raise InvalidArgumentError("recovery needs audio")
    seqs: Dict[str, List[List[Dict[str, np.ndarray]]]] = {}
    used = [0]

    def on_clip() -> None:
        for s in seqs.values():
            if s and not s[-1]:
                continue
            s.append([])

    def tap(name: str, feeds: dict) -> None:
        s = seqs.setdefault(name, [[]])
        if used[0] > budget_bytes:
            return
        keep = {k: v for k, v in feeds.items() if not s[-1] or k not in carried.get(name, ())}
        for k, v in keep.items():
            if v.size > 4096 and not v.any():  # a fresh stream's zero caches: untouched calloc pages
                keep[k] = np.zeros(v.shape, v.dtype)
            else:
                used[0] += v.nbytes
        s[-1].append(keep)

    _observe(folder, clips, tap, threads, on_clip)
    return {name: [c for c in s if c] for name, s in seqs.items()}


def carried_states(graph: Graph) -> Dict[str, str]:
    """{output: input} of the states a run hands to the next (echoic's contract names them X / new_X)."""
    inputs = {i.name for i in graph.model.graph.input}
    return {o.name: o.name[4:] for o in graph.model.graph.output
            if o.name.startswith("new_") and o.name[4:] in inputs}


def carry_state(feeds: Dict[str, np.ndarray], previous: Dict[str, object] | None,
                states: Dict[str, str]) -> Dict[str, object]:
    """A run's inputs: the recorded ``feeds``, with each carried state taken from the ``previous`` run's
    outputs (numpy arrays or torch tensors) when there was one."""
    out = dict(feeds)
    if previous is not None:
        for o, i in states.items():
            out[i] = previous[o]
    return out


def activations(graph: Graph, runs: List[Dict[str, np.ndarray]], tensors: Sequence[str],
                max_rows: int = MAX_ROWS, rows_of: Optional[Dict[str, Callable]] = None) -> Dict[str, np.ndarray]:
    """Each tensor of ``graph`` flattened to rows [n, last dim] over the recorded ``runs``, or to
    ``rows_of[tensor](value)`` where given (a convolution's input patches)."""
    import onnxruntime as ort

    onnx = graph.onnx
    m = onnx.ModelProto()
    m.CopyFrom(graph.model)
    del m.graph.value_info[:]
    have = {o.name for o in m.graph.output}
    for t in tensors:
        if t not in have:
            m.graph.output.append(onnx.helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None))
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    wanted = {i.name for i in sess.get_inputs()}
    rows: Dict[str, List[np.ndarray]] = {t: [] for t in tensors}
    for feeds in runs:
        out = sess.run(list(tensors), {k: v for k, v in feeds.items() if k in wanted})
        for t, v in zip(tensors, out):
            v = np.asarray(v, dtype=np.float32)
            rows[t].append(rows_of[t](v) if rows_of and t in rows_of else v.reshape(-1, v.shape[-1]))
    result = {}
    for t, parts in rows.items():
        x = np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)
        if len(x) > max_rows:
            x = x[np.linspace(0, len(x) - 1, max_rows).astype(np.int64)]
        result[t] = x
    return result
