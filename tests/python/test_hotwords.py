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
    """A hotword that is not spoken must leave every transcript exactly as without hotwords."""
    rec = echoic.Recognizer("echoic-small-en", lm=lm)
    rng = random.Random(20)
    for path, words in _dev_clips(speech_dev):
        unrelated = [w for w in WORDS if w not in words]
        hot = rng.sample(unrelated, 3) + [" ".join(rng.sample(unrelated, 2))]
        plain = rec.transcribe(path)
        biased = rec.transcribe(path, hotwords=hot)
        assert biased.text == plain.text, (path.name, hot)
        assert [(w.word, w.start, w.end) for w in biased.words] == [(w.word, w.start, w.end) for w in plain.words]
