"""Loads the compiled core `_echoic` with an actionable message when it is missing."""
try:
    import _echoic as native  # noqa: F401  (built by setup.py / CMake)
except ImportError as exc:  # pragma: no cover - only on a broken install
    raise ImportError(
        "echoic's native module _echoic could not be imported. Install the package with "
        "`pip install .` from the source tree (it builds the C++ core), or put the CMake "
        f"build folder holding _echoic on PYTHONPATH. Cause: {exc}"
    ) from exc
