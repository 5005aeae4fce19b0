"""The `echoic` command line surface (issue #20)."""
from __future__ import annotations

import pytest

from echoic import cli


@pytest.mark.parametrize("argv", [
    ["speaker", "enroll", "--index", "x.idx", "--name", "alice", "a.wav", "b.wav"],
    ["speaker", "enroll", "a.wav", "--index", "x.idx", "b.wav", "--name", "alice"],
    ["speaker", "enroll", "a.wav", "b.wav", "--index", "x.idx", "--name", "alice"],
])
def test_options_before_or_after_positionals_enroll(argv):
    args = cli.build_parser().parse_args(argv)
    assert (args.action, args.index, args.name, args.files) == ("enroll", "x.idx", "alice", ["a.wav", "b.wav"])


@pytest.mark.parametrize("argv", [
    ["speaker", "identify", "--index", "y.idx", "who.wav"],
    ["speaker", "identify", "who.wav", "--index", "y.idx"],
])
def test_options_before_or_after_positionals_identify(argv):
    args = cli.build_parser().parse_args(argv)
    assert (args.action, args.index, args.files) == ("identify", "y.idx", ["who.wav"])


def test_options_anywhere_for_every_leaf_command():
    p = cli.build_parser()
    a = p.parse_args(["transcribe", "a.wav", "--json", "b.wav", "--threads", "2"])
    assert a.files == ["a.wav", "b.wav"] and a.format == "json" and a.threads == 2
    a = p.parse_args(["vad", "--method", "webrtc", "a.wav"])
    assert a.file == "a.wav" and a.method == "webrtc"
    a = p.parse_args(["kws", "--keywords", "yes,no", "a.wav", "--threshold", "0.5"])
    assert a.file == "a.wav" and a.keywords == "yes,no" and a.threshold == 0.5


def test_speaker_list_takes_no_model_option():
    with pytest.raises(SystemExit) as e:
        cli.build_parser().parse_args(["speaker", "list", "--index", "x.idx", "--model", "m.onnx"])
    assert e.value.code == 2


def test_channels_first_array_is_rejected_not_silently_empty(speech_dev):
    """np.stack([a, a]) is (channels, frames): it used to decode to '' (issue #20 item 4)."""
    import numpy as np
    import soundfile as sf

    import echoic

    a, rate = sf.read(speech_dev / "ljspeech__LJ001-0002.wav", dtype="float32")
    rec = echoic.Recognizer("echoic-small-en")
    with pytest.raises(echoic.InvalidArgumentError, match="channels-first.*array.T"):
        rec.transcribe(np.stack([a, a]), rate)
    assert rec.transcribe(np.stack([a, a]).T, rate).text == rec.transcribe(a, rate).text
    tiny_stereo = np.zeros((1, 2), dtype=np.float32)  # one frame of stereo stays valid
    assert echoic.audio.from_array(tiny_stereo, 16000, downmix=True).samples.shape == (1,)


def test_kws_open_vocabulary_finds_or_says_so(shared_dir, capsys):
    from echoic.registry import default_model

    clip = str(shared_dir / "eval" / "keywords" / "multiple_keywords.wav")
    argv = ["kws", "--open-vocabulary", "--keywords", "porcupine,terminator", clip]
    assert cli.main(argv + ["--asr-model", "echoic-small-en"]) == 0
    out, err = capsys.readouterr()
    assert out or "none of porcupine, terminator found" in err
    if default_model().startswith("whisper"):  # the default recognizer hears them
        assert cli.main(argv) == 0
        found = {line.split("\t")[1] for line in capsys.readouterr().out.splitlines()}
        assert found == {"porcupine", "terminator"}
