"""The C API of the features capability through cffi (ABI mode, no compiler)."""
from pathlib import Path

import numpy as np
import pytest

from echoic import features

cffi = pytest.importorskip("cffi")
from c_api_helpers import open_c_api  # noqa: E402  (after the cffi skip)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lib():
    return open_c_api()


def _floats(ffi, x):
    return ffi.cast("const float*", ffi.from_buffer(x))


def test_fbank_matches_python(lib):
    ffi, L = lib
    opts = ffi.new("echoic_fbank_config*")
    L.echoic_fbank_config_default(opts)
    assert opts.num_bins == 80 and ffi.string(opts.window_type) == b"povey"
    f = ffi.new("echoic_fbank**")
    assert L.echoic_fbank_create(opts, f) == 0
    try:
        x = (np.random.RandomState(0).randn(16000) * 1000).astype(np.float32)
        for i in range(0, len(x), 333):
            chunk = np.ascontiguousarray(x[i:i + 333])
            assert L.echoic_fbank_accept_waveform(f[0], _floats(ffi, chunk), len(chunk)) == 0
        assert L.echoic_fbank_input_finished(f[0]) == 0
        n = ffi.new("int32_t*")
        dim = ffi.new("int32_t*")
        assert L.echoic_fbank_num_frames_ready(f[0], n) == 0 and n[0] == 100
        assert L.echoic_fbank_dim(f[0], dim) == 0 and dim[0] == 80
        out = np.zeros((n[0], dim[0]), np.float32)
        buf = ffi.cast("float*", ffi.from_buffer(out))
        assert L.echoic_fbank_get_frames(f[0], 0, n[0], buf, out.size) == 0
        assert np.array_equal(out, features.compute_fbank(x))
        # Too small an output buffer is an invalid argument, with a message.
        assert L.echoic_fbank_get_frames(f[0], 0, n[0], buf, out.size - 1) == 1
        assert b"out_len" in ffi.string(L.echoic_last_error())
        bad = np.array([0, np.nan], np.float32)
        assert L.echoic_fbank_accept_waveform(f[0], _floats(ffi, bad), 2) in (1, 8)
    finally:
        L.echoic_fbank_free(f[0])
    opts.num_bins = 0
    assert L.echoic_fbank_create(opts, f) == 1
    assert b"num_bins" in ffi.string(L.echoic_last_error())
    assert L.echoic_fbank_create(ffi.NULL, f) == 1
    assert b"echoic_fbank_create" in ffi.string(L.echoic_last_error())
    L.echoic_fbank_free(ffi.NULL)


def test_nan_rejected_by_fresh_stream(lib):
    ffi, L = lib
    opts = ffi.new("echoic_fbank_config*")
    L.echoic_fbank_config_default(opts)
    f = ffi.new("echoic_fbank**")
    assert L.echoic_fbank_create(opts, f) == 0
    bad = np.zeros(800, np.float32)
    bad[500] = np.inf
    assert L.echoic_fbank_accept_waveform(f[0], _floats(ffi, bad), 800) == 1
    assert b"sample 500" in ffi.string(L.echoic_last_error())
    n = ffi.new("int32_t*")
    L.echoic_fbank_num_frames_ready(f[0], n)
    assert n[0] == 0
    L.echoic_fbank_free(f[0])


def test_resampler(lib):
    ffi, L = lib
    r = ffi.new("echoic_resampler**")
    assert L.echoic_resampler_create(48000, 16000, r) == 0
    x = np.sin(2 * np.pi * 1000 * np.arange(48000) / 48000).astype(np.float32)
    assert L.echoic_resampler_process(r[0], _floats(ffi, x), len(x)) == 0
    assert L.echoic_resampler_flush(r[0]) == 0
    avail = ffi.new("size_t*")
    L.echoic_resampler_available(r[0], avail)
    assert avail[0] == 16000
    out = np.zeros(16000, np.float32)
    written = ffi.new("size_t*")
    assert L.echoic_resampler_read(r[0], ffi.cast("float*", ffi.from_buffer(out)), 16000, written) == 0
    assert written[0] == 16000
    assert np.array_equal(out, features.resample(x, 48000, 16000))
    L.echoic_resampler_free(r[0])
    assert L.echoic_resampler_create(4000, 16000, r) == 1
    assert b"4000" in ffi.string(L.echoic_last_error())
