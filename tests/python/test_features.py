"""Filterbank and resampler from Python: parity with kaldi-native-fbank, chunk invariance."""
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import echoic
from echoic import features

knf = pytest.importorskip("kaldi_native_fbank")


def _clips(speech_dev: Path):
    clips = sorted(speech_dev.glob("*.wav"))
    assert clips, f"no wav files in {speech_dev}"
    return clips


def _knf_fbank(samples: np.ndarray, rate: int, num_bins: int = 80) -> np.ndarray:
    o = knf.FbankOptions()
    o.frame_opts.dither = 0
    o.frame_opts.snip_edges = False
    o.frame_opts.samp_freq = rate
    o.mel_opts.num_bins = num_bins
    f = knf.OnlineFbank(o)
    f.accept_waveform(rate, samples.tolist())
    f.input_finished()
    return np.stack([np.asarray(f.get_frame(i)) for i in range(f.num_frames_ready)])


@pytest.mark.parametrize("scale", [32768.0, 1.0], ids=["int16-range", "unit-range"])
def test_parity_with_kaldi_native_fbank(speech_dev, scale):
    """Same options as WeNet/k2 recipes. kaldi-native-fbank computes the FFT at float
    precision, so bins tens of dB below a frame's peak carry rounding noise in both
    implementations; those are checked in the power domain relative to the peak, all
    well-conditioned bins to 1e-3 in the log domain."""
    worst = {"max": 0.0, "max_within_60db": 0.0, "rel_power": 0.0}
    means = []
    for clip in _clips(speech_dev):
        x, rate = sf.read(clip, dtype="float32")
        y = (x * scale).astype(np.float32)
        ref = _knf_fbank(y, rate)
        got = features.compute_fbank(y, sample_rate=rate, num_bins=80, dither=0.0, snip_edges=False)
        assert got.shape == ref.shape, clip.name
        assert got.dtype == np.float32
        d = np.abs(got - ref)
        peak = ref.max(axis=1, keepdims=True)
        well_conditioned = ref > peak - np.log(1e6)  # within 60 dB of the frame's peak
        rel_power = np.abs(np.exp(got.astype(np.float64)) - np.exp(ref.astype(np.float64))) / np.exp(peak)
        worst["max"] = max(worst["max"], float(d.max()))
        worst["max_within_60db"] = max(worst["max_within_60db"], float(d[well_conditioned].max()))
        worst["rel_power"] = max(worst["rel_power"], float(rel_power.max()))
        means.append(float(d.mean()))
        assert (d > 1e-3).mean() < 1e-3, clip.name
    print(f"\nknf parity scale={scale}: max={worst['max']:.3g} mean={np.mean(means):.3g} "
          f"max(within 60 dB of peak)={worst['max_within_60db']:.3g} max rel power={worst['rel_power']:.3g}")
    assert worst["max_within_60db"] <= 1e-3
    assert worst["rel_power"] <= 1e-5
    assert np.mean(means) <= 1e-5
    assert worst["max"] < 0.05


@pytest.mark.parametrize("chunk_ms", [10, 37, 1000])
def test_chunk_invariance(speech_dev, chunk_ms):
    x, rate = sf.read(_clips(speech_dev)[0], dtype="float32")
    x = x * np.float32(32768)
    opts = features.FbankOptions(num_bins=80)
    whole = features.compute_fbank(x, sample_rate=rate, num_bins=80)
    f = features.OnlineFbank(opts)
    step = rate * chunk_ms // 1000
    out = []
    for i in range(0, len(x), step):
        f.accept_waveform(x[i:i + step])
        # Take frames as they become ready, like a streaming consumer.
        have = sum(len(o) for o in out)
        if f.num_frames_ready > have:
            out.append(f.get_frames(have, f.num_frames_ready - have))
    assert f.num_frames_ready < whole.shape[0]  # edge frames wait for the end
    f.input_finished()
    have = sum(len(o) for o in out)
    out.append(f.get_frames(have, f.num_frames_ready - have))
    got = np.concatenate(out)
    assert got.shape == whole.shape
    assert np.array_equal(got, whole)


def test_options_repr_and_validation():
    o = features.FbankOptions(num_bins=40, window_type="hamming", dither=0.5)
    assert o.num_bins == 40 and o.window_type == "hamming" and o.dim == 40
    r = repr(o)
    assert "num_bins=40" in r and "window_type='hamming'" in r
    with pytest.raises(echoic.InvalidArgumentError, match="no option 'bins'"):
        features.FbankOptions(bins=3)
    with pytest.raises(echoic.InvalidArgumentError, match="window_type"):
        features.OnlineFbank(features.FbankOptions(window_type="kaiser"))
    with pytest.raises(echoic.InvalidArgumentError, match="num_bins"):
        features.compute_fbank(np.zeros(16000, np.float32), num_bins=1)


def test_bad_samples_are_rejected_without_side_effects():
    f = features.OnlineFbank(features.FbankOptions())
    x = np.ones(3200, np.float32)
    f.accept_waveform(x)
    ready = f.num_frames_ready
    bad = x.copy()
    bad[1234] = np.inf
    with pytest.raises(echoic.InvalidArgumentError, match="sample 1234"):
        f.accept_waveform(bad)
    assert f.num_frames_ready == ready
    with pytest.raises(echoic.InvalidArgumentError, match="float32"):
        f.accept_waveform(np.ones(10, np.int16))
    with pytest.raises(echoic.InvalidArgumentError, match="1-D"):
        f.accept_waveform(np.ones((10, 2), np.float32))
    f.input_finished()
    with pytest.raises(echoic.StateError):
        f.accept_waveform(x)
    with pytest.raises(echoic.InvalidArgumentError, match="ready"):
        f.get_frames(0, f.num_frames_ready + 1)


def test_resampler_tone_and_streaming():
    rate_in, rate_out = 48000, 16000
    t = np.arange(rate_in) / rate_in
    x = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    whole = features.resample(x, rate_in, rate_out)
    assert whole.shape == (rate_out,)
    spec = np.abs(np.fft.rfft(whole[4000:12000]))
    assert abs(np.argmax(spec) * rate_out / 8000 - 1000) <= 2
    r = features.Resampler(rate_in, rate_out)
    parts = [r.process(x[i:i + 441]) for i in range(0, len(x), 441)] + [r.flush()]
    assert np.array_equal(np.concatenate(parts), whole)
    with pytest.raises(echoic.InvalidArgumentError, match="4000"):
        features.Resampler(4000, 16000)
    with pytest.raises(echoic.StateError):
        r.process(x[:10])


def test_cli_features(tmp_path, speech_dev):
    import subprocess
    import sys

    clip = _clips(speech_dev)[0]
    out = tmp_path / "f.npy"
    res = subprocess.run([sys.executable, "-m", "echoic", "features", str(clip), "--out", str(out), "--num-bins", "64"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    m = np.load(out)
    assert m.shape[1] == 64 and f"{m.shape[0]} frames x 64 dims" in res.stdout
    res = subprocess.run([sys.executable, "-m", "echoic", "features", str(tmp_path / "missing.wav")],
                         capture_output=True, text=True)
    assert res.returncode == 1 and "no such file" in res.stderr
