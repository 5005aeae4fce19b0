"""Drives libechoic.so through cffi in ABI mode, exactly as a C caller would."""
from pathlib import Path

import numpy as np
import pytest

import echoic

cffi = pytest.importorskip("cffi")
from c_api_helpers import open_c_api  # noqa: E402  (after the cffi skip)

REPO = Path(__file__).resolve().parents[2]
LINEAR = REPO / "tests" / "data" / "linear.onnx"  # W=[[1,2],[3,4],[5,6]], b=[0.5,-1]
W = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=np.float32)
B = np.array([0.5, -1.0], dtype=np.float32)



@pytest.fixture(scope="module")
def c():
    ffi, lib = open_c_api()
    return ffi, lib


def _err(ffi, lib) -> str:
    return ffi.string(lib.echoic_last_error()).decode()


def test_header_is_found_and_declares_the_api():
    text = Path(echoic.c_header_path()).read_text()
    for name in ("echoic_session_run_f32", "echoic_ort_load", "echoic_session_config_default"):
        assert name in text


def test_version_and_status_names(c):
    ffi, lib = c
    assert ffi.string(lib.echoic_version()).decode() == echoic.__version__
    assert ffi.string(lib.echoic_status_name(lib.ECHOIC_ERR_INVALID_ARGUMENT)) == b"invalid_argument"
    assert ffi.string(lib.echoic_status_name(lib.ECHOIC_ERR_ONNXRUNTIME)) == b"onnxruntime"
    assert ffi.string(lib.echoic_status_name(ffi.cast("echoic_status", 99))) == b"unknown"


def test_null_argument_and_missing_model_set_last_error(c):
    ffi, lib = c
    out = ffi.new("echoic_session**")
    assert lib.echoic_session_create(ffi.NULL, ffi.NULL, out) == lib.ECHOIC_ERR_INVALID_ARGUMENT
    assert "model_path" in _err(ffi, lib)
    assert lib.echoic_ort_version(ffi.NULL) == lib.ECHOIC_ERR_INVALID_ARGUMENT
    assert "NULL" in _err(ffi, lib)
    assert lib.echoic_session_create(b"/nonexistent/model.onnx", ffi.NULL, out) == lib.ECHOIC_ERR_IO
    assert "/nonexistent/model.onnx" in _err(ffi, lib)
    assert out[0] == ffi.NULL  # outputs untouched on failure


def test_ort_version_and_path(c):
    ffi, lib = c
    s = ffi.new("const char**")
    assert lib.echoic_ort_version(s) == lib.ECHOIC_OK, _err(ffi, lib)
    assert ffi.string(s[0]).decode() == echoic.ort_version()  # same process, same library
    assert lib.echoic_ort_library_path(s) == lib.ECHOIC_OK
    assert "libonnxruntime" in ffi.string(s[0]).decode()
    assert lib.echoic_ort_load(ffi.NULL) == lib.ECHOIC_OK
    assert lib.echoic_ort_load(b"/other/libonnxruntime.so") == lib.ECHOIC_ERR_STATE
    assert _err(ffi, lib)


def test_session_create_run_and_free(c):
    ffi, lib = c
    opts = ffi.new("echoic_session_config*")
    lib.echoic_session_config_default(opts)
    assert opts.num_threads == 1 and opts.cpu_mem_arena == 1 and opts.ort_library == ffi.NULL
    opts.cpu_mem_arena = 0
    sp = ffi.new("echoic_session**")
    assert lib.echoic_session_create(str(LINEAR).encode(), opts, sp) == lib.ECHOIC_OK, _err(ffi, lib)
    sess = sp[0]
    try:
        n = ffi.new("size_t*")
        assert lib.echoic_session_num_inputs(sess, n) == lib.ECHOIC_OK and n[0] == 1
        assert lib.echoic_session_num_outputs(sess, n) == lib.ECHOIC_OK and n[0] == 1
        name = ffi.new("const char**")
        assert lib.echoic_session_input_name(sess, 0, name) == lib.ECHOIC_OK
        assert ffi.string(name[0]) == b"X"
        assert lib.echoic_session_output_name(sess, 0, name) == lib.ECHOIC_OK
        assert ffi.string(name[0]) == b"Y"
        assert lib.echoic_session_input_name(sess, 5, name) == lib.ECHOIC_ERR_INVALID_ARGUMENT

        x = np.arange(12, dtype=np.float32).reshape(4, 3)
        keep = []
        in_names = ffi.new("const char*[]", [keep_(keep, ffi.new("char[]", b"X"))])
        in_data = ffi.new("const float*[]", [ffi.cast("const float*", ffi.from_buffer(x))])
        shape = ffi.new("int64_t[]", [4, 3])
        in_shapes = ffi.new("const int64_t*[]", [shape])
        in_ranks = ffi.new("size_t[]", [2])
        out_names = ffi.new("const char*[]", [keep_(keep, ffi.new("char[]", b"Y"))])
        out_data = ffi.new("const float*[1]")
        out_shapes = ffi.new("const int64_t*[1]")
        out_ranks = ffi.new("size_t[1]")
        st = lib.echoic_session_run_f32(sess, in_names, in_data, in_shapes, in_ranks, 1, out_names, 1,
                                        out_data, out_shapes, out_ranks)
        assert st == lib.ECHOIC_OK, _err(ffi, lib)
        assert out_ranks[0] == 2 and [out_shapes[0][i] for i in range(2)] == [4, 2]
        y = np.frombuffer(ffi.buffer(out_data[0], 4 * 8), dtype=np.float32).reshape(4, 2)
        np.testing.assert_allclose(y, x @ W + B, rtol=1e-6)

        shape[1] = 2  # wrong fixed dim: clear error, previous outputs stay valid
        bad = lib.echoic_session_run_f32(sess, in_names, in_data, in_shapes, in_ranks, 1, out_names, 1,
                                         out_data, out_shapes, out_ranks)
        assert bad == lib.ECHOIC_ERR_INVALID_ARGUMENT
        assert "linear.onnx" in _err(ffi, lib) and "'X'" in _err(ffi, lib)
        np.testing.assert_allclose(np.frombuffer(ffi.buffer(out_data[0], 32), np.float32).reshape(4, 2), x @ W + B)
    finally:
        lib.echoic_session_free(sess)
    lib.echoic_session_free(ffi.NULL)  # free(NULL) is a no-op


def test_corrupt_model_status(c, tmp_path):
    ffi, lib = c
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage" * 20)
    sp = ffi.new("echoic_session**")
    assert lib.echoic_session_create(str(bad).encode(), ffi.NULL, sp) == lib.ECHOIC_ERR_CORRUPT_DATA
    assert "bad.onnx" in _err(ffi, lib)


def keep_(store, obj):
    store.append(obj)
    return obj
