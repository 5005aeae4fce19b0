"""Export a streaming CTC encoder (model.py's conformer or whisper_student.py's distilled
Whisper encoder) to the echoic / sherpa-onnx WeNet-CTC ONNX contract.

  python3 recipes/asr/export.py --checkpoint exp/ckpt/best.pt --out sdk/echoic/models/echoic-small-en
  python3 recipes/asr/export.py --random --seed 0 --out tests/data/asr-random-wenet

Writes model.onnx (+ model.int8.onnx with --int8) and tokens.txt into --out.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import model as conformer  # noqa: E402
import text  # noqa: E402
import whisper_student  # noqa: E402
from model import ModelConfig, StreamingConformerCTC  # noqa: E402

INPUT_NAMES = ["x", "offset", "required_cache_size", "att_cache", "cnn_cache", "att_mask"]
OUTPUT_NAMES = ["log_probs", "new_att_cache", "new_cnn_cache"]
CONTRACT_VERSION = "1"

# The small random model for the recognizer's mechanics tests (< 1 MB).
RANDOM_CONFIG = dict(d_model=64, heads=4, num_blocks=2, ffn_dim=128, kernel=15, chunk_size=16,
                     num_left_chunks=4, macaron=False, dropout=0.0)


class _ChunkWrapper(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x, offset, required_cache_size, att_cache, cnn_cache, att_mask):
        return self.model.forward_chunk(x, offset, required_cache_size, att_cache, cnn_cache, att_mask)


def front_end(model) -> tuple[int, int]:
    """(subsampling factor, right context) of the model's convolutional front end."""
    mod = whisper_student if isinstance(model, whisper_student.WhisperStudentCTC) else conformer
    return mod.SUBSAMPLING, mod.RIGHT_CONTEXT


def example_inputs(model, batch: int = 1):
    cfg = model.cfg
    t = model.chunk_frames()
    s = cfg.cache_size
    dk2 = cfg.d_model // cfg.heads * 2
    return (
        torch.randn(batch, t, cfg.feature_dim),
        torch.full((batch,), s, dtype=torch.int64),
        torch.tensor([s], dtype=torch.int64),
        torch.zeros(cfg.cache_layers, batch * cfg.heads, s, dk2),
        torch.zeros(cfg.cache_layers, batch, cfg.d_model, cfg.kernel - 1),
        torch.ones(batch, 1, s + cfg.chunk_size, dtype=torch.bool),
    )


def metadata(model, model_name: str) -> dict[str, str]:
    cfg = model.cfg
    subsampling, right_context = front_end(model)
    return {
        # read by sherpa-onnx
        "head": str(cfg.heads),
        "num_blocks": str(cfg.cache_layers),  # layers of the attention cache
        "output_size": str(cfg.d_model),
        "cnn_module_kernel": str(cfg.kernel),
        "right_context": str(right_context),
        "subsampling_factor": str(subsampling),
        "vocab_size": str(cfg.vocab_size),
        # echoic extras
        "model_type": "wenet_ctc",
        "chunk_size": str(cfg.chunk_size),
        "num_left_chunks": str(cfg.num_left_chunks),
        "feature_dim": str(cfg.feature_dim),
        # Kaldi fbank as sherpa-onnx computes it: povey window, 25/10 ms, dither 0,
        # snip_edges false, mel band 20 Hz .. Nyquist-400 Hz.
        "fbank_low_freq": "20",
        "fbank_high_freq": "-400",
        "sample_rate": "16000",
        "input_scale": "32768",
        "blank_id": "0",
        "batch_dim": "stream_major",
        "echoic_contract_version": CONTRACT_VERSION,
        "model_name": model_name,
        "vocab_type": "char",
        # Whisper students add sinusoidal positions by frames since the stream started, read from offset
        # (recipes/asr/whisper_student.py); the conformer has relative positions only.
        "positions": "offset" if isinstance(model, whisper_student.WhisperStudentCTC) else "relative",
    }


def export(model, out_dir: Path, model_name: str, int8: bool = False,
           opset: int = 17) -> Path:
    import onnx

    out_dir.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    path = out_dir / "model.onnx"
    dyn = {
        "x": {0: "B"},
        "offset": {0: "B_or_1"},
        "att_cache": {1: "B_x_head"},
        "cnn_cache": {1: "B"},
        "att_mask": {0: "B"},
        "log_probs": {0: "B"},
        "new_att_cache": {1: "B_x_head"},
        "new_cnn_cache": {1: "B"},
    }
    with torch.no_grad():
        torch.onnx.export(_ChunkWrapper(model), example_inputs(model, 2), str(path), dynamo=False,
                          input_names=INPUT_NAMES, output_names=OUTPUT_NAMES, dynamic_axes=dyn,
                          opset_version=opset, do_constant_folding=True)
    proto = onnx.load(str(path))
    got = [i.name for i in proto.graph.input]
    if got != INPUT_NAMES:
        raise RuntimeError(f"exported graph inputs {got} != contract {INPUT_NAMES}")
    del proto.metadata_props[:]
    for k, v in metadata(model, model_name).items():
        proto.metadata_props.add(key=k, value=v)
    onnx.save(proto, str(path))
    text.write_tokens(out_dir / "tokens.txt")
    if int8:
        quantize_int8(path, out_dir / "model.int8.onnx", metadata(model, model_name + "-int8"))
    return path


def quantize_int8(src: Path, dst: Path, meta: dict) -> None:
    """Weight-only int8 (one scale per block of 32 input weights, int8 compute with per-row activation
    scales, so batching streams does not change any stream's result): echoic.compress's quantizer, the
    same code `echoic compress --quantize int8` runs. Plain dynamic quantization (one activation scale
    per batch tensor) moved batched log-probs by up to 0.2, so it is not used."""
    import onnx

    from echoic.compress.graph import Graph
    from echoic.compress.quantize import quantize_weights

    proto = quantize_weights(Graph(onnx.load(str(src))), bits=8, block_size=32).model
    del proto.metadata_props[:]
    for k, v in meta.items():
        proto.metadata_props.add(key=k, value=v)
    onnx.save(proto, str(dst))


def random_model(seed: int, **overrides) -> StreamingConformerCTC:
    torch.manual_seed(seed)
    cfg = ModelConfig(vocab_size=len(text.TOKENS), **{**RANDOM_CONFIG, **overrides})
    m = StreamingConformerCTC(cfg)
    with torch.no_grad():
        # Plausible CMVN for int16-range Kaldi fbank (log energies ~ 5..20).
        m.cmvn.mean.fill_(12.0)
        m.cmvn.istd.fill_(0.3)
        for blk in m.blocks:
            blk.att.rel_bias.normal_(0.0, 1.0)
        # Spread the logits so the greedy path is non-trivial and argmax ties are unlikely.
        m.ctc.weight.mul_(8.0)
        m.ctc.bias.normal_(0.0, 1.0)
    return m


def load_checkpoint(path: Path):
    ck = torch.load(str(path), map_location="cpu", weights_only=False)
    if ck["config"].get("arch") == "whisper_student":
        cfg = {k: v for k, v in ck["config"].items() if k != "max_positions"}  # positions are computed now
        m = whisper_student.WhisperStudentCTC(whisper_student.StudentConfig(**cfg))
        ck["model"].pop("positions", None)
    else:
        m = StreamingConformerCTC(ModelConfig(**ck["config"]))
    m.load_state_dict(ck["model"])
    return m


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", type=Path)
    src.add_argument("--random", action="store_true", help="small random-weight test model")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--name", default=None)
    ap.add_argument("--int8", action="store_true", help="also write model.int8.onnx")
    ap.add_argument("--opset", type=int, default=17)
    # Size overrides for --random (e.g. a larger tier for the memory-fallback tests).
    ap.add_argument("--d-model", type=int, default=None)
    ap.add_argument("--num-blocks", type=int, default=None)
    ap.add_argument("--ffn-dim", type=int, default=None)
    a = ap.parse_args(argv)
    if a.random:
        sizes = {k: v for k, v in (("d_model", a.d_model), ("num_blocks", a.num_blocks), ("ffn_dim", a.ffn_dim))
                 if v is not None}
        model, name = random_model(a.seed, **sizes), a.name or f"echoic-random-wenet-seed{a.seed}"
    else:
        model, name = load_checkpoint(a.checkpoint), a.name or "echoic-small-en"
    path = export(model, a.out, name, int8=a.int8, opset=a.opset)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB, {model.num_params()} params)")


if __name__ == "__main__":
    main()
