"""A small streaming transducer (LSTM encoder + stateless prediction network +
joiner) and its export to the sherpa-onnx "lstm" transducer contract.

  python3 recipes/asr/transducer.py --random --seed 0 --out tests/data/asr-random-transducer

Writes encoder.onnx, decoder.onnx, joiner.onnx and tokens.txt into --out. The
three files run unchanged in sherpa-onnx's OnlineRecognizer.from_transducer and
in echoic's Recognizer (model = the folder).

Why the "lstm" contract: of sherpa's streaming transducer encoders it is the
simplest one that still carries real state between chunks (h/c per layer) and
batches streams (states are [layers, N, dim], stacked along dim 1); conformer
and zipformer contracts need attention/conv caches with per-model layouts.

Contract (sherpa-onnx online-lstm-transducer-model.cc):
  encoder: x [N, T, 80], h [L, N, d_model], c [L, N, rnn_hidden_size]
           -> encoder_out [N, T', joiner_dim], next_h, next_c
           metadata model_type=lstm, T, decode_chunk_len, num_encoder_layers,
           d_model, rnn_hidden_size
  decoder: y [N, context_size] int64 (-1 = no token yet) -> decoder_out [N, joiner_dim]
           metadata vocab_size, context_size
  joiner:  encoder_out [N, joiner_dim], decoder_out [N, joiner_dim] -> logit [N, vocab]
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import text  # noqa: E402

# Subsampling front: Conv1d(kernel 7, stride 4) over feature frames, so encoder
# frame j sees feature frames [4j, 4j+7). A chunk of T = decode_chunk_len + 3
# frames yields decode_chunk_len / 4 encoder frames and the next chunk starts
# decode_chunk_len frames later: chunked output equals whole-utterance output.
SUBSAMPLING = 4
BLANK_BIAS = 5.0  # about half the frames of speech decode to blank
KERNEL = 7


@dataclass
class TransducerConfig:
    vocab_size: int = len(text.TOKENS)
    feature_dim: int = 80
    d_model: int = 96
    num_layers: int = 2
    joiner_dim: int = 96
    decoder_dim: int = 48
    context_size: int = 2
    decode_chunk_len: int = 32  # feature frames per chunk shift (multiple of SUBSAMPLING)

    @property
    def T(self) -> int:
        return self.decode_chunk_len + KERNEL - SUBSAMPLING


class Encoder(nn.Module):
    def __init__(self, cfg: TransducerConfig):
        super().__init__()
        self.cfg = cfg
        self.subsample = nn.Conv1d(cfg.feature_dim, cfg.d_model, KERNEL, stride=SUBSAMPLING)
        self.lstm = nn.LSTM(cfg.d_model, cfg.d_model, num_layers=cfg.num_layers, batch_first=True)
        self.proj = nn.Linear(cfg.d_model, cfg.joiner_dim)  # encoder_proj of the joiner

    def forward(self, x, h, c):
        # Log-mel of [-1,1] samples lies around -15..5; centre it roughly.
        y = torch.relu(self.subsample(((x + 6.0) * 0.25).transpose(1, 2))).transpose(1, 2)
        y, (nh, nc) = self.lstm(y, (h, c))
        return self.proj(y), nh, nc


class Decoder(nn.Module):
    """Stateless prediction network: embeddings of the last context_size tokens."""

    def __init__(self, cfg: TransducerConfig):
        super().__init__()
        self.cfg = cfg
        self.embedding = nn.Embedding(cfg.vocab_size, cfg.decoder_dim)
        self.proj = nn.Linear(cfg.context_size * cfg.decoder_dim, cfg.joiner_dim)  # decoder_proj

    def forward(self, y):
        # sherpa's modified beam search pads the context with -1 ("no token").
        e = self.embedding(y.clamp(min=0)) * (y >= 0).unsqueeze(-1).to(torch.float32)
        return torch.relu(self.proj(e.flatten(1)))


class Joiner(nn.Module):
    def __init__(self, cfg: TransducerConfig):
        super().__init__()
        self.out = nn.Linear(cfg.joiner_dim, cfg.vocab_size)

    def forward(self, encoder_out, decoder_out):
        return self.out(torch.tanh(encoder_out + decoder_out))


class StreamingTransducer(nn.Module):
    def __init__(self, cfg: TransducerConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.joiner = Joiner(cfg)

    def init_states(self, batch: int):
        z = torch.zeros(self.cfg.num_layers, batch, self.cfg.d_model)
        return z, z.clone()


def random_model(seed: int) -> StreamingTransducer:
    torch.manual_seed(seed)
    m = StreamingTransducer(TransducerConfig())
    with torch.no_grad():
        # Spread the logits so argmax ties are unlikely, and favour blank enough
        # that the greedy path both emits and skips frames.
        # Let the audio, not only the token context, drive the output.
        m.encoder.subsample.weight.mul_(6.0)
        for name, p in m.encoder.lstm.named_parameters():
            if name.startswith("weight_ih"):
                p.mul_(4.0)
        m.encoder.proj.weight.mul_(12.0)
        m.joiner.out.weight.mul_(6.0)
        m.joiner.out.bias.normal_(0.0, 1.0)
        m.joiner.out.bias[0] = BLANK_BIAS
        m.joiner.out.bias[1] = -1.0  # "▁" would dominate otherwise
    return m.eval()


def _set_metadata(path: Path, meta: dict) -> None:
    import onnx

    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    for k, v in meta.items():
        proto.metadata_props.add(key=k, value=str(v))
    onnx.save(proto, str(path))


def export(model: StreamingTransducer, out_dir: Path, model_name: str, opset: int = 17) -> None:
    cfg = model.cfg
    out_dir.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    n = 2
    h, c = model.init_states(n)
    common = {"vocab_size": cfg.vocab_size, "context_size": cfg.context_size, "joiner_dim": cfg.joiner_dim,
              "model_name": model_name, "blank_id": 0}
    with torch.no_grad():
        torch.onnx.export(model.encoder, (torch.randn(n, cfg.T, cfg.feature_dim), h, c), str(out_dir / "encoder.onnx"),
                          dynamo=False, input_names=["x", "h", "c"], output_names=["encoder_out", "next_h", "next_c"],
                          dynamic_axes={"x": {0: "N"}, "h": {1: "N"}, "c": {1: "N"}, "encoder_out": {0: "N"},
                                        "next_h": {1: "N"}, "next_c": {1: "N"}},
                          opset_version=opset)
        torch.onnx.export(model.decoder, (torch.zeros(n, cfg.context_size, dtype=torch.int64),),
                          str(out_dir / "decoder.onnx"), dynamo=False, input_names=["y"],
                          output_names=["decoder_out"], dynamic_axes={"y": {0: "N"}, "decoder_out": {0: "N"}},
                          opset_version=opset)
        torch.onnx.export(model.joiner, (torch.randn(n, cfg.joiner_dim), torch.randn(n, cfg.joiner_dim)),
                          str(out_dir / "joiner.onnx"), dynamo=False, input_names=["encoder_out", "decoder_out"],
                          output_names=["logit"],
                          dynamic_axes={"encoder_out": {0: "N"}, "decoder_out": {0: "N"}, "logit": {0: "N"}},
                          opset_version=opset)
    _set_metadata(out_dir / "encoder.onnx", {
        # read by sherpa-onnx
        "model_type": "lstm",
        "T": cfg.T,
        "decode_chunk_len": cfg.decode_chunk_len,
        "num_encoder_layers": cfg.num_layers,
        "d_model": cfg.d_model,
        "rnn_hidden_size": cfg.d_model,
        # echoic extras; transducers take samples in [-1, 1] (sherpa normalize_samples)
        "subsampling_factor": SUBSAMPLING,
        "feature_dim": cfg.feature_dim,
        "sample_rate": 16000,
        "input_scale": "1",
        "fbank_low_freq": "20",
        "fbank_high_freq": "-400",
        **common,
    })
    _set_metadata(out_dir / "decoder.onnx", common)
    _set_metadata(out_dir / "joiner.onnx", common)
    text.write_tokens(out_dir / "tokens.txt")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--random", action="store_true", required=True, help="small random-weight test model")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--name", default=None)
    a = ap.parse_args(argv)
    model = random_model(a.seed)
    export(model, a.out, a.name or f"echoic-random-transducer-seed{a.seed}")
    size = sum(p.stat().st_size for p in a.out.glob("*.onnx"))
    print(f"wrote {a.out} ({size / 1e6:.2f} MB, {sum(p.numel() for p in model.parameters())} params, "
          f"config {asdict(model.cfg)})")


if __name__ == "__main__":
    main()
