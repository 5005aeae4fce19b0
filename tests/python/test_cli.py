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
