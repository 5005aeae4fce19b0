"""Where echoic's C library (``libechoic.so``) and its header (``echoic.h``) are.

Installed packages carry them in ``<package>/lib`` and ``<package>/include``. In a
source checkout, set ``ECHOIC_C_LIBRARY`` to the built library (for example
``build/dev/bindings/c/libechoic.so``); the header is then taken from the source tree.
"""
from __future__ import annotations

import os
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def c_library_path() -> str:
    """Path of ``libechoic.so``: the installed copy, else ``$ECHOIC_C_LIBRARY``.

    Raises FileNotFoundError with what was tried when neither exists.
    """
    installed = _PKG / "lib" / "libechoic.so"
    if installed.is_file():
        return str(installed)
    env = os.environ.get("ECHOIC_C_LIBRARY")
    if env:
        if Path(env).is_file():
            return str(Path(env).resolve())
        raise FileNotFoundError(f"ECHOIC_C_LIBRARY={env!r} does not exist")
    raise FileNotFoundError(
        f"echoic's C library was not found: no {installed} (install echoic with `pip install .`) "
        "and ECHOIC_C_LIBRARY is not set (in a source build: build/<dir>/bindings/c/libechoic.so)"
    )


def c_header_path() -> str:
    """Path of ``echoic.h``: the installed copy, else the source tree's bindings/c/echoic.h."""
    for candidate in (_PKG / "include" / "echoic.h", _PKG.parent.parent / "bindings" / "c" / "echoic.h"):
        if candidate.is_file():
            return str(candidate)
    raise FileNotFoundError(f"echoic.h was not found under {_PKG / 'include'} nor in a source tree")


__all__ = ["c_library_path", "c_header_path"]
