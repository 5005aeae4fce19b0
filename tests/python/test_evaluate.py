"""`echoic eval` and echoic.evaluate on the random-weight test model over speech-dev."""
import csv
import json
from pathlib import Path

import pytest

import echoic
from echoic import evaluate as ev
from echoic.cli import main as cli_main
from echoic.text import edit_distance, error_counts, normalize, normalize_basic

MODEL = Path(__file__).resolve().parents[1] / "data" / "asr-random-wenet"


def _rows(speech_dev):
    with open(speech_dev / "transcripts.tsv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


@pytest.fixture(scope="module")
def report_json(speech_dev):

    # Through the real CLI entry point, as a user runs it.
    import io
    from contextlib import redirect_stdout

    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = cli_main(["eval", "--model", str(MODEL), "--set", str(speech_dev), "--chunk-ms", "320", "--json"])
    assert rc == 0
    return json.loads(buf.getvalue())


def test_eval_counts_are_consistent(report_json, speech_dev):
    rep = report_json
    rows = _rows(speech_dev)
    assert [f["file"] for f in rep["files"]] == [r["file"] for r in rows]
    assert rep["model"] == str(MODEL)
    n = sum(f["ref_words"] for f in rep["files"])
    assert rep["ref_words"] == n
    # Reference word counts come from the normalized transcripts.
    assert n == sum(len(normalize(r["transcript"]).split()) for r in rows)
    for key in ("substitutions", "deletions", "insertions"):
        assert rep[key] == sum(f[key] for f in rep["files"])
    assert rep["wer"] == pytest.approx((rep["substitutions"] + rep["deletions"] + rep["insertions"]) / n)
    for f in rep["files"]:
        r, h = f["ref"].split(), f["hyp"].split()
        assert f["ref_words"] == len(r)
        # S + D = reference words not matched; S + I = hypothesis words not matched.
        assert f["substitutions"] + f["deletions"] + f["insertions"] == edit_distance(r, h)
        assert f["substitutions"] + f["deletions"] <= len(r)
        assert len(h) == len(r) - f["deletions"] + f["insertions"]
        assert f["wer"] == pytest.approx((f["substitutions"] + f["deletions"] + f["insertions"]) / len(r))
        assert f["hyp"] == normalize(f["hyp"])  # hypotheses are normalized too
    assert rep["duration"] == pytest.approx(sum(f["duration"] for f in rep["files"]), abs=0.01)
    assert 0 < rep["rtf"] < 5
    chars = sum(len(f["ref"]) for f in rep["files"])
    cer = sum(edit_distance(list(f["ref"]), list(f["hyp"])) for f in rep["files"]) / chars
    assert rep["cer"] == pytest.approx(cer)


def test_cer_counts_characters():
    rep = ev.EvalReport(model="m", set="s", files=[
        ev.score("a.wav", "public trust", "poblic trost", 1.0, 0.1),
        ev.score("b.wav", "ok", "", 1.0, 0.1)])
    assert rep.wer == pytest.approx(1.0)  # every word wrong ...
    assert rep.cer == pytest.approx(4 / 14)  # ... yet only 2 + 2 of 12 + 2 characters


def test_eval_text_output(speech_dev, tmp_path, capsys):
    # A two-file set keeps this quick and checks the human-readable form.
    rows = _rows(speech_dev)[:2]
    for r in rows:
        (tmp_path / r["file"]).symlink_to(speech_dev / r["file"])
    (tmp_path / "transcripts.tsv").write_text(
        "file\ttranscript\n" + "".join(f"{r['file']}\t{r['transcript']}\n" for r in rows), encoding="utf-8")
    assert cli_main(["eval", "--model", str(MODEL), "--set", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3
    assert out[0].startswith(rows[0]["file"]) and "N=" in out[0]
    assert out[-1].startswith(f"model {MODEL}: WER") and "RTF" in out[-1]


def test_eval_bad_sets(tmp_path):
    with pytest.raises(echoic.NotFoundError, match="transcripts.tsv"):
        ev.read_transcripts(tmp_path)
    (tmp_path / "transcripts.tsv").write_text("path\ttext\na.wav\thi\n")
    with pytest.raises(echoic.CorruptDataError, match="'file' and 'transcript'"):
        ev.read_transcripts(tmp_path)
    (tmp_path / "transcripts.tsv").write_text("file\ttranscript\nmissing.wav\thi\n")
    with pytest.raises(echoic.NotFoundError, match="missing.wav"):
        ev.read_transcripts(tmp_path)
    assert cli_main(["eval", "--model", str(MODEL), "--set", str(tmp_path)]) == 1


def test_error_counts_examples():
    assert error_counts("a b c d".split(), "a x c".split()) == (1, 1, 0)
    assert error_counts([], ["a", "b"]) == (0, 0, 2)
    assert error_counts(["a", "b"], []) == (0, 2, 0)
    assert error_counts("the cat sat".split(), "the cat sat".split()) == (0, 0, 0)
    assert error_counts("a b".split(), "x a b".split()) == (0, 0, 1)


def test_normalizers_differ_only_where_documented():
    s = "On May 1st, Dr. Smith paid $3 -- \"quoted\" it's"
    assert normalize_basic(s) == "on may 1st dr smith paid 3 quoted its"
    assert normalize_basic("Forty-two, 12%!") == "fortytwo 12"
    assert normalize(s) == "on may first dr smith paid three dollars quoted it's"
