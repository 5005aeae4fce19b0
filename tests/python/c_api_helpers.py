"""The C API from the tests: cffi over the shipped echoic.h (never a hand copy) and libechoic.so."""
import os
import re
from pathlib import Path
from typing import Any, Tuple

import echoic


def header_cdef() -> str:
    """echoic.h as cffi's cdef accepts it: no preprocessor lines, no export macro, no extern "C"."""
    text = Path(echoic.c_header_path()).read_text()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    lines = [l for l in text.splitlines() if not l.lstrip().startswith("#")]
    text = "\n".join(lines).replace("ECHOIC_API ", "")
    text = text.replace('extern "C" {', "")
    text = re.sub(r"^\}\s*$", "", text, flags=re.M)  # the closing brace of extern "C"
    return text


def library_path() -> str:
    """$ECHOIC_C_LIBRARY (a dev build), else the library installed with the package."""
    return os.environ.get("ECHOIC_C_LIBRARY") or str(echoic.c_library_path())


def open_c_api() -> Tuple[Any, Any]:
    """(ffi, lib) over the shipped header and library."""
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(header_cdef())
    return ffi, ffi.dlopen(library_path())


def get(ffi: Any, fn: Any, *args: Any, ctype: str) -> Any:
    """A getter's value: fn(*args, out) must return ECHOIC_OK (0); ctype is the out type ("size_t")."""
    out = ffi.new(ctype + "*")
    status = fn(*args, out)
    assert status == 0, f"{fn}: status {status}"
    return out[0]


def get_str(ffi: Any, fn: Any, *args: Any) -> str:
    """A string getter's value, decoded from UTF-8."""
    return ffi.string(get(ffi, fn, *args, ctype="const char*")).decode()
