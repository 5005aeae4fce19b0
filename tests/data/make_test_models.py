"""Generates the tiny ONNX models checked in next to this script (used by the C++
tests, which cannot build models themselves). Run: python3 tests/data/make_test_models.py

  linear.onnx    Y[N,2] = X[N,3] @ W + b, with W and b below (fixed so tests can check numbers)
  add_meta.onnx  C[2] = A[2] + B[2], custom metadata: model_type=test-add, sample_rate=16000, bad_int=12a
"""
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
OPSET = [helper.make_opsetid("", 13)]
IR_VERSION = 8  # readable by ORT >= 1.10

W = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=np.float32)
B = np.array([0.5, -1.0], dtype=np.float32)


def linear() -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["XW"]), helper.make_node("Add", ["XW", "b"], ["Y"])],
        "linear",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", 2])],
        initializer=[numpy_helper.from_array(W, "W"), numpy_helper.from_array(B, "b")],
    )
    return helper.make_model(graph, opset_imports=OPSET, ir_version=IR_VERSION, producer_name="echoic-tests")


def add_meta() -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Add", ["A", "B"], ["C"])],
        "add_meta",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [2]),
         helper.make_tensor_value_info("B", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("C", TensorProto.FLOAT, [2])],
    )
    model = helper.make_model(graph, opset_imports=OPSET, ir_version=IR_VERSION, producer_name="echoic-tests")
    helper.set_model_props(model, {"model_type": "test-add", "sample_rate": "16000", "bad_int": "12a"})
    return model


def main() -> None:
    for name, build in (("linear.onnx", linear), ("add_meta.onnx", add_meta)):
        model = build()
        onnx.checker.check_model(model)
        data = model.SerializeToString()
        assert len(data) < 10_000, f"{name} is {len(data)} bytes; test models must stay under 10 KB"
        (HERE / name).write_bytes(data)
        print(f"wrote {HERE / name} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
