"""Speaker embedder and registry (identify/verify/persistence) on real clips; keyword lookup is in
test_keyword_lookup.py."""

import numpy as np
import pytest

import echoic
from echoic.speaker import SpeakerModel, SpeakerRegistry


@pytest.fixture(scope="module")
def model_path(shared_dir):
    return shared_dir / "models" / "speaker-dvector" / "embedder.int8.onnx"


@pytest.fixture(scope="module")
def model(model_path):
    return SpeakerModel(model_path)


@pytest.fixture(scope="module")
def spk(shared_dir):
    return shared_dir / "eval" / "speaker"


def _lj(speech_dev):
    return sorted(speech_dev.glob("ljspeech__LJ001-000*.wav"))


def test_embedding_is_unit_norm_and_speaker_specific(model, spk):
    a = model.embed(spk / "speaker_1_utt_1.wav")
    b = model.embed(spk / "speaker_1_test_utt.wav")
    c = model.embed(spk / "speaker_2_test_utt.wav")
    assert a.shape == (256,) and a.dtype == np.float32
    assert abs(float(np.linalg.norm(a)) - 1) < 1e-4
    assert float(a @ b) > float(a @ c) + 0.3
    assert model.config["n_mels"] == 40 and model.config["frames_per_window"] == 80


def test_embedding_matches_package_recipe_on_features(model, spk):
    # The package's front-end is librosa; when librosa is present, compare features directly.
    librosa = pytest.importorskip("librosa")
    import soundfile as sf

    wav, _ = sf.read(str(spk / "speaker_2_test_utt.wav"), dtype="float32")
    ref = librosa.feature.melspectrogram(y=wav, sr=16000, n_fft=512, win_length=400, hop_length=160, n_mels=40,
                                         window="hamming", center=False, power=2.0)
    ref = np.log10(ref + 1e-10).T
    ours = model.features(wav)
    assert ours.shape == ref.shape
    assert np.abs(ours - ref).max() < 1e-3


def test_vad_trimmed_embedding(shared_dir, model_path, model, spk):
    trimmed = SpeakerModel(model_path, vad_model=shared_dir / "models" / "vad-silero" / "silero_vad.onnx")
    x = model.samples(spk / "speaker_1_test_utt.wav")
    silence = np.zeros(16000 * 3, np.float32)
    padded = np.concatenate([silence, x, silence])
    assert len(trimmed.samples(padded)) < len(padded) - 16000 * 5  # the padding is dropped
    ref = model.embed(x)
    # Trimming keeps the speaker; plain embedding of the padded clip drifts further.
    assert float(trimmed.embed(padded) @ ref) > float(model.embed(padded) @ ref)
    assert float(trimmed.embed(padded) @ ref) > 0.9


def test_array_input_is_resampled(model, spk):
    x = model.samples(spk / "speaker_1_utt_1.wav")
    # Up-sampled 22.05 kHz input is brought back to the model's 16 kHz.
    x22 = echoic.audio.from_array(x, 16000, target_rate=22050).samples
    e16, e22 = model.embed(x), model.embed(x22, sample_rate=22050)
    assert float(e16 @ e22) > 0.95


@pytest.mark.parametrize("encoding", ["flat", "sq8"])
def test_registry_identify_verify_persist(tmp_path, model, spk, speech_dev, encoding):
    path = tmp_path / f"spk_{encoding}.idx"
    lj = _lj(speech_dev)
    assert len(lj) >= 5
    with SpeakerRegistry(path, model=model, encoding=encoding) as reg:
        reg.enroll("EAGLE-SPK1", [spk / "speaker_1_utt_1.wav", spk / "speaker_1_utt_2.wav"])
        reg.enroll("LJ", lj[:2])
        assert reg.list() == ["EAGLE-SPK1", "LJ"]
        name, score = reg.identify(spk / "speaker_1_test_utt.wav")
        assert name == "EAGLE-SPK1" and score >= reg.threshold
        unknown, uscore = reg.identify(spk / "speaker_2_test_utt.wav")
        assert unknown is None and uscore < reg.threshold
        for clip in lj[2:]:
            assert reg.identify(clip)[0] == "LJ"
        ok, vs = reg.verify("EAGLE-SPK1", spk / "speaker_1_test_utt.wav")
        assert ok
        bad, _ = reg.verify("LJ", spk / "speaker_1_test_utt.wav")
        assert not bad
        with pytest.raises(echoic.NotFoundError):
            reg.verify("NOBODY", spk / "speaker_1_test_utt.wav")
    with SpeakerRegistry(path, model=model) as reg:
        assert reg.list() == ["EAGLE-SPK1", "LJ"]
        assert reg.identify(spk / "speaker_1_test_utt.wav") == ("EAGLE-SPK1", pytest.approx(score, abs=1e-5))
        assert reg.verify("EAGLE-SPK1", spk / "speaker_1_test_utt.wav")[1] == pytest.approx(vs, abs=1e-5)
        assert reg.remove("LJ") == 2
        assert reg.list() == ["EAGLE-SPK1"]
        assert reg.identify(lj[3])[0] is None
        with pytest.raises(echoic.NotFoundError):
            reg.remove("LJ")


def test_pq_registry_needs_enough_training(tmp_path, model, spk, speech_dev):
    with SpeakerRegistry(tmp_path / "pq.idx", model=model, encoding="pq") as reg:
        with pytest.raises(echoic.InvalidArgumentError, match="256"):
            reg.enroll("EAGLE-SPK1", [spk / "speaker_1_utt_1.wav"])


def test_opq_keeps_32_byte_recall_on_real_dvectors(tmp_path, model, spk, speech_dev):
    """32 bytes per 256-d real d-vector: the OPQ rotation lifts recall@10 to >= 0.95."""
    files = sorted(speech_dev.glob("*.wav")) + sorted(spk.glob("*.wav"))
    x = np.concatenate([model.embed_windows(f, stride=8)[0] for f in files])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    perm = np.random.default_rng(1).permutation(len(x))
    q, base = x[perm[:150]], x[perm[150:]]
    truth = np.argsort(-(q @ base.T), axis=1)[:, :10]
    recall = {}
    for opq in (False, True):
        with echoic.EmbeddingIndex.create(tmp_path / f"o{opq}.idx", 256, encoding="pq", m=32, opq=opq,
                                          keep_fp16=False) as ix:
            ix.train(base)
            ids = ix.add(base)
            assert ix.bytes_per_vector == 32
            got = ix.search(q, k=10)[1]
            row = {int(v): i for i, v in enumerate(ids)}
            recall[opq] = np.mean([len({row[int(g)] for g in got[r]} & set(truth[r])) / 10 for r in range(len(q))])
    assert recall[True] >= 0.95, recall
    assert recall[True] > recall[False] + 0.02, recall


def test_registry_refuses_other_encoder(tmp_path, model, spk):
    path = tmp_path / "other.idx"
    echoic.EmbeddingIndex.create(path, 256, encoding="flat", encoder_id="some-other-model@0123456789ab").close()
    with pytest.raises(echoic.ModelError, match="some-other-model"):
        SpeakerRegistry(path, model=model)


def test_corrupt_audio_is_typed(tmp_path, model, spk):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage that is not audio at all")
    with pytest.raises(echoic.CorruptDataError):
        model.embed(bad)
    with pytest.raises(echoic.EchoicIOError):
        model.embed(tmp_path / "missing.wav")
    with pytest.raises(echoic.InvalidArgumentError):
        model.embed(np.array([0.0, np.nan, 0.1], dtype=np.float32))
    with pytest.raises(echoic.InvalidArgumentError):
        model.embed(np.zeros((0,), np.float32))


def test_cli_speaker(tmp_path, model_path, spk, capsys):
    from echoic import cli

    opts = ["--index", str(tmp_path / "cli.idx"), "--model", str(model_path)]
    run = lambda action, *rest: cli.main(["speaker", action, *map(str, rest), *opts])  # noqa: E731
    assert run("enroll", spk / "speaker_1_utt_1.wav", spk / "speaker_1_utt_2.wav", "--name", "EAGLE-SPK1") == 0
    assert run("list") == 0
    assert capsys.readouterr().out.strip().endswith("EAGLE-SPK1")
    assert run("identify", spk / "speaker_1_test_utt.wav", spk / "speaker_2_test_utt.wav") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split("\t")[1] == "EAGLE-SPK1" and out[1].split("\t")[1] == "<unknown>"
    assert run("verify", spk / "speaker_2_test_utt.wav", "--name", "EAGLE-SPK1") == 1
    assert run("verify", spk / "speaker_1_test_utt.wav", "--name", "NOBODY") == 1
