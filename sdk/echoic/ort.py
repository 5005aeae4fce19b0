"""ONNX Runtime as echoic uses it: the one ORT library loaded in this process, and
inference sessions over numpy arrays.

echoic's C++ core loads ``libonnxruntime`` at run time (no ORT headers or link-time
dependency). Where it comes from, in order: an explicit path
(:func:`load_ort_library` or ``Session(..., ort_library=...)``), the environment
variable ``ECHOIC_ORT_LIBRARY``, the ``onnxruntime`` Python package installed next
to echoic, then the system's ``libonnxruntime.so``. One library per process.
"""
from __future__ import annotations

import os
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ._native import native as _n

TensorSpec = Tuple[str, str, List[int]]
"""(name, dtype name, shape) of a model input or output; -1 marks a dynamic dim."""

_OPT_LEVELS = ("disabled", "basic", "extended", "all")


def ort_library_info() -> Dict[str, object]:
    """Describe the loaded ONNX Runtime, loading it first if needed.

    Returns a dict with ``path`` (file actually loaded), ``version`` (ORT's
    version string), ``api_version`` (C API version echoic requested) and
    ``resolved_by`` (``"explicit"``, ``"env"``, ``"python-package"`` or ``"system"``).
    Raises :class:`echoic.OnnxRuntimeError` when no usable library is found.
    """
    return dict(_n.ort_library_info())


def load_ort_library(path: Union[str, os.PathLike]) -> Dict[str, object]:
    """Load ONNX Runtime from ``path`` for this process and return :func:`ort_library_info`.

    Raises :class:`echoic.OnnxRuntimeError` if ``path`` cannot be loaded (no silent
    fallback) and :class:`echoic.StateError` if a different library is already loaded.
    """
    return dict(_n.load_ort_library(os.fspath(path)))


def ort_version() -> str:
    """Version string of the ONNX Runtime library actually loaded (e.g. ``"1.31.1"``)."""
    return str(ort_library_info()["version"])


def ort_library_path() -> str:
    """Path of the ONNX Runtime library actually loaded."""
    return str(ort_library_info()["path"])


class Session:
    """An ONNX Runtime inference session run by echoic's C++ core.

    Args:
        model: path to an ``.onnx`` file, or the model's bytes.
        intra_op_threads: threads inside one operator (0 = ORT's default).
        inter_op_threads: threads across operators (0 = ORT's default).
        graph_optimization: ``"disabled"``, ``"basic"``, ``"extended"`` or ``"all"``.
        cpu_mem_arena: ORT's CPU memory arena; turning it off lowers peak RAM
            (about 2x the model file with it on) at some speed cost.
        ort_library: explicit ``libonnxruntime`` path ("" = default resolution).

    Errors: :class:`echoic.EchoicIOError` (missing file), :class:`echoic.CorruptDataError`
    (not a valid ONNX model), :class:`echoic.OnnxRuntimeError` (ORT failed or missing),
    :class:`echoic.InvalidArgumentError` (bad option or input).
    """

    def __init__(
        self,
        model: Union[str, os.PathLike, bytes, bytearray],
        intra_op_threads: int = 1,
        inter_op_threads: int = 1,
        graph_optimization: str = "all",
        cpu_mem_arena: bool = True,
        ort_library: Union[str, os.PathLike] = "",
    ) -> None:
        if not isinstance(model, (bytes, bytearray)):
            model = os.fspath(model)
        self._s = _n.Session(
            model,
            intra_op_threads=int(intra_op_threads),
            inter_op_threads=int(inter_op_threads),
            graph_optimization=str(graph_optimization),
            cpu_mem_arena=bool(cpu_mem_arena),
            ort_library=os.fspath(ort_library) if ort_library else "",
        )

    @property
    def name(self) -> str:
        """The model path (or ``"<memory>"``), used in error messages."""
        return self._s.name

    @property
    def inputs(self) -> List[TensorSpec]:
        """Model inputs as (name, dtype, shape); -1 marks a dynamic dimension."""
        return [(n, t, list(s)) for n, t, s in self._s.inputs]

    @property
    def outputs(self) -> List[TensorSpec]:
        """Model outputs as (name, dtype, shape); -1 marks a dynamic dimension."""
        return [(n, t, list(s)) for n, t, s in self._s.outputs]

    @property
    def metadata(self) -> Dict[str, str]:
        """The model's custom metadata map (``metadata_props``)."""
        return dict(self._s.metadata)

    def require_metadata(self, key: str) -> str:
        """Value of metadata ``key``; :class:`echoic.ModelError` if absent."""
        return self._s.require_metadata(key)

    def require_metadata_int(self, key: str) -> int:
        """Integer value of metadata ``key``; :class:`echoic.ModelError` if absent or not an integer."""
        return self._s.require_metadata_int(key)

    def run(
        self, feeds: Mapping[str, np.ndarray], output_names: Optional[Sequence[str]] = None
    ) -> Dict[str, np.ndarray]:
        """Run the model. ``feeds`` maps every input name to an array of the input's
        dtype and a matching shape; returns output name -> array (all outputs when
        ``output_names`` is None). The GIL is released while the model runs."""
        return self._s.run(dict(feeds), list(output_names) if output_names is not None else None)

    def __repr__(self) -> str:
        return f"echoic.Session({self.name!r}, inputs={self.inputs}, outputs={self.outputs})"


__all__ = ["Session", "TensorSpec", "load_ort_library", "ort_library_info", "ort_library_path", "ort_version"]
