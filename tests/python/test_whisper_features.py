"""Whisper log-mel front-end: parity with faster-whisper's numpy implementation of
OpenAI's log_mel_spectrogram (padding=N_SAMPLES reproduces openai-whisper's window)."""
import numpy as np
import pytest
import soundfile as sf

import echoic
from echoic import features

fw = pytest.importorskip("faster_whisper.feature_extractor")


@pytest.mark.parametrize("n_mels", [80, 128])
def test_parity_with_faster_whisper(speech_dev, n_mels):
    clips = sorted(speech_dev.glob("*.wav"))[:4]
    assert clips, f"no wav files in {speech_dev}"
    ref_fe = fw.FeatureExtractor(feature_size=n_mels)
    for clip in clips:
        audio, rate = sf.read(str(clip), dtype="float32")
        assert rate == 16000 and audio.ndim == 1, clip
        # openai-whisper pads 30 s of zeros, computes, then takes the first 3000 frames.
        ref = ref_fe(audio, padding=480000)[:, :3000]
        got = features.whisper_log_mel(audio, n_mels=n_mels)
        assert got.shape == (n_mels, 3000) and got.dtype == np.float32
        assert np.abs(got - ref).max() <= 1e-4, clip.name


def test_truncates_and_rejects_bad_sizes():
    audio = (0.1 * np.sin(np.arange(40 * 16000) * 0.05)).astype(np.float32)
    got = features.whisper_log_mel(audio, num_frames=3000)  # 40 s: only the first 30 s used
    assert np.array_equal(got, features.whisper_log_mel(audio[:480000], num_frames=3000))
    with pytest.raises(echoic.InvalidArgumentError):
        features.whisper_log_mel(audio, n_mels=64)
