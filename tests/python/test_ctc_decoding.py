"""CTC decoding layer through the Python module, on synthetic log-prob matrices."""
import math

import numpy as np
import pytest

import echoic
from echoic import _native

WORD = "\u2581"


@pytest.fixture(scope="module")
def char_tokens(tmp_path_factory):
    lines = ["<blk> 0", f"{WORD} 1"] + [f"{chr(ord('a') + i)} {i + 2}" for i in range(26)] + ["' 28"]
    path = tmp_path_factory.mktemp("vocab") / "tokens.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _id(c):
    """'_' = blank, ' ' = the word mark, letters and the apostrophe as in the vocabulary."""
    special = {"_": 0, " ": 1, "'": 28}
    return special[c] if c in special else ord(c) - ord("a") + 2


def peaky(path, peak=0.97, vocab=29):
    rest = (1.0 - peak) / (vocab - 1)
    m = np.full((len(path), vocab), math.log(rest), dtype=np.float32)
    for t, c in enumerate(path):
        m[t, _id(c)] = math.log(peak)
    return m


def frame(probs, vocab=29):
    p = np.zeros(vocab)
    for c, pr in probs.items():
        p[_id(c)] = pr
    rest = max(1e-6, 1.0 - p.sum()) / (vocab - len(probs))
    p[p == 0] = rest
    return np.log(p / p.sum()).astype(np.float32)


def ctc_log_prob(m, label):
    """Independent CTC forward algorithm (probability of a labelling)."""
    ext = [0]
    for l in label:
        ext += [l, 0]
    p = np.exp(m.astype(np.float64))
    a = np.zeros(len(ext))
    a[0] = p[0, ext[0]]
    if len(ext) > 1:
        a[1] = p[0, ext[1]]
    for t in range(1, len(m)):
        b = np.zeros_like(a)
        for s in range(len(ext)):
            v = a[s] + (a[s - 1] if s >= 1 else 0.0)
            if s >= 2 and ext[s] != 0 and ext[s] != ext[s - 2]:
                v += a[s - 2]
            b[s] = v * p[t, ext[s]]
        a = b
    return math.log(a[-1] + (a[-2] if len(ext) > 1 else 0.0))


def test_symbol_table(char_tokens, tmp_path):
    st = _native.SymbolTable.from_file(char_tokens)
    assert len(st) == 29 and st.blank_id == 0
    assert st.token(2) == "a" and st.id("'") == 28
    ids = st.encode("it's fine")
    assert st.detokenize(ids) == "it's fine"
    assert [len(w) for w in st.group_words(ids)] == [4, 4]
    with pytest.raises(echoic.NotFoundError):
        st.token(100)

    bad = tmp_path / "bad.txt"
    bad.write_text("<blk> 0\na 1\nb 1\n", encoding="utf-8")
    with pytest.raises(echoic.CorruptDataError, match=r"bad\.txt.*line 3"):
        _native.SymbolTable.from_file(bad)
    with pytest.raises(echoic.EchoicIOError, match="missing"):
        _native.SymbolTable.from_file(tmp_path / "missing.txt")
    with pytest.raises(echoic.CorruptDataError, match="blank"):
        _native.SymbolTable.from_string("a 0\nb 1\n")


def test_greedy_text_times_and_words(char_tokens):
    m = peaky("_ hh_e_ll_lo__ w_orld___")
    r = _native.ctc_decode(m, char_tokens, method="greedy", frame_shift=0.04)
    assert r["text"] == "hello world"
    assert r["tokens"][:3] == [WORD, "h", "e"]
    assert r["token_times"][1] == pytest.approx(2 * 0.04)
    assert [w["word"] for w in r["words"]] == ["hello", "world"]
    assert r["words"][0]["start"] == pytest.approx(2 * 0.04)
    assert r["words"][0]["end"] == pytest.approx(12 * 0.04)  # last 'o' frame (11) + 1
    assert all(c == pytest.approx(0.97, abs=1e-4) for c in r["token_confidences"])
    beam = _native.ctc_decode(m, char_tokens, method="beam", beam=4)
    assert beam["token_ids"] == r["token_ids"] and beam["token_times"] == r["token_times"]


def test_beam_finds_more_probable_labelling(char_tokens):
    m = np.stack([frame({"_": 0.6, "a": 0.3999})] * 2)
    assert _native.ctc_decode(m, char_tokens, method="greedy")["text"] == ""
    assert _native.ctc_decode(m, char_tokens, method="beam")["text"] == "a"


def test_chunking_and_beam_never_worse_than_greedy(char_tokens):
    rng = np.random.default_rng(5)
    z = rng.normal(size=(120, 29)) * 2.0
    z[:, 0] += 2.0
    m = (z - np.log(np.exp(z).sum(axis=1, keepdims=True))).astype(np.float32)
    for method in ("greedy", "beam"):
        whole = _native.ctc_decode(m, char_tokens, method=method, beam=6)
        for chunk in (1, 7):
            assert _native.ctc_decode(m, char_tokens, method=method, beam=6, chunk_frames=chunk) == whole
    g = _native.ctc_decode(m, char_tokens, method="greedy")["token_ids"]
    b = _native.ctc_decode(m, char_tokens, method="beam", beam=6)["token_ids"]
    assert ctc_log_prob(m, b) >= ctc_log_prob(m, g) - 1e-6


def test_hotword_boost(char_tokens):
    m = np.stack([
        frame({" ": 0.9}), frame({"k": 0.5, "c": 0.4}), frame({"_": 0.9}),
        frame({"a": 0.9}), frame({"t": 0.9}), frame({"_": 0.9}),
    ])
    assert _native.ctc_decode(m, char_tokens, method="beam")["text"] == "kat"
    assert _native.ctc_decode(m, char_tokens, method="beam", hotwords=["cat"])["text"] == "cat"
    assert _native.ctc_decode(m, char_tokens, method="beam", hotwords=[("cat", 0.01)])["text"] == "kat"
    # A hotword that is only started ("cats") gains nothing in the final result.
    assert _native.ctc_decode(m, char_tokens, method="beam", hotwords=["cats"])["text"] == "kat"
    # Greedy decoding with hotwords takes the recognizer's path: the greedy result,
    # unless a hotword-biased beam search completes a hotword.
    assert _native.ctc_decode(m, char_tokens, method="greedy")["text"] == "kat"
    assert _native.ctc_decode(m, char_tokens, method="greedy", hotwords=["cat"])["text"] == "cat"
    assert _native.ctc_decode(m, char_tokens, method="greedy", hotwords=["cats"])["text"] == "kat"
    # Phrases go through the core's hotword rules (normalised like transcripts, boost >= 0).
    assert _native.ctc_decode(m, char_tokens, method="beam", hotwords=["Cat!"])["text"] == "cat"
    with pytest.raises(echoic.InvalidArgumentError, match="boost"):
        _native.ctc_decode(m, char_tokens, method="beam", hotwords=[("cat", -1.0)])
    with pytest.raises(echoic.InvalidArgumentError, match="not one str"):
        _native.ctc_decode(m, char_tokens, method="beam", hotwords="cat")
    with pytest.raises(echoic.InvalidArgumentError, match="encode"):
        _native.ctc_decode(m, char_tokens, method="beam", hotwords=["c\u00e4t"])


def test_hotword_gate_keeps_other_words(char_tokens):
    """A hotword that is not spoken leaves the text alone even where its partial
    matches would reshape an ungated biased beam (the recognizer's gating rule)."""
    # "kat" then a word whose first letters start the hotword "kattegat" but end elsewhere.
    m = np.stack([
        frame({" ": 0.9}), frame({"k": 0.5, "c": 0.4}), frame({"_": 0.9}),
        frame({"a": 0.9}), frame({"t": 0.9}), frame({"_": 0.9}),
        frame({" ": 0.9}), frame({"k": 0.45, "g": 0.5}), frame({"a": 0.9}), frame({"s": 0.9}),
    ])
    plain = _native.ctc_decode(m, char_tokens, method="beam")["text"]
    assert plain == "kat gas"
    for method in ("greedy", "beam"):
        assert _native.ctc_decode(m, char_tokens, method=method, hotwords=["kattegat", "kas"])["text"] == "kat kas"
        assert _native.ctc_decode(m, char_tokens, method=method, hotwords=["kattegat"])["text"] == plain


def test_bad_input(char_tokens):
    with pytest.raises(echoic.ModelError, match="29 tokens"):
        _native.ctc_decode(np.zeros((3, 30), np.float32), char_tokens)
    with pytest.raises(echoic.InvalidArgumentError):
        _native.ctc_decode(np.zeros(29, np.float32), char_tokens)
    with pytest.raises(echoic.InvalidArgumentError, match="method"):
        _native.ctc_decode(peaky("a"), char_tokens, method="viterbi")
    bad = peaky("ab")
    bad[1, 3] = np.nan
    with pytest.raises(echoic.InvalidArgumentError, match="frame 1"):
        _native.ctc_decode(bad, char_tokens)
    with pytest.raises(echoic.InvalidArgumentError):
        _native.ctc_decode(peaky("a"), char_tokens, method="beam", beam=0)


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_streaming_decoder_segments(char_tokens, method):
    m = peaky("_ hi__ yo_____")
    dec = _native.CtcDecoder(char_tokens, method=method, frame_shift=0.04)
    dec.accept(m[:4])
    assert dec.result()["text"] == "hi"  # partial
    assert dec.decoded_something
    dec.accept(m[4:])
    r = dec.result(final=True)
    assert r["text"] == "hi yo" and r["is_final"] and r["segment"] == 0
    assert dec.num_frames == len(m)
    assert dec.trailing_silence == pytest.approx(5 * 0.04)
    whole = _native.ctc_decode(m, char_tokens, method=method)
    assert r["token_ids"] == whole["token_ids"] and r["token_times"] == whole["token_times"]
    # The next segment's times continue from the end of the first.
    dec.reset()
    assert dec.num_frames == 0 and not dec.decoded_something
    dec.accept(peaky("_a_"))
    r2 = dec.result(final=True)
    assert r2["segment"] == 1 and r2["segment_start"] == pytest.approx(len(m) * 0.04)
    assert r2["token_times"][0] == pytest.approx((len(m) + 1) * 0.04)
    with pytest.raises(echoic.ModelError):
        dec.accept(np.zeros((2, 5), np.float32))


def test_decoder_with_endpointing(char_tokens):
    """Silence after speech ends the utterance by rule 2; long silence alone by rule 1."""
    ep = _native.EndpointDetector()
    dec = _native.CtcDecoder(char_tokens, method="beam")
    speech, silence = peaky(" ok"), peaky("_" * 10)  # 10 frames = 0.4 s
    dec.accept(speech)
    rules, t = [], 3
    for _ in range(6):
        dec.accept(silence)
        t += 10
        ep.update(dec.decoded_something, dec.trailing_silence, t * 0.04)
        rules.append(ep.last_rule)
    # 1.2 s of silence after speech: rule 2; from 2.4 s rule 1 (checked first) holds too.
    assert rules == [0, 0, 2, 2, 2, 1]
    assert not ep.update(False, 2.3, 2.3) and ep.update(False, 2.4, 2.4) and ep.last_rule == 1
    assert ep.update(True, 0.0, 20.0) and ep.last_rule == 3
    with pytest.raises(echoic.InvalidArgumentError):
        _native.EndpointDetector(rule1_silence=-1)
    with pytest.raises(echoic.InvalidArgumentError):
        ep.update(True, float("nan"), 1.0)
