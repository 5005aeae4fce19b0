"""Hotword biasing and the hotword grammar (issue #20 items 2 and 3)."""
from __future__ import annotations

import csv
import random
import re

import pytest

import echoic

WORDS = ("zebra xylophone quantum walrus marmalade trombone kangaroo volcano saxophone igloo pineapple "
         "jellyfish harmonica tornado cactus penguin lighthouse avalanche origami submarine").split()


def _dev_clips(speech_dev):
    with open(speech_dev / "transcripts.tsv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [(speech_dev / r["file"], set(re.findall(r"[a-z']+", r["transcript"].lower()))) for r in rows]


@pytest.mark.parametrize("lm", ["auto", None])
def test_unused_hotwords_change_nothing(speech_dev, lm):
    """A hotword that is not spoken leaves every transcript exactly as without hotwords.
    (Before: one unused hotword changed 17 of the 21 dev transcripts.) With the word LM the
    weak bundled model can still hear a hotword that was not said (a false alarm, which
    then shows in the text); it must never change other words without one."""
    rec = echoic.Recognizer("echoic-small-en", lm=lm)
    rng = random.Random(20)
    false_alarms = 0
    for path, words in _dev_clips(speech_dev):
        unrelated = [w for w in WORDS if w not in words]
        hot = rng.sample(unrelated, 3) + [" ".join(rng.sample(unrelated, 2))]
        plain = rec.transcribe(path)
        biased = rec.transcribe(path, hotwords=hot)
        if biased.text != plain.text and lm is not None:
            assert any(h in biased.text for h in hot), (path.name, hot, plain.text, biased.text)
            false_alarms += 1
            continue
        assert biased.text == plain.text, (path.name, hot)
        assert [(w.word, w.start, w.end) for w in biased.words] == [(w.word, w.start, w.end) for w in plain.words]
    assert false_alarms <= 5  # 4 of 21 at the time of writing (boost calibration, not beam reshaping)


def test_one_grammar_for_text_lists_and_pairs():
    from echoic.asr import _hotword_list

    text = "# names\nEchoic\nopen sesame\t2.5\nGo Forward! :3\n"
    assert _hotword_list(text) == [("echoic", 0.0), ("open sesame", 2.5), ("go forward", 3.0)]
    assert _hotword_list("go forward") == [("go forward", 0.0)]  # a str is text, not characters
    assert _hotword_list(["Go Forward!", ("Echoic", 2.0)]) == [("go forward", 0.0), ("echoic", 2.0)]
    with pytest.raises(echoic.InvalidArgumentError, match="line 2"):
        _hotword_list("ok\nfoo\tnot-a-number")


def test_python_accepts_cli_style_hotwords(speech_dev):
    rec = echoic.Recognizer("echoic-small-en", lm=None)
    clip = speech_dev / "ljspeech__LJ001-0002.wav"
    a = rec.transcribe(clip, hotwords="go forward").text
    b = rec.transcribe(clip, hotwords=["Go Forward!"]).text
    assert a == b == rec.transcribe(clip).text


def test_cli_hotwords_word_or_file(speech_dev, tmp_path, capsys):
    from echoic import cli

    clip = str(speech_dev / "ljspeech__LJ001-0002.wav")
    assert cli.main(["transcribe", clip, "--model", "echoic-small-en", "--hotwords", "forward"]) == 0
    by_word = capsys.readouterr().out
    f = tmp_path / "hw.txt"
    f.write_text("# comment\nForward :2\n", encoding="utf-8")
    assert cli.main(["transcribe", clip, "--model", "echoic-small-en", "--hotwords", str(f)]) == 0
    assert capsys.readouterr().out == by_word
    f.write_text("forward\tlots\n", encoding="utf-8")
    assert cli.main(["transcribe", clip, "--model", "echoic-small-en", "--hotwords", str(f)]) == 1
    err = capsys.readouterr().err
    assert "line 1" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_long_hotwords_are_bounded_and_encoding_is_linear(speech_dev):
    import time
    from pathlib import Path

    model = Path(__file__).resolve().parents[1] / "data" / "asr-random-wenet"
    rec = echoic.Recognizer(model)
    with pytest.raises(echoic.InvalidArgumentError, match="at most 256 bytes"):
        rec.create_stream(hotwords=["a" * 16000])
    with pytest.raises(echoic.InvalidArgumentError, match="at most 1024"):
        rec.create_stream(hotwords=[f"w{i}" for i in range(1025)])
    # Encoding a word used to be cubic in its length (16,000 letters: 119 s).
    symbols = echoic._native.SymbolTable.from_file(str(model / "tokens.txt"))
    t0 = time.perf_counter()
    assert len(symbols.encode("a" * 20000)) > 0
    assert time.perf_counter() - t0 < 5.0
