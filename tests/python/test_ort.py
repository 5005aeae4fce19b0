"""echoic's own ONNX Runtime path (dlopen'ed C API) from Python."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import echoic

REPO = Path(__file__).resolve().parents[2]


def _linear_model(w: np.ndarray, b: np.ndarray) -> bytes:
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["XW"]), helper.make_node("Add", ["XW", "b"], ["Y"])],
        "linear",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", w.shape[0]])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", w.shape[1]])],
        initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    return model.SerializeToString()


def _meta_model(props) -> bytes:
    graph = helper.make_graph(
        [helper.make_node("Add", ["A", "B"], ["C"]), helper.make_node("Cast", ["A"], ["A_int"], to=TensorProto.INT64)],
        "meta",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [2, 3]),
         helper.make_tensor_value_info("B", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("C", TensorProto.FLOAT, [2, 3]),
         helper.make_tensor_value_info("A_int", TensorProto.INT64, [2, 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    helper.set_model_props(model, props)
    return model.SerializeToString()


@pytest.fixture(scope="module")
def linear(tmp_path_factory):
    rng = np.random.default_rng(7)
    w = rng.standard_normal((5, 4)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    path = tmp_path_factory.mktemp("models") / "linear.onnx"
    path.write_bytes(_linear_model(w, b))
    return path, w, b


def test_library_info_describes_the_loaded_library():
    info = echoic.ort_library_info()
    assert set(info) == {"path", "version", "api_version", "resolved_by"}
    assert Path(info["path"]).name.startswith("libonnxruntime")
    assert info["resolved_by"] in {"explicit", "env", "python-package", "system"}
    assert info["api_version"] >= 1
    assert echoic.ort_version() == info["version"]
    assert echoic.ort_library_path() == info["path"]
    import onnxruntime

    if Path(info["path"]).resolve().parent == (Path(onnxruntime.__file__).parent / "capi").resolve():
        assert info["version"] == onnxruntime.__version__


@pytest.mark.parametrize("arena", [True, False])
@pytest.mark.parametrize("opt", ["disabled", "all"])
def test_linear_model_matches_numpy(linear, arena, opt):
    path, w, b = linear
    s = echoic.Session(path, cpu_mem_arena=arena, graph_optimization=opt)
    assert s.inputs == [("X", "float32", [-1, 5])]
    assert s.outputs == [("Y", "float32", [-1, 4])]
    x = np.random.default_rng(1).standard_normal((7, 5)).astype(np.float32)
    out = s.run({"X": x})
    assert set(out) == {"Y"}
    np.testing.assert_allclose(out["Y"], x @ w + b, rtol=1e-5, atol=1e-5)
    # non-contiguous input is accepted (copied), result unchanged
    xt = np.asfortranarray(x)
    np.testing.assert_allclose(s.run({"X": xt}, ["Y"])["Y"], x @ w + b, rtol=1e-5, atol=1e-5)


def test_model_from_bytes_metadata_and_int_outputs():
    props = {"model_type": "unit", "window": "400", "name": "x y"}
    s = echoic.Session(_meta_model(props))
    assert s.name == "<memory>"
    assert s.metadata == props
    assert s.require_metadata("model_type") == "unit"
    assert s.require_metadata_int("window") == 400
    with pytest.raises(echoic.ModelError, match="vocab"):
        s.require_metadata("vocab")
    with pytest.raises(echoic.ModelError, match="name"):
        s.require_metadata_int("name")
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    bb = np.full((2, 3), 0.5, dtype=np.float32)
    out = s.run({"A": a, "B": bb})
    np.testing.assert_array_equal(out["C"], a + bb)
    assert out["A_int"].dtype == np.int64
    np.testing.assert_array_equal(out["A_int"], a.astype(np.int64))
    assert list(s.run({"A": a, "B": bb}, output_names=["A_int"])) == ["A_int"]


def test_shape_type_and_name_errors_are_invalid_argument(linear):
    path, _, _ = linear
    s = echoic.Session(str(path))
    with pytest.raises(echoic.InvalidArgumentError, match=r"'X'.*\[-1, 5\].*\[2, 3\]") as info:
        s.run({"X": np.zeros((2, 3), np.float32)})
    assert str(path) in str(info.value)
    with pytest.raises(echoic.InvalidArgumentError, match="float32"):
        s.run({"X": np.zeros((2, 5), np.int64)})
    with pytest.raises(echoic.InvalidArgumentError, match="float64"):
        s.run({"X": np.zeros((2, 5))})
    with pytest.raises(echoic.InvalidArgumentError, match="unknown input 'Q'"):
        s.run({"X": np.zeros((2, 5), np.float32), "Q": np.zeros(1, np.float32)})
    with pytest.raises(echoic.InvalidArgumentError, match="missing"):
        s.run({})
    with pytest.raises(echoic.InvalidArgumentError, match="graph optimization"):
        echoic.Session(path, graph_optimization="max")


def test_missing_and_corrupt_models(tmp_path):
    missing = tmp_path / "nope.onnx"
    with pytest.raises(echoic.EchoicIOError, match="nope.onnx"):
        echoic.Session(missing)
    bad = tmp_path / "garbage.onnx"
    bad.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(echoic.CorruptDataError, match="garbage.onnx"):
        echoic.Session(bad)
    with pytest.raises(echoic.CorruptDataError):
        echoic.Session(b"not a model at all")


def _run_fresh(code: str, env_extra=None, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_wrong_ort_library_path_is_onnxruntime_error():
    code = (
        "import echoic\n"
        "try:\n"
        "    echoic.load_ort_library('/nonexistent/libonnxruntime.so.1')\n"
        "except echoic.OnnxRuntimeError as e:\n"
        "    print('ORTERR', e)\n"
        "try:\n"
        "    echoic.Session(b'x', ort_library='/also/missing/libonnxruntime.so')\n"
        "except echoic.OnnxRuntimeError as e:\n"
        "    print('ORTERR2', e)\n"
    )
    r = _run_fresh(code)
    assert r.returncode == 0, r.stderr
    assert "ORTERR" in r.stdout and "/nonexistent/libonnxruntime.so.1" in r.stdout
    assert "ORTERR2" in r.stdout and "/also/missing/libonnxruntime.so" in r.stdout
    r = _run_fresh(
        "import echoic\ntry:\n    echoic.ort_version()\nexcept echoic.OnnxRuntimeError as e:\n    print('ENVERR', e)\n",
        {"ECHOIC_ORT_LIBRARY": "/bad/env/libonnxruntime.so"},
    )
    assert "ENVERR" in r.stdout and "ECHOIC_ORT_LIBRARY" in r.stdout, r.stdout + r.stderr


def test_second_library_is_a_state_error():
    real = echoic.ort_library_path()
    with pytest.raises(echoic.StateError, match="already loaded"):
        echoic.load_ort_library("/some/other/libonnxruntime.so")
    assert echoic.load_ort_library(real)["path"] == real  # same library: fine


def test_python_package_resolution_without_env(tmp_path):
    """A native module sitting in a site-packages-like folder finds onnxruntime/capi beside it."""
    import onnxruntime

    native = Path(echoic._native.__file__)
    site = tmp_path / "site-packages"
    site.mkdir()
    shutil.copy2(native, site / native.name)
    (site / "onnxruntime").symlink_to(Path(onnxruntime.__file__).parent)
    env = {k: v for k, v in os.environ.items() if k != "ECHOIC_ORT_LIBRARY"}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(REPO / "sdk")])
    r = subprocess.run(
        [sys.executable, "-c", "import echoic,json;print(json.dumps(echoic.ort_library_info()))"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert r.returncode == 0, r.stderr
    import json

    info = json.loads(r.stdout)
    assert info["resolved_by"] == "python-package"
    assert info["path"].startswith(str(site / "onnxruntime" / "capi"))


def test_cli_info_prints_onnxruntime():
    r = subprocess.run([sys.executable, "-m", "echoic", "info"], capture_output=True, text=True, check=True)
    info = echoic.ort_library_info()
    assert f"onnxruntime: {info['version']}" in r.stdout
    assert info["path"] in r.stdout
    assert "resolved by:" in r.stdout
