"""Which layers suffer most from quantization, measured on audio with echoic's own engine.

Each weight MatMul is quantized alone; the model then transcribes the calibration clips and is
scored by its character edit distance to what the unquantized model transcribed (so calibration
audio needs no transcripts). Ties (common with few clips) are broken by the layer's relative weight
error under that quantization."""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np

from ..text import edit_distance
from .graph import Graph
from .quantize import quantize_weights


@dataclass
class Sensitivity:
    layer: str
    char_errors: int  # vs the unquantized model's transcripts, over all calibration clips
    weight_error: float  # ||W - Q(W)|| / ||W||


def _weight_error(w: np.ndarray, bits: int, block: int) -> float:
    k, n = w.shape
    pad = (-k) % block
    x = np.pad(w, ((0, pad), (0, 0))).T.reshape(n, -1, block)
    qmax = (1 << (bits - 1)) - 1
    scale = np.maximum(np.abs(x).max(-1, keepdims=True), 1e-12) / qmax
    q = np.clip(np.round(x / scale), -qmax - 1, qmax) * scale
    return float(np.linalg.norm(q - x) / max(np.linalg.norm(x), 1e-12))


def measure(graph: Graph, model_file: str, folder: Path, transcribe: Callable[[Path], List[str]],
            reference: List[str], bits: int, block_size: int, symmetric: bool = True) -> List[Sensitivity]:
    """``transcribe(folder)`` decodes the calibration clips with the model folder given; ``folder`` holds
    the other files (tokens, ...) the model needs. Most sensitive first."""
    out = []
    with tempfile.TemporaryDirectory(prefix="echoic-sensitivity-") as tmp:
        work = Path(tmp)
        for f in folder.iterdir():
            if f.is_file() and f.suffix != ".onnx":
                shutil.copyfile(f, work / f.name)
        weights: Dict[str, np.ndarray] = {m.name: graph.array(m.weight) for m in graph.weight_matmuls()}
        for name, w in weights.items():
            q = quantize_weights(graph, bits=bits, block_size=block_size, only=[name], symmetric=symmetric)
            graph.onnx.save(q.model, str(work / model_file))
            hyps = transcribe(work)
            errors = sum(edit_distance(list(r), list(h)) for r, h in zip(reference, hyps))
            out.append(Sensitivity(name, int(errors), _weight_error(w, bits, block_size)))
    out.sort(key=lambda s: (s.char_errors, s.weight_error), reverse=True)
    return out
