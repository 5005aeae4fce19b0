"""The recognizer through the C API, declared from the shipped echoic.h and called via cffi (ABI mode)."""
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import echoic

cffi = pytest.importorskip("cffi")
from c_api_helpers import get, get_str, open_c_api  # noqa: E402  (after the cffi skip)

TEST_MODEL = Path(__file__).resolve().parents[1] / "data" / "asr-random-wenet"


@pytest.fixture(scope="module")
def c():
    return open_c_api()


def decode_file(ffi, lib, rec, path, chunk):
    x, sr = sf.read(path, dtype="float32")
    s = ffi.new("echoic_stream**")
    assert lib.echoic_stream_create(rec, ffi.NULL, s) == lib.ECHOIC_OK
    stream = s[0]
    streams = ffi.new("echoic_stream*[1]", [stream])
    ready = ffi.new("int32_t*")
    texts = []
    for i in range(0, len(x), chunk):
        part = np.ascontiguousarray(x[i : i + chunk])
        assert lib.echoic_stream_accept_waveform(stream, sr, ffi.cast("const float*", part.ctypes.data), len(part)) == 0
        while lib.echoic_recognizer_is_ready(rec, stream, ready) == 0 and ready[0]:
            assert lib.echoic_recognizer_decode(rec, streams, 1) == 0
    assert lib.echoic_stream_input_finished(stream) == 0
    done = ffi.new("int32_t*")
    while lib.echoic_recognizer_is_done(rec, stream, done) == 0 and not done[0]:
        assert lib.echoic_recognizer_decode(rec, streams, 1) == 0
    res = ffi.new("echoic_result**")
    words = []
    while True:
        assert lib.echoic_stream_pop_final(stream, res) == 0
        if res[0] == ffi.NULL:
            break
        assert get(ffi, lib.echoic_result_is_final, res[0], ctype="int32_t") == 1
        texts.append(get_str(ffi, lib.echoic_result_text, res[0]))
        w, a, b, conf = ffi.new("const char**"), ffi.new("float*"), ffi.new("float*"), ffi.new("float*")
        for k in range(get(ffi, lib.echoic_result_num_words, res[0], ctype="size_t")):
            assert lib.echoic_result_word(res[0], k, w, a, b, conf) == 0
            words.append((ffi.string(w[0]).decode(), round(a[0], 3), round(b[0], 3)))
        lib.echoic_result_free(res[0])
    lib.echoic_stream_free(stream)
    return " ".join(t for t in texts if t), words


def create_recognizer(ffi, lib, model):
    """A recognizer with the default config for `model` (a path); the handle, checked."""
    cfg = ffi.new("echoic_recognizer_config*")
    lib.echoic_recognizer_config_default(cfg)
    path = ffi.new("char[]", str(model).encode())
    cfg.model = path
    rec = ffi.new("echoic_recognizer**")
    assert lib.echoic_recognizer_create(cfg, rec) == lib.ECHOIC_OK, ffi.string(lib.echoic_last_error())
    return rec[0]


def test_c_api_matches_python(c, speech_dev):
    ffi, lib = c
    cfg = ffi.new("echoic_recognizer_config*")
    lib.echoic_recognizer_config_default(cfg)
    model = ffi.new("char[]", str(TEST_MODEL / "model.onnx").encode())
    cfg.model = model
    cfg.enable_endpoint = 0
    rec = ffi.new("echoic_recognizer**")
    assert lib.echoic_recognizer_create(cfg, rec) == lib.ECHOIC_OK, ffi.string(lib.echoic_last_error())
    clip = speech_dev / "pocketsphinx-goforward__goforward.wav"
    text, words = decode_file(ffi, lib, rec[0], clip, 1234)
    ref = echoic.Recognizer(TEST_MODEL, endpoint=False).transcribe(clip)
    assert text == ref.text and text
    assert words == [(w.word, round(w.start, 3), round(w.end, 3)) for w in ref.words]
    lib.echoic_recognizer_free(rec[0])


def test_c_api_misuse_gets_codes_not_crashes(c, tmp_path):
    ffi, lib = c
    rec = ffi.new("echoic_recognizer**")
    assert lib.echoic_recognizer_create(ffi.NULL, rec) == lib.ECHOIC_ERR_INVALID_ARGUMENT
    assert "NULL" in ffi.string(lib.echoic_last_error()).decode()
    cfg = ffi.new("echoic_recognizer_config*")
    lib.echoic_recognizer_config_default(cfg)
    assert lib.echoic_recognizer_create(cfg, rec) == lib.ECHOIC_ERR_INVALID_ARGUMENT  # model is NULL
    missing = ffi.new("char[]", str(tmp_path / "nope.onnx").encode())
    cfg.model = missing
    assert lib.echoic_recognizer_create(cfg, rec) == lib.ECHOIC_ERR_IO
    assert "nope.onnx" in ffi.string(lib.echoic_last_error()).decode()
    model = ffi.new("char[]", str(TEST_MODEL / "model.onnx").encode())
    cfg.model = model
    bad_method = ffi.new("char[]", b"viterbi")
    cfg.decoding_method = bad_method
    assert lib.echoic_recognizer_create(cfg, rec) == lib.ECHOIC_ERR_INVALID_ARGUMENT
    cfg.decoding_method = ffi.NULL
    assert lib.echoic_recognizer_create(cfg, rec) == lib.ECHOIC_OK
    s = ffi.new("echoic_stream**")
    assert lib.echoic_stream_create(rec[0], ffi.NULL, s) == 0
    x = np.array([0.1, float("nan"), 0.2], dtype=np.float32)
    assert lib.echoic_stream_accept_waveform(s[0], 16000, ffi.cast("const float*", x.ctypes.data), 3) == \
        lib.ECHOIC_ERR_INVALID_ARGUMENT
    assert lib.echoic_stream_accept_waveform(s[0], 4000, ffi.cast("const float*", x.ctypes.data), 1) == \
        lib.ECHOIC_ERR_INVALID_ARGUMENT
    assert lib.echoic_stream_accept_waveform(s[0], 16000, ffi.NULL, 5) == lib.ECHOIC_ERR_INVALID_ARGUMENT
    both = ffi.new("echoic_stream*[2]", [s[0], s[0]])
    assert lib.echoic_recognizer_decode(rec[0], both, 2) == lib.ECHOIC_ERR_INVALID_ARGUMENT  # same stream twice
    assert lib.echoic_stream_input_finished(s[0]) == 0
    assert lib.echoic_stream_accept_waveform(s[0], 16000, ffi.cast("const float*", x.ctypes.data), 1) == \
        lib.ECHOIC_ERR_STATE
    res = ffi.new("echoic_result**")
    assert lib.echoic_recognizer_get_partial(rec[0], s[0], res) == 0
    assert lib.echoic_result_word(res[0], 99, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL) == lib.ECHOIC_ERR_INVALID_ARGUMENT
    lib.echoic_result_free(res[0])
    lib.echoic_stream_free(s[0])
    lib.echoic_stream_free(ffi.NULL)
    lib.echoic_result_free(ffi.NULL)
    lib.echoic_recognizer_free(rec[0])
    lib.echoic_recognizer_free(ffi.NULL)


def _create(ffi, lib, model_path, keep):
    """A recognizer with the C defaults for `model_path`, endpointing off; `keep` holds the
    cdata that must outlive the call."""
    cfg = ffi.new("echoic_recognizer_config*")
    lib.echoic_recognizer_config_default(cfg)
    keep.append(ffi.new("char[]", str(model_path).encode()))
    cfg.model = keep[-1]
    cfg.enable_endpoint = 0
    rec = ffi.new("echoic_recognizer**")
    assert lib.echoic_recognizer_create(cfg, rec) == lib.ECHOIC_OK, ffi.string(lib.echoic_last_error())
    return cfg, rec


def test_c_api_runs_a_transducer_folder(c, speech_dev):
    ffi, lib = c
    folder = TEST_MODEL.parent / "asr-random-transducer"
    _, rec = _create(ffi, lib, folder, keep := [])
    clip = speech_dev / "pocketsphinx-goforward__goforward.wav"
    text, words = decode_file(ffi, lib, rec[0], clip, 777)
    ref = echoic.Recognizer(folder, endpoint=False).transcribe(clip)
    assert text == ref.text and text
    assert words == [(w.word, round(w.start, 3), round(w.end, 3)) for w in ref.words]
    lib.echoic_recognizer_free(rec[0])


def test_c_api_word_lm_defaults_and_errors(c, speech_dev, tmp_path):
    """The C defaults decode the bundled model with its lm.arpa, as Python does; a bad LM
    file is a typed error code."""
    ffi, lib = c
    small = echoic.registry.resolve_model(echoic.registry.DEFAULT_MODEL)[0].parent
    cfg, rec = _create(ffi, lib, small, keep := [])
    assert ffi.string(cfg.decoding_method) == b"auto" and ffi.string(cfg.lm) == b"auto" and cfg.beam_size == 0
    assert (cfg.lm_scale, cfg.word_bonus) == pytest.approx((0.8, 3.0))
    clip = speech_dev / "ljspeech__LJ001-0002.wav"
    text, _ = decode_file(ffi, lib, rec[0], clip, 1600)
    assert text and text == echoic.Recognizer(small, endpoint=False).transcribe(clip).text
    lib.echoic_recognizer_free(rec[0])
    bad = tmp_path / "bad.arpa"
    bad.write_text("\\data\\\nngram 1=1\n\\1-grams:\n-1.0 yes\n")  # no \end\ line
    path = ffi.new("char[]", str(bad).encode())
    cfg.lm = path
    assert lib.echoic_recognizer_create(cfg, rec) == lib.ECHOIC_ERR_CORRUPT_DATA
    assert "bad.arpa" in ffi.string(lib.echoic_last_error()).decode()


def test_c_api_runs_whisper_like_python(c, speech_dev, whisper_dir):
    ffi, lib = c
    rec = create_recognizer(ffi, lib, whisper_dir)
    clip = speech_dev / "pocketsphinx-goforward__goforward.wav"
    text, words = decode_file(ffi, lib, rec, clip, 1600)
    ref = echoic.Recognizer(whisper_dir).transcribe(clip)
    assert text == ref.text and "forward" in text.lower()
    assert words == [(w.word, round(w.start, 3), round(w.end, 3)) for w in ref.words]
    lib.echoic_recognizer_free(rec)


def test_c_api_hotwords_use_the_one_grammar(c):
    """Comments, ' :' boosts and 'Go Forward!' are accepted as by the CLI and Python (issue #20 item 3)."""
    ffi, lib = c
    rec = ffi.new("echoic_recognizer**", create_recognizer(ffi, lib, TEST_MODEL / "model.onnx"))
    s = ffi.new("echoic_stream**")
    good = ffi.new("char[]", b"# a comment\nGo Forward!\nopen sesame :2.5\n")
    assert lib.echoic_stream_create(rec[0], good, s) == lib.ECHOIC_OK, ffi.string(lib.echoic_last_error())
    lib.echoic_stream_free(s[0])
    bad = ffi.new("char[]", b"fine\nforward :lots\n")
    assert lib.echoic_stream_create(rec[0], bad, s) == lib.ECHOIC_ERR_INVALID_ARGUMENT
    assert "line 2" in ffi.string(lib.echoic_last_error()).decode()
    lib.echoic_recognizer_free(rec[0])


def test_c_api_refuses_a_stream_of_another_recognizer(c):
    ffi, lib = c
    a, b = (create_recognizer(ffi, lib, TEST_MODEL / "model.onnx") for _ in range(2))
    s = ffi.new("echoic_stream**")
    assert lib.echoic_stream_create(a, ffi.NULL, s) == 0
    streams = ffi.new("echoic_stream*[1]", [s[0]])
    assert lib.echoic_recognizer_decode(b, streams, 1) == lib.ECHOIC_ERR_INVALID_ARGUMENT
    assert "another recognizer" in ffi.string(lib.echoic_last_error()).decode()
    assert lib.echoic_recognizer_decode(a, streams, 1) == lib.ECHOIC_OK
    lib.echoic_stream_free(s[0])
    lib.echoic_recognizer_free(a)
    lib.echoic_recognizer_free(b)


def test_c_api_nbest_alternatives_match_python(c, speech_dev):
    ffi, lib = c
    clip = speech_dev / "ljspeech__LJ001-0001.wav"
    cfg = ffi.new("echoic_recognizer_config*")
    lib.echoic_recognizer_config_default(cfg)
    assert cfg.nbest == 1
    model = echoic.registry.resolve_model("echoic-small-en")[0]
    path = ffi.new("char[]", str(model).encode())
    cfg.model = path
    cfg.nbest = 3
    rec = ffi.new("echoic_recognizer**")
    assert lib.echoic_recognizer_create(cfg, rec) == lib.ECHOIC_OK, ffi.string(lib.echoic_last_error())
    x, sr = sf.read(clip, dtype="float32")
    s = ffi.new("echoic_stream**")
    assert lib.echoic_stream_create(rec[0], ffi.NULL, s) == lib.ECHOIC_OK
    assert lib.echoic_stream_accept_waveform(s[0], sr, ffi.cast("const float*", x.ctypes.data), len(x)) == 0
    assert lib.echoic_stream_input_finished(s[0]) == 0
    done = ffi.new("int32_t*")
    streams = ffi.new("echoic_stream*[1]", [s[0]])
    while lib.echoic_recognizer_is_done(rec[0], s[0], done) == 0 and not done[0]:
        assert lib.echoic_recognizer_decode(rec[0], streams, 1) == 0
    res = ffi.new("echoic_result**")
    got = []
    text, score = ffi.new("const char**"), ffi.new("double*")
    while lib.echoic_stream_pop_final(s[0], res) == 0 and res[0] != ffi.NULL:
        n = get(ffi, lib.echoic_result_num_alternatives, res[0], ctype="size_t")
        alts = []
        for k in range(n):
            assert lib.echoic_result_alternative(res[0], k, text, score) == 0
            alts.append((ffi.string(text[0]).decode(), score[0]))
        assert lib.echoic_result_alternative(res[0], n, text, score) == lib.ECHOIC_ERR_INVALID_ARGUMENT
        got.append(alts)
        lib.echoic_result_free(res[0])
    lib.echoic_stream_free(s[0])
    lib.echoic_recognizer_free(rec[0])
    want = [[(a.text, a.score) for a in seg.alternatives]
            for seg in echoic.Recognizer("echoic-small-en", nbest=3).transcribe(clip, chunk_ms=None).segments]
    assert [[t for t, _ in g] for g in got] == [[t for t, _ in w] for w in want]
    assert all(len(g) >= 2 for g in got)
    cfg.nbest = 17
    assert lib.echoic_recognizer_create(cfg, rec) == lib.ECHOIC_ERR_INVALID_ARGUMENT


def test_c_api_external_vad_decisions_drive_endpoints(c, speech_dev):
    """vad "external": the caller's decisions (echoic_stream_report_voice_activity) end utterances."""
    ffi, lib = c
    x, sr = sf.read(speech_dev / "pocketsphinx-goforward__goforward.wav", dtype="float32")
    audio = np.ascontiguousarray(np.concatenate([x, np.zeros(3 * sr, np.float32)]))
    keep = []

    def finals_before_end(vad, report):
        cfg = ffi.new("echoic_recognizer_config*")
        lib.echoic_recognizer_config_default(cfg)
        keep.extend([ffi.new("char[]", str(TEST_MODEL / "model.onnx").encode()), ffi.new("char[]", vad)])
        cfg.model, cfg.vad = keep[-2], keep[-1]
        rec = ffi.new("echoic_recognizer**")
        assert lib.echoic_recognizer_create(cfg, rec) == lib.ECHOIC_OK, ffi.string(lib.echoic_last_error())
        s = ffi.new("echoic_stream**")
        assert lib.echoic_stream_create(rec[0], ffi.NULL, s) == 0
        if report is None:
            assert lib.echoic_stream_report_voice_activity(s[0], 1, 0.03) == lib.ECHOIC_ERR_STATE
            assert "external" in ffi.string(lib.echoic_last_error()).decode()
        else:
            assert lib.echoic_stream_report_voice_activity(s[0], 1, 0.0) == lib.ECHOIC_ERR_INVALID_ARGUMENT
            for i in range(len(audio) * 100 // sr // 3):  # 30 ms decisions
                assert lib.echoic_stream_report_voice_activity(s[0], int(report(i * 0.03)), 0.03) == 0
        streams, ready = ffi.new("echoic_stream*[1]", [s[0]]), ffi.new("int32_t*")
        assert lib.echoic_stream_accept_waveform(s[0], sr, ffi.cast("const float*", audio.ctypes.data),
                                                 len(audio)) == 0
        while lib.echoic_recognizer_is_ready(rec[0], s[0], ready) == 0 and ready[0]:
            assert lib.echoic_recognizer_decode(rec[0], streams, 1) == 0
        res, n = ffi.new("echoic_result**"), 0
        while lib.echoic_stream_pop_final(s[0], res) == 0 and res[0] != ffi.NULL:
            n += 1
            lib.echoic_result_free(res[0])
        lib.echoic_stream_free(s[0])
        lib.echoic_recognizer_free(rec[0])
        return n

    speech_end = len(x) / sr
    assert finals_before_end(b"external", lambda t: t < speech_end) >= 1  # 3 s reported silence: an endpoint
    assert finals_before_end(b"external", lambda t: True) == 0  # all speech: the utterance stays open
    finals_before_end(b"energy", None)  # decisions are refused without vad "external"
