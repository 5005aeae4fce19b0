"""Keyword lookup by example (Whisper word embeddings in the core) on real clips: cross-speaker
detection, the user's own other utterance, chunking invariance, persistence, a shared speaker
index, the C API and the CLI."""
import ctypes
import json
import os

import numpy as np
import pytest

import echoic
from echoic.kws.lookup import KeywordLookup

# The two porcupines of multiple_keywords.wav start near these times (s); the file has no
# timestamps, these were placed by listening and by the bundled keyword spotter.
PORCUPINES = (5.8, 35.4)


@pytest.fixture(scope="module")
def kw(shared_dir):
    return shared_dir / "eval" / "keywords"


def _read(p):
    return echoic.audio.read(p, target_rate=16000, downmix=True).samples


@pytest.fixture(scope="module")
def enrolled(tmp_path_factory, whisper_dir, kw):
    path = tmp_path_factory.mktemp("lookup") / "kw.idx"
    with KeywordLookup(path, model=whisper_dir) as kl:
        assert kl.enroll("porcupine", kw / "porcupine.wav") == [0]
    return path


def test_finds_the_word_said_by_another_speaker(enrolled, whisper_dir, kw):
    """Enrolled from porcupine.wav only; both porcupines of multiple_keywords.wav (another speaker,
    another recording) are found and nothing else is."""
    with KeywordLookup(enrolled, model=whisper_dir, read_only=True) as kl:
        assert kl.keywords() == ["porcupine"]
        assert kl.bytes_per_example <= 64
        dets = kl.detect(kw / "multiple_keywords.wav")
    assert [d.keyword for d in dets] == ["porcupine", "porcupine"], dets
    for d, t in zip(dets, PORCUPINES):
        assert abs(d.start - t) < 0.6 and d.end > d.start, dets
    # The other words of the shared set are no porcupine either.
    with KeywordLookup(enrolled, model=whisper_dir, read_only=True) as kl:
        for f in ("yes_1000ms.wav", "no_1000ms.wav", "noise_1000ms.wav", "silence_1000ms.wav"):
            assert kl.detect(kw / f) == [], f


def test_any_chunking_gives_the_same_detections(enrolled, whisper_dir, kw):
    x = _read(kw / "multiple_keywords.wav")
    with KeywordLookup(enrolled, model=whisper_dir, read_only=True, threshold_offset=-0.3) as kl:
        runs = []
        for chunk in (len(x), 16000 * 7 + 3, 12345):
            s = kl.scanner()
            got = []
            for i in range(0, len(x), chunk):
                s.accept(x[i:i + chunk])
                got += s.take_detections()
            s.input_finished()
            got += s.take_detections()
            runs.append([(d.keyword, round(d.start, 3), round(d.end, 3), d.score) for d in got])
    assert len(runs[0]) > 2  # the lowered threshold lets other words through: more to compare
    assert runs[0] == runs[1] == runs[2]


def test_finds_the_users_other_utterance(tmp_path, whisper_dir, kw):
    """Own voice: enroll one porcupine of multiple_keywords.wav, find the other and nothing else."""
    x = _read(kw / "multiple_keywords.wav")
    for src, dst in ((0, 1), (1, 0)):
        clip = x[int((PORCUPINES[src] - 0.3) * 16000): int((PORCUPINES[src] + 1.0) * 16000)]
        with KeywordLookup(tmp_path / f"own{src}.idx", model=whisper_dir) as kl:
            kl.enroll("porcupine", clip)
            dets = [d for d in kl.detect(x) if abs(d.start - PORCUPINES[src]) > 1.0]
        assert len(dets) == 1 and abs(dets[0].start - PORCUPINES[dst]) < 0.6, dets


def test_overlapping_keywords_keep_the_higher_score(tmp_path, whisper_dir, kw):
    """Two keywords enrolled from the same word (porcupine.wav and the user's own first porcupine)
    both match each porcupine of multiple_keywords.wav; by default one detection per place is
    kept, the higher-scoring one; overlap_suppression=1 reports both keywords."""
    x = _read(kw / "multiple_keywords.wav")
    own = x[int((PORCUPINES[0] - 0.3) * 16000): int((PORCUPINES[0] + 1.0) * 16000)]
    with KeywordLookup(tmp_path / "two.idx", model=whisper_dir) as kl:
        kl.enroll("porcupine", kw / "porcupine.wav")
        kl.enroll("own-porcupine", own)
    with KeywordLookup(tmp_path / "two.idx", model=whisper_dir, read_only=True, overlap_suppression=1.0) as kl:
        both = kl.detect(x)
    with KeywordLookup(tmp_path / "two.idx", model=whisper_dir, read_only=True) as kl:
        kept = kl.detect(x)
    for t in PORCUPINES:
        here = [d for d in both if abs(d.start - t) < 0.6]
        assert sorted(d.keyword for d in here) == ["own-porcupine", "porcupine"], both
        assert [d for d in kept if abs(d.start - t) < 0.6] == [max(here, key=lambda d: d.score)], kept
    assert len(kept) == 2, kept


def test_the_learned_projection_is_loaded(tmp_path, whisper_dir, kw):
    """The bundled projection file is what embeds by default; the seeded random one is another
    embedding, and an index of one is refused by the other."""
    bundled = echoic.registry.resolve_model_file("lookup")
    assert bundled.parent.name == "lookup-projection" and 100_000 < bundled.stat().st_size < 2_400_000
    with KeywordLookup(tmp_path / "l.idx", model=whisper_dir) as kl:
        assert kl.options["projection"] == str(bundled) and kl.options["dim"] == 128
        assert kl.embedding_id.startswith("awe-lda-")
        kl.enroll("porcupine", kw / "porcupine.wav")
        assert kl.bytes_per_example == 64  # 128 dims product-quantized into 64 one-byte codes
    with KeywordLookup(tmp_path / "r.idx", model=whisper_dir, projection=None) as kl:
        assert kl.options["projection"] == "" and kl.embedding_id.startswith("awe-slices6-d64-")
        kl.enroll("porcupine", kw / "porcupine.wav")
        assert kl.bytes_per_example == 64  # sq8
    with pytest.raises(echoic.InvalidArgumentError, match="another model or embedding settings"):
        KeywordLookup(tmp_path / "r.idx", model=whisper_dir)


def test_damaged_projection_files_give_typed_errors(tmp_path, whisper_dir):
    good = echoic.registry.resolve_model_file("lookup").read_bytes()
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x40
    cases = {
        "missing.bin": (None, echoic.EchoicIOError),
        "truncated.bin": (good[:-100], echoic.CorruptDataError),
        "flipped.bin": (bytes(flipped), echoic.CorruptDataError),
        "not-one.bin": (b"RIFF" + bytes(200), echoic.CorruptDataError),
        "empty.bin": (b"", echoic.CorruptDataError),
    }
    for name, (data, err) in cases.items():
        path = tmp_path / name
        if data is not None:
            path.write_bytes(data)
        with pytest.raises(err, match=name):
            KeywordLookup(tmp_path / "x.idx", model=whisper_dir, projection=path)
    assert not (tmp_path / "x.idx").exists()  # nothing is created before the projection loads


def test_persistence_remove_and_errors(tmp_path, whisper_dir, kw):
    path = tmp_path / "p.idx"
    with KeywordLookup(path, model=whisper_dir) as kl:
        kl.enroll("yes", [kw / "yes_1000ms.wav"])
        kl.enroll("porcupine", [kw / "porcupine.wav"])
        with pytest.raises(echoic.InvalidArgumentError):
            kl.enroll("a@b", kw / "yes_1000ms.wav")
        with pytest.raises(echoic.InvalidArgumentError):
            kl.enroll("silence", kw / "silence_1000ms.wav")  # no speech in it
    with KeywordLookup(path, model=whisper_dir) as kl:
        assert kl.keywords() == ["porcupine", "yes"]
        ex = {k: (dur, thr) for _, k, dur, thr in kl.examples()}
        assert 0.3 < ex["yes"][0] < 1.0 and 0.5 < ex["porcupine"][0] < 1.2, ex
        assert all(thr >= kl.options["min_threshold"] for _, thr in ex.values())
        assert kl.remove("yes") == 1
        with pytest.raises(echoic.NotFoundError):
            kl.remove("yes")
        assert kl.remove("porcupine") == 1
        with pytest.raises(echoic.StateError):
            kl.scanner()  # nothing enrolled


def test_shares_a_speaker_index(tmp_path, whisper_dir, shared_dir, kw):
    """Keyword entries go into a speaker index's file under their own namespace; both keep working."""
    from echoic.speaker import SpeakerRegistry

    spk = shared_dir / "eval" / "speaker"
    model = shared_dir / "models" / "speaker-dvector" / "embedder.int8.onnx"
    path = tmp_path / "shared.idx"
    with SpeakerRegistry(path, model=model, create=True) as reg:
        reg.enroll("EAGLE-SPK1", [spk / "speaker_1_utt_1.wav"])
    with KeywordLookup(path, model=whisper_dir) as kl:
        kl.enroll("porcupine", kw / "porcupine.wav")
        assert [d.keyword for d in kl.detect(kw / "multiple_keywords.wav")] == ["porcupine", "porcupine"]
    with SpeakerRegistry(path, model=model, read_only=True) as reg:
        assert reg.list() == ["EAGLE-SPK1"]
        assert reg.identify(spk / "speaker_1_test_utt.wav")[0] == "EAGLE-SPK1"


def test_cli_enroll_and_find(tmp_path, whisper_dir, kw, capsys):
    from echoic import cli

    idx = str(tmp_path / "cli.idx")
    model = ["--model", str(whisper_dir)]
    assert cli.main(["lookup", "enroll", str(kw / "porcupine.wav"), "--index", idx, "--name", "porcupine",
                     *model]) == 0
    capsys.readouterr()
    mk = str(kw / "multiple_keywords.wav")
    assert cli.main(["lookup", "find", "--index", idx, mk, str(kw / "yes_1000ms.wav"), *model]) == 0
    rows = [r.split("\t") for r in capsys.readouterr().out.splitlines()]
    assert [(r[0], r[3]) for r in rows] == [(mk, "porcupine")] * 2, rows
    assert abs(float(rows[0][1]) - PORCUPINES[0]) < 0.6 and float(rows[0][2]) > float(rows[0][1])
    assert cli.main(["lookup", "find", mk, "--json", "--index", idx, *model]) == 0
    js = json.loads(capsys.readouterr().out)
    assert [r["word"] for r in js] == ["porcupine", "porcupine"] and js[0]["file"] == mk
    assert cli.main(["lookup", "find", mk, "--index", str(tmp_path / "missing.idx"), *model]) == 1


@pytest.fixture(scope="module")
def clib():
    path = os.environ.get("ECHOIC_C_LIBRARY")
    if not path or not os.path.exists(path):
        pytest.skip("ECHOIC_C_LIBRARY (libechoic.so) is not set")
    lib = ctypes.CDLL(path)
    lib.echoic_last_error.restype = ctypes.c_char_p
    return lib


def test_c_api_round_trip(tmp_path, whisper_dir, kw, clib):
    P = ctypes.c_void_p
    h = P()
    idx = str(tmp_path / "c.idx").encode()
    proj = str(echoic.registry.resolve_model_file("lookup")).encode()
    assert clib.echoic_lookup_create(str(whisper_dir).encode(), proj, idx, None, 1, ctypes.byref(h)) == 0, \
        clib.echoic_last_error()
    clip = np.ascontiguousarray(_read(kw / "porcupine.wav"), dtype=np.float32)
    fp = ctypes.POINTER(ctypes.c_float)
    rc = clib.echoic_lookup_enroll(h, b"porcupine", clip.ctypes.data_as(fp), ctypes.c_size_t(len(clip)))
    assert rc == 0, clib.echoic_last_error()
    x = np.ascontiguousarray(_read(kw / "multiple_keywords.wav"), dtype=np.float32)
    for i in range(0, len(x), 48000):
        part = x[i:i + 48000]
        assert clib.echoic_lookup_accept_waveform(h, part.ctypes.data_as(fp), ctypes.c_size_t(len(part))) == 0
    assert clib.echoic_lookup_input_finished(h) == 0
    found = []
    has, start, end, score = ctypes.c_int32(), ctypes.c_double(), ctypes.c_double(), ctypes.c_float()
    while True:
        assert clib.echoic_lookup_pop_detection(h, ctypes.byref(has), ctypes.byref(start), ctypes.byref(end),
                                                ctypes.byref(score)) == 0
        if not has.value:
            break
        keyword = ctypes.c_char_p()
        assert clib.echoic_lookup_detection_keyword(h, ctypes.byref(keyword)) == 0
        found.append((keyword.value.decode(), start.value))
    assert [k for k, _ in found] == ["porcupine", "porcupine"], found
    assert sorted(abs(s - t) < 0.6 for (_, s), t in zip(sorted(found, key=lambda f: f[1]), PORCUPINES))
    assert clib.echoic_lookup_free(h) == 0
    # A freed handle is refused, not dereferenced.
    assert clib.echoic_lookup_input_finished(h) != 0
    # A damaged projection file is a typed error naming it.
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"ECHAWEP1" + bytes(40))
    h2 = P()
    assert clib.echoic_lookup_create(str(whisper_dir).encode(), str(bad).encode(), str(tmp_path / "c2.idx").encode(),
                                     None, 1, ctypes.byref(h2)) == 3  # ECHOIC_ERR_CORRUPT_DATA
    assert b"bad.bin" in clib.echoic_last_error() and not h2.value


def test_old_import_path_is_a_deprecated_alias():
    import importlib
    import sys

    sys.modules.pop("echoic.keyword_lookup", None)
    with pytest.warns(DeprecationWarning, match="echoic.kws.lookup"):
        old = importlib.import_module("echoic.keyword_lookup")
    assert old is importlib.import_module("echoic.kws.lookup")
