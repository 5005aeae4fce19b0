"""`echoic mic` end to end, with a stand-in for the sounddevice module that plays a real
clip through the same callback PortAudio would call (these machines have no sound card)."""
import sys
import threading
import types
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import echoic
from echoic import cli

TEST_MODEL = Path(__file__).resolve().parents[1] / "data" / "asr-random-wenet"
CLIP = "pocketsphinx-goforward__goforward.wav"


def fake_sounddevice(samples: np.ndarray, rate: int, opened: list):
    class PortAudioError(Exception):
        pass

    class Status:
        input_overflow = False

        def __bool__(self):
            return False

    class InputStream:
        def __init__(self, device, samplerate, channels, dtype, blocksize, callback):
            opened.append({"device": device, "samplerate": samplerate, "channels": channels, "dtype": dtype,
                           "blocksize": blocksize})
            self.cb, self.block = callback, blocksize
            self.stop = threading.Event()

        def _play(self):  # the audio thread: blocks of [frames, channels] float32
            for i in range(0, len(samples), self.block):
                if self.stop.is_set():
                    return
                blk = samples[i:i + self.block]
                self.cb(blk.reshape(-1, 1).astype(np.float32), len(blk), None, Status())

        def __enter__(self):
            self.t = threading.Thread(target=self._play, daemon=True)
            self.t.start()
            return self

        def __exit__(self, *exc):
            self.stop.set()
            self.t.join()

    def query_devices(device=None, kind=None):
        if device not in (None, "fake"):
            raise ValueError(f"No input device matching {device!r}")
        return {"name": "fake input", "default_samplerate": float(rate), "max_input_channels": 1}

    return types.SimpleNamespace(InputStream=InputStream, query_devices=query_devices,
                                 PortAudioError=PortAudioError)


@pytest.fixture
def clip_48k(speech_dev):
    x, sr = sf.read(speech_dev / CLIP, dtype="float32")
    return echoic.features.resample(x, sr, 48000)  # a typical sound card rate, not the model's


def test_mic_transcribes_at_device_rate_and_stops_at_duration(monkeypatch, capsys, clip_48k):
    opened = []
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice(clip_48k, 48000, opened))
    seconds = len(clip_48k) / 48000
    rc = cli.main(["mic", "--model", str(TEST_MODEL), "--duration", f"{seconds:.3f}", "--chunk-ms", "50"])
    out = capsys.readouterr()
    assert rc == 0
    assert opened == [{"device": None, "samplerate": 48000, "channels": 1, "dtype": "float32", "blocksize": 2400}]
    assert "48000 Hz" in out.err
    # Same text as transcribing the same 48 kHz samples in one call (the decoder is chunk-invariant).
    want = echoic.Recognizer(TEST_MODEL).transcribe(clip_48k, sample_rate=48000).text
    assert want.strip()
    assert " ".join(out.out.split()) == " ".join(want.split())


def test_mic_reports_missing_device(monkeypatch, capsys, clip_48k):
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice(clip_48k, 48000, []))
    rc = cli.main(["mic", "--model", str(TEST_MODEL), "--device", "no-such-device", "--duration", "1"])
    assert rc == 1
    assert "no usable input device" in capsys.readouterr().err


def test_kws_mic_captures_at_device_rate_like_the_file(monkeypatch, capsys, shared_dir):
    """`kws --mic` shares `echoic mic`'s capture: the device's rate (48 kHz here), not a fixed 16 kHz."""
    path = shared_dir / "eval" / "keywords" / "multiple_keywords.wav"
    x, sr = sf.read(path, dtype="float32")
    x48 = echoic.features.resample(x, sr, 48000)
    opened = []
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice(x48, 48000, opened))
    rc = cli.main(["kws", "--mic", "--duration", f"{len(x48) // 48 / 1000:.3f}"])  # not past the clip's end
    out = capsys.readouterr()
    assert rc == 0
    assert [o["samplerate"] for o in opened] == [48000]
    heard = [line.split("\t")[1] for line in out.out.splitlines()]
    want = [e.keyword for e in echoic.KeywordSpotter().spot(x48, 48000)]
    assert len(want) >= 2 and heard == want
