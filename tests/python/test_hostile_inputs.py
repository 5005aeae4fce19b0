"""Hostile files and arguments (issue 21): typed errors, never crashes or untyped exceptions."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
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
    from c_api_helpers import header_cdef  # the shipped echoic.h, not a hand copy

    ffi = cffi.FFI()
    ffi.cdef(header_cdef())
    lib = ffi.dlopen(echoic.c_library_path())
    opts = ffi.new("echoic_index_config*")
    lib.echoic_index_config_default(opts, 8)
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


# ---- C API handles: freed, double-freed, wrong-type and garbage handles ------------------
# Each scenario runs in a child process (this file run as a script), since before handles
# were checked these calls crashed the host with SIGSEGV or a double-free abort.

KWS_MODEL = REPO / "sdk" / "echoic" / "models" / "echoic-kws-en" / "model.onnx"
SPEAKER_MODEL = REPO / "sdk" / "echoic" / "models" / "speaker-dvector" / "embedder.int8.onnx"


class _CApi:
    def __init__(self) -> None:
        import cffi
        from c_api_helpers import header_cdef  # the shipped echoic.h

        self.ffi = cffi.FFI()
        self.ffi.cdef(header_cdef())
        self.lib = self.ffi.dlopen(echoic.c_library_path())
        self.keep: list = []  # cffi buffers the library still points into

    def ok(self, status: int) -> None:
        assert status == self.lib.ECHOIC_OK, self.ffi.string(self.lib.echoic_last_error()).decode()

    def refused(self, status, *words: str) -> None:
        """Invalid argument, and the message contains every word (the handle types, 'freed', ...)."""
        msg = self.ffi.string(self.lib.echoic_last_error()).decode()
        if status is not None:
            assert status == self.lib.ECHOIC_ERR_INVALID_ARGUMENT, (status, msg)
        for w in words:
            assert w in msg, (w, msg)

    def cstr(self, text: str):
        b = self.ffi.new("char[]", text.encode())
        self.keep.append(b)
        return b

    def floats(self, x: np.ndarray):
        self.keep.append(x)
        return self.ffi.cast("const float*", x.ctypes.data)


def _scenario_recognizer(c: _CApi, tmp: Path) -> None:
    ffi, lib = c.ffi, c.lib
    cfg = ffi.new("echoic_recognizer_config*")
    lib.echoic_recognizer_config_default(cfg)
    cfg.model = c.cstr(str(WENET))
    out_r, out_s, out_res = ffi.new("echoic_recognizer**"), ffi.new("echoic_stream**"), ffi.new("echoic_result**")
    c.ok(lib.echoic_recognizer_create(cfg, out_r))
    r = out_r[0]
    c.ok(lib.echoic_stream_create(r, ffi.NULL, out_s))
    s = out_s[0]
    x = c.floats(np.zeros(1600, np.float32))
    flag = ffi.new("int32_t*")
    c.ok(lib.echoic_stream_accept_waveform(s, 16000, x, 1600))
    c.ok(lib.echoic_recognizer_get_partial(r, s, out_res))
    res = out_res[0]

    # Wrong types (a cast in C); the real handles still work afterwards.
    c.refused(lib.echoic_stream_create(ffi.cast("echoic_recognizer*", s), ffi.NULL, out_s),
              "echoic_stream handle, not an echoic_recognizer")
    c.refused(lib.echoic_stream_accept_waveform(ffi.cast("echoic_stream*", r), 16000, x, 1600),
              "echoic_recognizer handle, not an echoic_stream")
    c.refused(lib.echoic_recognizer_is_ready(r, ffi.cast("echoic_stream*", res), flag),
              "echoic_result handle, not an echoic_stream")
    wrong = ffi.new("echoic_stream*[2]", [s, ffi.cast("echoic_stream*", r)])
    c.refused(lib.echoic_recognizer_decode(r, wrong, 2), "streams[1]", "echoic_recognizer handle")
    c.refused(lib.echoic_stream_free(ffi.cast("echoic_stream*", r)), "echoic_stream_free", "nothing was freed")
    text = ffi.new("const char**")
    c.refused(lib.echoic_result_text(ffi.cast("echoic_result*", s), text), "echoic_stream handle, not an echoic_result")
    c.ok(lib.echoic_recognizer_is_ready(r, s, flag))

    # Result: use after free, double free.
    c.ok(lib.echoic_result_free(res))
    c.refused(lib.echoic_result_text(res, text), "echoic_result", "already freed")
    c.refused(lib.echoic_result_segment(res, ffi.new("int32_t*")), "echoic_result", "already freed")
    c.refused(lib.echoic_result_num_words(res, ffi.new("size_t*")), "echoic_result", "already freed")
    c.refused(lib.echoic_result_word(res, 0, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL), "echoic_result")
    c.refused(lib.echoic_result_free(res), "echoic_result_free", "already freed")

    # Stream: every call after free, then a second free.
    c.ok(lib.echoic_stream_free(s))
    c.refused(lib.echoic_stream_accept_waveform(s, 16000, x, 1600), "echoic_stream", "already freed")
    c.refused(lib.echoic_stream_input_finished(s), "echoic_stream")
    c.refused(lib.echoic_stream_pop_final(s, out_res), "echoic_stream")
    c.refused(lib.echoic_recognizer_is_ready(r, s, flag), "argument 's'", "echoic_stream")
    c.refused(lib.echoic_recognizer_is_done(r, s, flag), "echoic_stream")
    c.refused(lib.echoic_recognizer_get_partial(r, s, out_res), "echoic_stream")
    c.refused(lib.echoic_recognizer_decode(r, ffi.new("echoic_stream*[1]", [s]), 1), "streams[0]", "echoic_stream")
    c.refused(lib.echoic_stream_free(s), "echoic_stream_free", "already freed")

    # Recognizer.
    c.ok(lib.echoic_recognizer_free(r))
    c.refused(lib.echoic_stream_create(r, ffi.NULL, out_s), "echoic_recognizer", "already freed")
    c.refused(lib.echoic_recognizer_decode(r, ffi.NULL, 0), "echoic_recognizer")
    c.refused(lib.echoic_recognizer_free(r), "echoic_recognizer_free", "already freed")
    c.ok(lib.echoic_recognizer_free(ffi.NULL))  # NULL stays a no-op


def _scenario_adaptive(c: _CApi, tmp: Path) -> None:
    ffi, lib = c.ffi, c.lib
    cfg = ffi.new("echoic_adaptive_config*")
    lib.echoic_adaptive_config_default(cfg)
    tiers = ffi.new("const char*[1]", [c.cstr(str(WENET))])
    cfg.tier_models, cfg.num_tiers, cfg.poll_interval_ms = tiers, 1, 0
    h, hs = ffi.new("echoic_adaptive**"), ffi.new("echoic_adaptive_stream**")
    c.ok(lib.echoic_adaptive_create(cfg, h))
    a = h[0]
    c.ok(lib.echoic_adaptive_stream_create(a, ffi.NULL, hs))
    s = hs[0]
    flag = ffi.new("int32_t*")
    c.refused(lib.echoic_adaptive_is_ready(ffi.cast("echoic_adaptive*", s), s, flag),
              "echoic_adaptive_stream handle, not an echoic_adaptive")
    c.ok(lib.echoic_adaptive_stream_free(s))
    c.refused(lib.echoic_adaptive_stream_input_finished(s), "echoic_adaptive_stream", "already freed")
    c.refused(lib.echoic_adaptive_decode(a, ffi.new("echoic_adaptive_stream*[1]", [s]), 1), "streams[0]")
    c.refused(lib.echoic_adaptive_stream_free(s), "echoic_adaptive_stream_free", "already freed")
    c.ok(lib.echoic_adaptive_free(a))
    c.refused(lib.echoic_adaptive_signal_pressure(a, 0), "echoic_adaptive", "already freed")
    c.refused(lib.echoic_adaptive_free(a), "echoic_adaptive_free", "already freed")


def _scenario_index(c: _CApi, tmp: Path) -> None:
    ffi, lib = c.ffi, c.lib
    opts = ffi.new("echoic_index_config*")
    lib.echoic_index_config_default(opts, 8)
    opts.encoding = c.cstr("flat")
    h = ffi.new("echoic_index**")
    c.ok(lib.echoic_index_create(c.cstr(str(tmp / "h.idx")), opts, h))
    ix = h[0]
    v = c.floats(np.ones(8, np.float32))
    n = ffi.new("size_t*")
    c.ok(lib.echoic_index_add(ix, v, 1, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL))
    c.ok(lib.echoic_index_size(ix, n))
    assert n[0] == 1
    c.ok(lib.echoic_index_free(ix))
    c.refused(lib.echoic_index_size(ix, n), "echoic_index", "already freed")
    scores, ids = ffi.new("float[1]"), ffi.new("int64_t[1]")
    c.refused(lib.echoic_index_search(ix, v, 1, 1, ffi.NULL, 0, 0, scores, ids), "echoic_index")
    c.refused(lib.echoic_index_add(ix, v, 1, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL), "echoic_index")
    c.refused(lib.echoic_index_save(ix), "echoic_index")
    c.refused(lib.echoic_index_entries(ix, ffi.NULL, ffi.NULL, 0, n), "echoic_index")
    c.refused(lib.echoic_index_free(ix), "echoic_index_free", "already freed")
    # The data written before the free is intact (the refused calls changed nothing).
    c.ok(lib.echoic_index_open(c.cstr(str(tmp / "h.idx")), 0, h))
    c.ok(lib.echoic_index_size(h[0], n))
    assert n[0] == 1
    c.ok(lib.echoic_index_free(h[0]))


def _scenario_kws(c: _CApi, tmp: Path) -> None:
    ffi, lib = c.ffi, c.lib
    cfg = ffi.new("echoic_kws_config*")
    lib.echoic_kws_config_default(cfg)
    cfg.model = c.cstr(str(KWS_MODEL))
    h = ffi.new("echoic_kws**")
    c.ok(lib.echoic_kws_create(cfg, h))
    k = h[0]
    n = ffi.new("int32_t*")
    c.ok(lib.echoic_kws_num_keywords(k, n))
    keyword = ffi.new("const char**")
    c.ok(lib.echoic_kws_keyword(k, 0, keyword))
    assert ffi.string(keyword[0]) == b"porcupine"
    c.ok(lib.echoic_kws_free(k))
    c.refused(lib.echoic_kws_num_keywords(k, n), "echoic_kws", "already freed")
    c.refused(lib.echoic_kws_keyword(k, 0, keyword), "echoic_kws")
    x = c.floats(np.zeros(1600, np.float32))
    c.refused(lib.echoic_kws_accept_waveform(k, x, 1600), "echoic_kws")
    c.refused(lib.echoic_kws_reset(k), "echoic_kws")
    c.refused(lib.echoic_kws_free(k), "echoic_kws_free", "already freed")


def _scenario_speaker(c: _CApi, tmp: Path) -> None:
    ffi, lib = c.ffi, c.lib
    h = ffi.new("echoic_speaker_model**")
    c.ok(lib.echoic_speaker_model_create(c.cstr(str(SPEAKER_MODEL)), 1, h))
    m = h[0]
    dim = ffi.new("size_t*")
    c.ok(lib.echoic_speaker_model_dim(m, dim))
    c.ok(lib.echoic_speaker_model_free(m))
    c.refused(lib.echoic_speaker_model_dim(m, dim), "echoic_speaker_model", "already freed")
    x = c.floats(np.zeros(16000, np.float32))
    out = ffi.new("float[256]")
    c.refused(lib.echoic_speaker_embed(m, x, 16000, out, 256), "echoic_speaker_model")
    c.refused(lib.echoic_speaker_model_free(m), "echoic_speaker_model_free", "already freed")


def _scenario_features_and_session(c: _CApi, tmp: Path) -> None:
    ffi, lib = c.ffi, c.lib
    opts = ffi.new("echoic_fbank_config*")
    lib.echoic_fbank_config_default(opts)
    f, r, sess = ffi.new("echoic_fbank**"), ffi.new("echoic_resampler**"), ffi.new("echoic_session**")
    c.ok(lib.echoic_fbank_create(opts, f))
    c.ok(lib.echoic_resampler_create(16000, 8000, r))
    c.ok(lib.echoic_session_create(c.cstr(str(REPO / "tests" / "data" / "linear.onnx")), ffi.NULL, sess))
    i32, n = ffi.new("int32_t*"), ffi.new("size_t*")
    c.refused(lib.echoic_fbank_dim(ffi.cast("echoic_fbank*", r[0]), i32),
              "echoic_resampler handle, not an echoic_fbank")
    for handle, free, use, name in [
        (f[0], lib.echoic_fbank_free, lambda h: lib.echoic_fbank_dim(h, i32), "echoic_fbank"),
        (r[0], lib.echoic_resampler_free, lambda h: lib.echoic_resampler_available(h, n), "echoic_resampler"),
        (sess[0], lib.echoic_session_free, lambda h: lib.echoic_session_num_inputs(h, n), "echoic_session"),
    ]:
        c.ok(use(handle))
        c.ok(free(handle))
        c.refused(use(handle), name, "already freed")
        c.refused(free(handle), name + "_free", "already freed")


def _scenario_garbage(c: _CApi, tmp: Path) -> None:
    """Pointers echoic never returned: random heap bytes, an interior pointer, a small integer."""
    ffi, lib = c.ffi, c.lib
    junk = ffi.new("char[]", np.random.default_rng(21).bytes(4096))
    before = bytes(ffi.buffer(junk))
    i32, n = ffi.new("int32_t*"), ffi.new("size_t*")
    x = c.floats(np.zeros(160, np.float32))
    calls = {
        "echoic_session": (lambda h: lib.echoic_session_num_inputs(h, n), lib.echoic_session_free),
        "echoic_fbank": (lambda h: lib.echoic_fbank_accept_waveform(h, x, 160), lib.echoic_fbank_free),
        "echoic_resampler": (lambda h: lib.echoic_resampler_available(h, n), lib.echoic_resampler_free),
        "echoic_recognizer": (lambda h: lib.echoic_recognizer_decode(h, ffi.NULL, 0), lib.echoic_recognizer_free),
        "echoic_stream": (lambda h: lib.echoic_stream_accept_waveform(h, 16000, x, 160), lib.echoic_stream_free),
        "echoic_result": (lambda h: lib.echoic_result_word(h, 0, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL),
                          lib.echoic_result_free),
        "echoic_index": (lambda h: lib.echoic_index_size(h, n), lib.echoic_index_free),
        "echoic_adaptive": (lambda h: lib.echoic_adaptive_signal_pressure(h, 0), lib.echoic_adaptive_free),
        "echoic_adaptive_stream": (lambda h: lib.echoic_adaptive_stream_input_finished(h),
                                   lib.echoic_adaptive_stream_free),
        "echoic_speaker_model": (lambda h: lib.echoic_speaker_model_dim(h, n), lib.echoic_speaker_model_free),
        "echoic_kws": (lambda h: lib.echoic_kws_num_keywords(h, i32), lib.echoic_kws_free),
    }
    for address in (junk, junk + 16, ffi.cast("void*", 8)):
        for name, (use, free) in calls.items():
            h = ffi.cast(name + "*", address)
            c.refused(use(h), f"is not a live {name} handle")
            c.refused(free(h), name + "_free", "nothing was freed")
    c.refused(lib.echoic_result_text(ffi.cast("echoic_result*", junk), ffi.new("const char**")), "echoic_result")
    assert bytes(ffi.buffer(junk)) == before  # nothing was written through the pointer


_HANDLE_SCENARIOS = {
    "recognizer": _scenario_recognizer,
    "adaptive": _scenario_adaptive,
    "index": _scenario_index,
    "kws": _scenario_kws,
    "speaker": _scenario_speaker,
    "features_and_session": _scenario_features_and_session,
    "garbage": _scenario_garbage,
}


@pytest.mark.parametrize("scenario", sorted(_HANDLE_SCENARIOS))
def test_c_api_refuses_freed_wrong_type_and_garbage_handles(scenario, tmp_path):
    pytest.importorskip("cffi")
    p = subprocess.run([sys.executable, __file__, scenario, str(tmp_path)], capture_output=True, text=True,
                       timeout=300, cwd=Path(__file__).parent)
    assert p.returncode == 0, f"{scenario}: exit {p.returncode} (negative = killed by that signal)\n{p.stderr[-3000:]}"


if __name__ == "__main__":  # a child of the test above
    _HANDLE_SCENARIOS[sys.argv[1]](_CApi(), Path(sys.argv[2]))
