"""Where models live: the ones bundled in the package, a user cache, or a path.

A model is a folder holding ``model.onnx`` (streaming CTC) or ``encoder.onnx``,
``decoder.onnx`` and ``joiner.onnx`` (streaming transducer), plus ``tokens.txt``
(and a ``MODEL_CARD.md``). ``resolve_model`` accepts a bundled name, a folder or
an ``.onnx`` file.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Tuple

from .errors import NotFoundError

BUNDLED_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL = "echoic-small-en"


def cache_dir() -> Path:
    """User cache for downloaded models (``$ECHOIC_CACHE`` or ``~/.cache/echoic/models``)."""
    root = os.environ.get("ECHOIC_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "echoic" / "models"


def _is_transducer_dir(d: Path) -> bool:
    return (d / "encoder.onnx").is_file()


def _is_model_dir(d: Path) -> bool:
    return (d / "model.onnx").is_file() or _is_transducer_dir(d)


def _model_of(d: Path) -> Path:
    # The native side takes a transducer's folder itself (it opens the three files).
    return d if _is_transducer_dir(d) else d / "model.onnx"


def list_models() -> Dict[str, Path]:
    """Installed models by name: bundled ones first, then the user cache."""
    found: Dict[str, Path] = {}
    for base in (BUNDLED_DIR, cache_dir()):
        if base.is_dir():
            for d in sorted(base.iterdir()):
                if _is_model_dir(d) and d.name not in found:
                    found[d.name] = d
    return found


def resolve_model(model: "str | os.PathLike[str]") -> Tuple[Path, Path]:
    """Returns (model.onnx, tokens.txt) for a name, a folder or an .onnx file;
    for a transducer folder, (the folder, tokens.txt)."""
    p = Path(model).expanduser()
    if p.is_file():
        return p, p.parent / "tokens.txt"
    if p.is_dir():
        if not _is_model_dir(p):
            raise NotFoundError(f"model folder '{p}' has neither model.onnx (CTC) nor encoder.onnx (transducer)")
        return _model_of(p), p / "tokens.txt"
    models = list_models()
    if str(model) in models:
        d = models[str(model)]
        return _model_of(d), d / "tokens.txt"
    known = ", ".join(models) or "none installed"
    raise NotFoundError(f"no model named or found at '{model}' (installed: {known})")


def installed_names() -> List[str]:
    return list(list_models())
