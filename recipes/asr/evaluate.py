"""WER of an exported model, decoded exactly as a streaming client does (ONNX Runtime,
chunk by chunk, greedy CTC), on the held-out synthetic voices and on speech-dev.

  python3 recipes/asr/evaluate.py --model-dir sdk/echoic/models/echoic-small-en \
      --data ~/.cache/echoic/asr-data --speech-dev ../shared/eval/speech-dev
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import text as T  # noqa: E402
from data import fbank  # noqa: E402


class StreamingCtc:
    def __init__(self, model: Path, tokens: Path, threads: int = 1):
        o = ort.SessionOptions()
        o.intra_op_num_threads = threads
        self.sess = ort.InferenceSession(str(model), o, providers=["CPUExecutionProvider"])
        m = self.sess.get_modelmeta().custom_metadata_map
        self.h, self.n, self.d = int(m["head"]), int(m["num_blocks"]), int(m["output_size"])
        self.k, self.c = int(m["cnn_module_kernel"]), int(m["chunk_size"])
        self.s = self.c * int(m["num_left_chunks"])
        sub, rc = int(m["subsampling_factor"]), int(m["right_context"])
        self.t, self.shift = (self.c - 1) * sub + rc + 1, self.c * sub
        self.names = [i.name for i in self.sess.get_inputs()]
        self.table = {}
        for line in Path(tokens).read_text(encoding="utf-8").splitlines():
            sym, idx = line.split()
            self.table[int(idx)] = sym

    def decode(self, samples: np.ndarray, tail_seconds: float = 0.5) -> str:
        # Tail padding so the last words leave the final partial chunk (as a client would).
        x = np.concatenate([samples, np.zeros(int(16000 * tail_seconds), np.float32)])
        feats = fbank(x)
        att = np.zeros((self.n, self.h, self.s, self.d // self.h * 2), np.float32)
        cnn = np.zeros((self.n, 1, self.d, self.k - 1), np.float32)
        offset, best, start = self.s, [], 0
        while start + self.t <= feats.shape[0]:
            mask = np.ones((1, 1, self.s + self.c), bool)
            filled = min(start // self.shift, self.s // self.c) * self.c
            mask[..., : self.s - filled] = False
            lp, att, cnn = self.sess.run(None, dict(zip(self.names, [
                feats[None, start:start + self.t], np.array([offset], np.int64),
                np.array([self.s], np.int64), att, cnn, mask])))
            best.extend(lp[0].argmax(-1).tolist())
            offset += lp.shape[1]
            start += self.shift
        ids, prev = [], -1
        for y in best:
            if y != 0 and y != prev:
                ids.append(y)
            prev = y
        return "".join(" " if self.table[i] == "\u2581" else self.table[i] for i in ids).strip()


def run_set(dec: StreamingCtc, items):
    refs, hyps, audio_s, t0 = [], [], 0.0, time.time()
    for wav, ref in items:
        x, sr = sf.read(str(wav), dtype="float32")
        if x.ndim > 1:
            x = x.mean(1)
        assert sr == 16000, f"{wav}: expected 16 kHz, got {sr}"
        audio_s += len(x) / sr
        hyps.append(dec.decode(x))
        refs.append(ref)
    return {"utterances": len(refs), "wer": round(T.wer(refs, hyps), 4),
            "rtf_1thread": round((time.time() - t0) / max(audio_s, 1e-9), 4),
            "examples": [(T.normalize(r), h) for r, h in list(zip(refs, hyps))[:4]]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", type=Path, required=True)
    ap.add_argument("--model-file", default="model.onnx")
    ap.add_argument("--data", type=Path, default=Path("~/.cache/echoic/asr-data").expanduser())
    ap.add_argument("--speech-dev", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    a = ap.parse_args(argv)
    dec = StreamingCtc(a.model_dir / a.model_file, a.model_dir / "tokens.txt")
    res = {}
    test = a.data / "test"
    if (test / "manifest.jsonl").exists():
        items = [json.loads(l) for l in open(test / "manifest.jsonl", encoding="utf-8")]
        pairs = [(test / "wav" / f"{it['id']}.wav", it["text"]) for it in items]
        res["synthetic_held_out_voices"] = run_set(dec, pairs)
    if a.speech_dev:
        with open(a.speech_dev / "transcripts.tsv", encoding="utf-8") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        res["speech_dev"] = run_set(dec, [(a.speech_dev / r["file"], r["transcript"]) for r in rows])
    print(json.dumps(res, indent=2))
    if a.out:
        a.out.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
