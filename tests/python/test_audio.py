"""echoic.audio: reading files, arrays and PCM; damaged input gives typed errors."""
import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import echoic
from echoic import audio, features


def _clips(speech_dev: Path):
    clips = sorted(speech_dev.glob("*.wav"))
    assert clips
    return clips


def test_reads_every_speech_dev_clip(speech_dev):
    for clip in _clips(speech_dev):
        a = audio.read(clip)
        ref, rate = sf.read(clip, dtype="float32")
        assert a.sample_rate == rate and a.channels == 1
        assert a.samples.dtype == np.float32 and a.samples.ndim == 1
        assert np.array_equal(a.samples, ref)
        assert a.duration == pytest.approx(len(ref) / rate)
        assert np.abs(a.samples).max() <= 1.0


def test_corrupted_files_raise_corrupt_data(speech_dev, tmp_path):
    rng = np.random.RandomState(1)
    for clip in _clips(speech_dev):
        data = clip.read_bytes()
        variants = {
            "half": data[: len(data) // 2],
            "header": rng.bytes(44) + data[44:],
            "random": rng.bytes(len(data)),
            "empty": b"",
        }
        for name, blob in variants.items():
            p = tmp_path / f"{name}.wav"
            p.write_bytes(blob)
            with pytest.raises(echoic.CorruptDataError):
                audio.read(p)
            with pytest.raises(echoic.CorruptDataError):
                audio.read(io.BytesIO(blob))


def test_missing_file_is_io_error(tmp_path):
    with pytest.raises(echoic.EchoicIOError, match="no such file"):
        audio.read(tmp_path / "nope.wav")
    with pytest.raises(OSError):
        audio.read(tmp_path / "nope.flac")


def test_flac_and_file_objects(speech_dev, tmp_path):
    clip = _clips(speech_dev)[0]
    x, rate = sf.read(clip, dtype="int16")
    p = tmp_path / "c.flac"
    sf.write(p, x, rate, subtype="PCM_16")
    a = audio.read(p)
    assert np.array_equal(a.samples, x.astype(np.float32) / 32768)
    with open(clip, "rb") as fh:
        assert audio.read(fh).samples.shape == (len(x),)


def test_nan_and_inf_arrays_name_the_index():
    x = np.zeros(1000, np.float32)
    x[417] = np.nan
    with pytest.raises(echoic.InvalidArgumentError, match="sample 417"):
        audio.from_array(x, 16000)
    y = np.zeros(1000, np.float64)
    y[9] = -np.inf
    with pytest.raises(echoic.InvalidArgumentError, match="sample 9 .*Inf"):
        audio.from_array(y, 16000)


def test_integer_and_float64_arrays():
    i16 = np.array([-32768, 0, 16384], np.int16)
    assert np.array_equal(audio.from_array(i16, 16000).samples, np.array([-1, 0, 0.5], np.float32))
    i32 = np.array([-(2 ** 31), 2 ** 30], np.int32)
    assert np.array_equal(audio.from_array(i32, 8000).samples, np.array([-1, 0.5], np.float32))
    f64 = np.linspace(-1, 1, 11)
    a = audio.from_array(f64, 22050)
    assert a.samples.dtype == np.float32 and np.allclose(a.samples, f64)
    for bad in (np.ones(4, np.complex64), np.array(["a"], object), np.ones(4, np.uint8), np.ones(4, bool)):
        with pytest.raises(echoic.InvalidArgumentError, match="dtype"):
            audio.from_array(bad, 16000)
    with pytest.raises(echoic.InvalidArgumentError, match="empty"):
        audio.from_array(np.zeros(0, np.float32), 16000)


def test_channels_and_downmix():
    x = np.stack([np.full(100, 0.3), np.full(100, -0.3), np.full(100, 0.6)], axis=1).astype(np.float32)
    with pytest.raises(echoic.InvalidArgumentError, match="3 channels"):
        audio.from_array(x, 16000)
    mono = audio.from_array(x, 16000, downmix=True)
    assert mono.channels == 1 and np.allclose(mono.samples, 0.2)
    assert np.array_equal(audio.from_array(x, 16000, channel=2).samples, x[:, 2])
    stereo = audio.from_array(x[:, :2], 16000)
    assert stereo.channels == 2 and stereo.samples.shape == (100, 2)


@pytest.mark.parametrize("rate", [4000, 200000, 0, -16000])
def test_bad_rates_rejected(rate):
    with pytest.raises(echoic.InvalidArgumentError, match="sample rate"):
        audio.from_array(np.zeros(10, np.float32), rate)
    with pytest.raises(echoic.InvalidArgumentError):
        audio.from_array(np.zeros(10, np.float32), 16000, target_rate=rate)


def test_pcm_bytes():
    pcm = np.array([0, 16384, -16384, 32767], "<i2").tobytes()
    a = audio.from_pcm_bytes(pcm, 16000)
    assert np.allclose(a.samples, [0, 0.5, -0.5, 32767 / 32768])
    s = audio.from_pcm_bytes(pcm, 16000, channels=2)
    assert s.samples.shape == (2, 2)
    u8 = audio.from_pcm_bytes(bytes([128, 255, 0]), 8000, sample_width=1)
    assert np.allclose(u8.samples, [0, 127 / 128, -1])
    with pytest.raises(echoic.InvalidArgumentError, match="whole number of frames"):
        audio.from_pcm_bytes(pcm[:-1], 16000)
    with pytest.raises(echoic.InvalidArgumentError, match="sample_width"):
        audio.from_pcm_bytes(pcm, 16000, sample_width=3)


def test_resampling_round_trip_of_real_clip(speech_dev):
    a = audio.read(_clips(speech_dev)[0])
    up = audio.from_array(a.samples, 16000, target_rate=48000)
    assert up.sample_rate == 48000 and len(up.samples) == 3 * len(a.samples)
    back = audio.read(io.BytesIO(_wav_bytes(up.samples, 48000)), target_rate=16000)
    assert back.sample_rate == 16000 and len(back.samples) == len(a.samples)
    # Speech energy sits below the 7.2 kHz passband edge; compare away from the ends.
    err = back.samples[200:-200] - a.samples[200:-200]
    snr = 10 * np.log10(np.sum(a.samples[200:-200] ** 2) / np.sum(err ** 2))
    assert snr > 30, snr
    assert np.array_equal(features.resample(up.samples, 48000, 16000), back.samples)


def _wav_bytes(x: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, rate, format="WAV", subtype="FLOAT")
    return buf.getvalue()


def test_load_takes_paths_file_objects_audio_and_arrays_alike(speech_dev, tmp_path):
    """audio.load: the one "path, Audio or array" rule every API uses (recognizer, spotter,
    speaker, VAD)."""
    clip = _clips(speech_dev)[0]
    ref = audio.read(clip)
    with open(clip, "rb") as fh:
        from_file = audio.load(fh)
    for a in (audio.load(clip), audio.load(str(clip)), from_file, audio.load(ref.samples, ref.sample_rate),
              audio.load(ref.samples.tolist(), ref.sample_rate)):
        assert a.sample_rate == ref.sample_rate and np.array_equal(a.samples, ref.samples)
    assert audio.load(ref) is ref  # already mono at its rate: nothing to redo
    stereo = audio.from_array(np.stack([ref.samples, 0.5 * ref.samples], axis=1), ref.sample_rate)
    assert np.allclose(audio.load(stereo).samples, 0.75 * ref.samples, atol=1e-6)
    assert audio.load(stereo, downmix=False) is stereo
    at8k = audio.load(clip, target_rate=8000)
    assert at8k.sample_rate == 8000 and np.array_equal(at8k.samples, audio.read(clip, target_rate=8000).samples)
    assert audio.load(ref, target_rate=8000).sample_rate == 8000
    with pytest.raises(echoic.InvalidArgumentError, match="need their sample_rate"):
        audio.load(ref.samples)
    with pytest.raises(echoic.InvalidArgumentError, match=f"at {ref.sample_rate} Hz, not the sample_rate=8000"):
        audio.load(clip, 8000)
    with pytest.raises(echoic.InvalidArgumentError, match="speaker: expected a path.*got int"):
        audio.load(3, what="speaker")
    with pytest.raises(echoic.EchoicIOError):
        audio.load(tmp_path / "missing.wav")
