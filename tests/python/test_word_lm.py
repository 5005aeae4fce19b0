"""The word LM in CTC beam search (csrc/echoic/decoding/word_lm.cc): the bundled models use
their lm.arpa by default and it lowers WER on real speech; any ARPA file can be plugged
in; bad files and misuse are typed errors."""
from pathlib import Path

import pytest

import echoic
from echoic import registry
from echoic.evaluate import evaluate

SMALL, TINY = registry.DEFAULT_TIERS
DATA = Path(__file__).resolve().parents[1] / "data"
CTC = DATA / "asr-random-wenet"
TRANSDUCER = DATA / "asr-random-transducer"

TINY_ARPA = """\\data\\
ngram 1=5
ngram 2=1

\\1-grams:
-99\t<s>\t-0.3
-0.7\t</s>
-0.6\tyes\t-0.2
-0.6\tno\t-0.2
-1.0\tmaybe

\\2-grams:
-0.1\t<s> yes

\\end\\
"""


def test_bundled_models_decode_with_their_lm_by_default():
    for name in (SMALL, TINY):
        rec = echoic.Recognizer(name)
        assert rec.decoding == "beam"
        lm = rec.word_lm
        assert lm is not None and Path(lm["path"]).name == "lm.arpa" and lm["words"] > 50_000 and lm["order"] == 2
        assert (lm["scale"], lm["word_bonus"]) == pytest.approx((0.8, 3.0))
    assert echoic.Recognizer(SMALL, decoding="greedy").word_lm is None
    off = echoic.Recognizer(SMALL, lm=None)
    assert off.word_lm is None and off.decoding == "greedy"  # "auto" without an LM
    assert echoic.Recognizer(CTC).decoding == "greedy"        # no lm.arpa beside the test model


@pytest.mark.parametrize("name", [SMALL, TINY])
def test_lm_lowers_wer_on_real_speech(speech_dev, name):
    # Measured at release: small 94.0 -> 73.8 %, tiny 96.0 -> 81.7 % (252 words); the
    # LM was tuned on held-out synthetic voices only, never on speech-dev.
    greedy = evaluate(name, speech_dev, decoding="greedy")
    with_lm = evaluate(name, speech_dev)
    assert with_lm.ref_words == greedy.ref_words > 200
    assert with_lm.wer < greedy.wer - 0.10, (greedy.wer, with_lm.wer)


def test_any_arpa_file_constrains_the_words(tmp_path, speech_dev):
    arpa = tmp_path / "yes-no.arpa"
    arpa.write_text(TINY_ARPA)
    rec = echoic.Recognizer(SMALL, lm=arpa, decoding="beam")
    assert rec.word_lm["words"] == 3 and rec.word_lm["path"] == str(arpa)
    text = rec.transcribe(str(speech_dev / "ljspeech__LJ001-0001.wav")).text
    assert text and set(text.split()) <= {"yes", "no", "maybe"}, text
    # Chunking does not change what the LM lets through.
    assert rec.transcribe(str(speech_dev / "ljspeech__LJ001-0001.wav"), chunk_ms=37).text == text


def test_bad_lm_files_and_misuse_are_typed_errors(tmp_path):
    bad = tmp_path / "bad.arpa"
    bad.write_text("\\data\\\nngram 1=1\n\\1-grams:\nnot-a-number yes\n\\end\\\n")
    with pytest.raises(echoic.CorruptDataError, match=r"bad\.arpa.*line 4"):
        echoic.Recognizer(CTC, lm=bad, decoding="beam")
    truncated = tmp_path / "truncated.arpa"
    truncated.write_text(TINY_ARPA.split("\\end\\")[0])
    with pytest.raises(echoic.CorruptDataError, match="truncated"):
        echoic.Recognizer(CTC, lm=truncated, decoding="beam")
    with pytest.raises(echoic.EchoicIOError, match="missing.arpa"):
        echoic.Recognizer(CTC, lm=tmp_path / "missing.arpa", decoding="beam")
    good = tmp_path / "good.arpa"
    good.write_text(TINY_ARPA)
    with pytest.raises(echoic.InvalidArgumentError, match="greedy"):
        echoic.Recognizer(CTC, lm=good, decoding="greedy")
    with pytest.raises(echoic.InvalidArgumentError, match="transducer"):
        echoic.Recognizer(TRANSDUCER, lm=good, decoding="beam")
    with pytest.raises(echoic.InvalidArgumentError, match="lm_scale"):
        echoic.Recognizer(CTC, lm=good, decoding="beam", lm_scale=float("nan"))


def test_cli_decoding_options(speech_dev, capsys):
    from echoic.cli import main

    clip = str(speech_dev / "ljspeech__LJ001-0002.wav")
    small = ["--model", SMALL]
    assert main(["transcribe", clip, "--decoding", "greedy", *small]) == 0
    greedy = capsys.readouterr().out.strip()
    assert main(["transcribe", clip, "--lm", "none", *small]) == 0
    assert capsys.readouterr().out.strip() == greedy
    assert main(["transcribe", clip, *small]) == 0
    assert capsys.readouterr().out.strip() == echoic.Recognizer(SMALL).transcribe(clip).text


def test_hotwords_outside_the_lexicon_still_work(speech_dev):
    # "dashwood" is not among the LM's words: without a hotword the LM makes it a lexicon
    # word ("dashboard"); as a hotword it may leave the lexicon and is recognized.
    clip = str(speech_dev / "librivox-pocketsphinx__sense_and_sensibility_01_austen_64kb-0870.wav")
    rec = echoic.Recognizer(SMALL)
    assert rec.word_lm is not None
    plain = rec.transcribe(clip).text.split()
    boosted = rec.transcribe(clip, hotwords=["dashwood"]).text.split()
    assert "dashwood" not in plain and "dashwood" in boosted, (plain, boosted)
    # The words after it stay apart (not one long out-of-lexicon run) and lexicon words.
    assert len(boosted) >= 0.6 * len(plain) and max(len(w) for w in boosted) <= 12, boosted
