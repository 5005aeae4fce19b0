import pytest

from echoic.text import edit_distance, normalize, number_to_words, ordinal_to_words, wer


@pytest.mark.parametrize("n,words", [
    (0, "zero"), (7, "seven"), (13, "thirteen"), (40, "forty"), (99, "ninety nine"),
    (100, "one hundred"), (101, "one hundred one"), (1000, "one thousand"),
    (1234, "one thousand two hundred thirty four"),
    (2_000_017, "two million seventeen"), (-5, "minus five"),
])
def test_number_to_words(n, words):
    assert number_to_words(n) == words


@pytest.mark.parametrize("n,words", [
    (1, "first"), (2, "second"), (3, "third"), (5, "fifth"), (12, "twelfth"),
    (20, "twentieth"), (21, "twenty first"), (100, "one hundredth"),
])
def test_ordinals(n, words):
    assert ordinal_to_words(n) == words


@pytest.mark.parametrize("raw,norm", [
    ("Hello, World!", "hello world"),
    ("Dr. Smith paid $3.50 on May 1st, 1999!", "dr smith paid three dollars fifty on may first nineteen ninety nine"),
    ("It\u2019s 12,345 -- 7.25%", "it's twelve thousand three hundred forty five seven point two five percent"),
    ("'Quoted' rock 'n' roll", "quoted rock n roll"),
    ("Caf\u00e9 & cr\u00e8me", "cafe and creme"),
    ("Agent 007 in 1905", "agent zero zero seven in nineteen oh five"),
    ("   \t\n", ""),
])
def test_normalize(raw, norm):
    assert normalize(raw) == norm


def test_normalize_output_alphabet():
    out = normalize("Mixed: \u00bfQu\u00e9? 3rd-rate <tags> {x} #1 \u2014 ok\u2026 \u4e2d")
    assert set(out) <= set("abcdefghijklmnopqrstuvwxyz' ")
    assert "  " not in out and out == out.strip()


def test_normalize_rejects_non_text():
    with pytest.raises(TypeError):
        normalize(b"bytes")


def test_wer():
    assert edit_distance("a b c".split(), "a x c d".split()) == 2
    assert wer(["The cat sat", "on the mat"], ["the cat", "on a mat"]) == pytest.approx(2 / 6)
    with pytest.raises(ValueError):
        wer(["a"], [])
