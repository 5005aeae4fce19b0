"""Hostile files and arguments (issue 21): typed errors, never crashes or untyped exceptions."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import echoic
from echoic import _native

REPO = Path(__file__).resolve().parents[2]
WENET = REPO / "tests" / "data" / "asr-random-wenet"
TRANSDUCER = REPO / "tests" / "data" / "asr-random-transducer"


def _with_metadata(src: Path, dst: Path, file: str, **values: str) -> Path:
    onnx = pytest.importorskip("onnx")
    shutil.copytree(src, dst)
    proto = onnx.load(str(dst / file))
    props = {p.key: p.value for p in proto.metadata_props}
    props.update(values)
    del proto.metadata_props[:]
    for k, v in props.items():
        proto.metadata_props.add(key=k, value=v)
    onnx.save(proto, str(dst / file))
    return dst


@pytest.mark.parametrize(
    "key,value",
    [("right_context", "10000000"), ("right_context", "2147483647"), ("chunk_size", "2147483647"),
     ("num_left_chunks", "100000"), ("num_blocks", "3"), ("output_size", "128"), ("vocab_size", "30"),
     ("cnn_module_kernel", "9"), ("head", "1000000"), ("sample_rate", "5"), ("blank_id", "29")],
)
def test_streaming_ctc_metadata_out_of_range_or_off_shape_is_a_model_error(tmp_path, key, value):
    d = _with_metadata(WENET, tmp_path / "m", "model.onnx", **{key: value})
    with pytest.raises(echoic.ModelError, match=key):
        echoic.Recognizer(d)


@pytest.mark.parametrize("key,value", [("T", "2147483647"), ("num_encoder_layers", "100000"),
                                       ("decode_chunk_len", "-4"), ("sample_rate", "999999999")])
def test_streaming_transducer_metadata_out_of_range_is_a_model_error(tmp_path, key, value):
    d = _with_metadata(TRANSDUCER, tmp_path / "t", "encoder.onnx", **{key: value})
    with pytest.raises(echoic.ModelError, match=key):
        echoic.Recognizer(d)


def test_error_messages_with_non_utf8_bytes_keep_their_type():
    with pytest.raises(echoic.CorruptDataError, match=r"\\xff"):
        _native._raise_for_test(3, b"bad byte \xff in 'lm.arpa'")


def test_arpa_with_a_0xff_byte_is_corrupt_data_not_unicode_error(tmp_path):
    arpa = tmp_path / "bad.arpa"
    arpa.write_bytes(b"\\data\\\nngram 1=1\n\n\\1-grams:\n\xff-1.0\tcat\n\\end\\\n")
    with pytest.raises(echoic.CorruptDataError):
        echoic.Recognizer(WENET, lm=str(arpa), decoding="beam")


def test_thread_count_is_bounded():
    limit = max(64, 4 * (os.cpu_count() or 1))
    with pytest.raises(echoic.InvalidArgumentError, match="thread"):
        echoic.Recognizer(WENET, threads=100000)
    with pytest.raises(echoic.InvalidArgumentError, match="thread"):
        echoic.Recognizer(WENET, threads=limit * 4 + 1)


def test_non_utf8_labels_are_refused_through_the_c_api(tmp_path):
    cffi = pytest.importorskip("cffi")
    from test_c_api_recognizer import header_cdef  # the shipped echoic.h, not a hand copy

    ffi = cffi.FFI()
    ffi.cdef(header_cdef())
    lib = ffi.dlopen(echoic.c_library_path())
    opts = ffi.new("echoic_index_options*")
    lib.echoic_index_options_init(opts, 8)
    enc = ffi.new("char[]", b"flat")
    opts.encoding = enc
    h = ffi.new("echoic_index**")
    path = ffi.new("char[]", str(tmp_path / "u.idx").encode())
    assert lib.echoic_index_create(path, opts, h) == 0
    v = np.ones(8, np.float32)
    vp = ffi.cast("const float*", v.ctypes.data)
    bad = ffi.new("char[]", b"caf\xe9")
    labels = ffi.new("const char*[]", [bad])
    good_ns = ffi.new("char[]", b"default")
    assert lib.echoic_index_add(h[0], vp, 1, ffi.NULL, labels, good_ns, ffi.NULL) == 1  # invalid argument
    assert lib.echoic_index_add(h[0], vp, 1, ffi.NULL, ffi.NULL, bad, ffi.NULL) == 1
    lib.echoic_index_free(h[0])
    # Python sees the index without a UnicodeDecodeError anywhere.
    with echoic.EmbeddingIndex.open(tmp_path / "u.idx") as ix:
        assert len(ix) == 0 and ix.namespaces() in ([], ["default"])
