#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ and fuzz/data/wal_main.idx from real files:
indexes and logs made with the echoic Python API, the contracts (signature + metadata) of the
repo's models, a trimmed ARPA, a short excerpt of a /work/shared/eval recording, the first lines
of an imported Whisper model's vocabulary and merges.

    PYTHONPATH=sdk:<build>/python python3 fuzz/make_seeds.py [--whisper-dir DIR]

Needs the onnx package (model contracts) and an importable echoic. Seeds are rewritten, not
appended; the corpora stay small (the fuzzers mutate them).
"""
from __future__ import annotations

import argparse
import os
import shutil
import struct
import tempfile
import wave
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FUZZ = REPO / "fuzz"
CORPUS = FUZZ / "corpus"
MODELS = REPO / "sdk" / "echoic" / "models"
SHARED = REPO.parent / "shared"


def target(name: str) -> Path:
    d = CORPUS / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return d


def indexes(tmp: Path) -> None:
    from echoic.index import EmbeddingIndex

    rng = np.random.default_rng(7)
    out = target("index")
    for name, kw in [("flat", dict(encoding="flat")), ("sq8", dict(encoding="sq8", metric="l2")),
                     ("pq", dict(encoding="pq", m=4, keep_fp16=False)),
                     ("pq-refine-ip", dict(encoding="pq", m=4, refine_m=4, metric="ip"))]:
        path = tmp / f"{name}.idx"
        idx = EmbeddingIndex.create(path, dim=8, train_iterations=2, **kw)
        if kw["encoding"] != "flat":
            idx.train(rng.standard_normal((300, 8)).astype(np.float32))
        idx.add(rng.standard_normal((5, 8)).astype(np.float32), labels=["a", "b", "c", "d", "e"])
        idx.add(rng.standard_normal((2, 8)).astype(np.float32), namespace="other")
        idx.save()
        idx.close()
        shutil.copy(path, out / name)

    # The log target: one main file and logs of its generation.
    data = FUZZ / "data"
    data.mkdir(exist_ok=True)
    wal = target("wal")
    path = tmp / "wal.idx"
    idx = EmbeddingIndex.create(path, dim=8, encoding="flat")
    ids = idx.add(rng.standard_normal((3, 8)).astype(np.float32), labels=["x", "y", "z"])
    idx.save()
    shutil.copy(path, data / "wal_main.idx")
    shutil.copy(f"{path}.wal", wal / "empty")
    new = idx.add(rng.standard_normal((2, 8)).astype(np.float32), labels=["p", "q"], namespace="ns2")
    shutil.copy(f"{path}.wal", wal / "adds")
    idx.remove([int(ids[0]), int(new[1])])
    shutil.copy(f"{path}.wal", wal / "adds-removes")
    idx.close()


def contract(onnx_path: Path, section: str | None = None, extra: dict[str, str] | None = None) -> str:
    import onnx

    m = onnx.load(str(onnx_path), load_external_data=False)
    init = {i.name for i in m.graph.initializer}
    names = {1: "float32", 10: "float16", 7: "int64", 6: "int32", 3: "int8", 2: "uint8", 9: "bool"}
    lines = [f"[{section}]"] if section else []
    for p in m.metadata_props:
        lines.append(f"{p.key}={p.value}".replace("\n", " "))
    for k, v in (extra or {}).items():
        lines.append(f"{k}={v}")
    for mark, values in ((">", [v for v in m.graph.input if v.name not in init]), ("<", m.graph.output)):
        for v in values:
            t = v.type.tensor_type
            dims = [str(d.dim_value) if d.HasField("dim_value") else "-1" for d in t.shape.dim]
            lines.append(f"{mark}{v.name}:{names.get(t.elem_type, 'float32')}:{','.join(dims)}")
    return "\n".join(lines) + "\n"


def models(whisper_dir: Path | None) -> None:
    data = REPO / "tests" / "data"
    out = target("asr_model")
    (out / "wenet-random").write_text(contract(data / "asr-random-wenet" / "model.onnx"))
    small = contract(MODELS / "echoic-small-en" / "model.onnx")
    (out / "echoic-small-en").write_text(small)
    # what `echoic compress --prune-heads 0.5` writes: fewer heads of the same width (head_dim)
    (out / "echoic-small-en-3-heads").write_text(small.replace("head=6\n", "head=3\nhead_dim=64\n", 1))
    (out / "echoic-tiny-en").write_text(contract(MODELS / "echoic-tiny-en" / "model.onnx"))
    t = data / "asr-random-transducer"
    (out / "transducer-random").write_text("".join(contract(t / f"{p}.onnx", p) for p in ("encoder", "decoder", "joiner")))
    target("kws_model").joinpath("echoic-kws-en").write_text(contract(MODELS / "echoic-kws-en" / "model.onnx"))
    target("speaker_model").joinpath("speaker-dvector").write_text(
        contract(MODELS / "speaker-dvector" / "embedder.int8.onnx"))
    vad = target("vad_model")
    vad.joinpath("silero-16k").write_text(contract(MODELS / "silero-vad" / "silero_vad.onnx"))
    vad.joinpath("silero-8k").write_text(contract(MODELS / "silero-vad" / "silero_vad.onnx",
                                                  extra={"fuzz_sample_rate": "8000"}))
    if whisper_dir:
        target("whisper_model").joinpath(whisper_dir.name).write_text(
            contract(whisper_dir / "encoder.onnx", "encoder") + contract(whisper_dir / "decoder.onnx", "decoder"))
        vocab = (whisper_dir / "vocabulary.txt").read_bytes().split(b"\n")
        merges = (whisper_dir / "merges.txt").read_bytes().split(b"\n")
        tok = target("whisper_tokenizer")
        tok.joinpath("decode-only").write_bytes(b"\n".join(vocab[:300]) + b"\n<|endoftext|>\n")
        tok.joinpath("bpe").write_bytes(b"\n".join(vocab[:1200]) + b"\n#merges\n" + b"\n".join(merges[:945]) + b"\n")


def word_lm() -> None:
    """The bundled ARPA cut to its first unigrams, bigrams and trigrams (counts fixed up)."""
    out = target("word_lm")
    text = (MODELS / "echoic-small-en" / "lm.arpa").read_text(encoding="utf-8").splitlines()
    sections: dict[int, list[str]] = {}
    order = 0
    for line in text:
        if line.startswith("\\") and line.endswith("-grams:"):
            order = int(line[1:line.index("-")])
            sections[order] = []
        elif order and line.strip() and not line.startswith("\\"):
            sections[order].append(line)
    keep = {1: 60, 2: 40, 3: 20}
    for name, orders in (("trigram", (1, 2, 3)), ("bigram", (1, 2)), ("unigram", (1,))):
        body = ["\\data\\"] + [f"ngram {n}={min(keep[n], len(sections.get(n, [])))}" for n in orders]
        for n in orders:
            body += ["", f"\\{n}-grams:"] + sections.get(n, [])[: keep[n]]
        body += ["", "\\end\\", ""]
        (out / name).write_text("\n".join(body), encoding="utf-8")


def hotwords() -> None:
    out = target("hotwords")
    (out / "plain").write_text("echoic\nopen sesame\ngo forward\n")
    (out / "boosts").write_text("# boosted\nopen sesame\t2.5\nGo Forward! :1.5\n\nnaïve café :0\n")
    (out / "apostrophes").write_text("don't stop\nrock 'n' roll\t3\n")


def audio() -> None:
    """0.2 s of a real recording in each input format the audio target reads."""
    out = target("audio")
    wav = SHARED / "eval" / "speech-dev" / "pocketsphinx-goforward__goforward.wav"
    with wave.open(str(wav)) as w:
        rate, ch = w.getframerate(), w.getnchannels()
        w.setpos(min(w.getnframes() // 2, rate))
        pcm = np.frombuffer(w.readframes(rate // 5), dtype=np.int16)
    x = pcm.astype(np.float64) / 32768.0
    head = lambda fmt, chans: bytes([fmt, chans - 1, 0]) + struct.pack("<H", rate // 4)
    (out / "int16-mono").write_bytes(head(0, ch) + pcm.tobytes())
    (out / "int32-stereo").write_bytes(head(1, 2) + np.repeat(pcm.astype(np.int32) << 16, 2).tobytes())
    (out / "uint8").write_bytes(head(2, 1) + ((pcm >> 8) + 128).astype(np.uint8).tobytes())
    (out / "float64").write_bytes(head(3, 1) + x.tobytes())
    (out / "float32-3ch").write_bytes(head(4, 3) + np.repeat(x.astype(np.float32), 3).tobytes())


def main() -> None:
    ap = argparse.ArgumentParser()
    cache = Path(os.environ.get("ECHOIC_WHISPER_TEST_DIR", Path.home() / ".cache/echoic/models/whisper-tiny.en"))
    ap.add_argument("--whisper-dir", type=Path, default=cache if (cache / "decoder.onnx").exists() else None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        indexes(Path(tmp))
    models(args.whisper_dir)
    word_lm()
    hotwords()
    audio()
    total = sum(f.stat().st_size for f in CORPUS.rglob("*") if f.is_file())
    print(f"seeds: {sum(1 for f in CORPUS.rglob('*') if f.is_file())} files, {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
