"""Whisper's encoder made streaming: the student of distil.py, and its full-attention teacher.

The student runs echoic's streaming CTC contract (recipes/asr/README.md) unchanged:
  * input: the contract's Kaldi fbank; a per-frame affine map (``adapter``, initialised by
    least squares against Whisper's log-mel of the same audio) turns it into what Whisper's
    convolutions were trained on;
  * Whisper's two convolutions without padding (kernel 3, then kernel 3 stride 2): output
    frame j reads fbank frames 2j..2j+4, so a chunk of 16 output frames (320 ms) needs
    (16-1)*2 + 4 + 1 = 35 frames and chunks overlap by 3 frames (subsampling 2, right context 4);
  * Whisper's sinusoidal positions, by the frame's index since the stream (utterance) started: the
    contract's ``offset`` input (required_cache_size + 16 per chunk done) gives it, so streams in
    one batch may be at different positions. They are computed in the graph (Whisper's formula,
    equal to its stored table within its float16 rounding), not stored (2.3 MB less). Whisper saw
    1,500 positions (30 s); past that the sinusoids go on but the model never learned them, so
    utterances should be cut by endpointing before 30 s (echoic's rule 3 does by default).
    Dropping the positions instead (tried first) put the student 2.05 (mean squared distance
    per dimension) from the teacher at the start, against 0.55 with them (position_check.py);
  * Whisper's pre-LN blocks with block-chunk attention (a frame sees its 16-frame chunk and the
    ``num_left_chunks`` before it: the attention cache), plus a learned per-head bias over the
    relative distance (zero at start), as in model.py;
  * ``ln_post`` (what distil.py matches to the teacher), then ``head_blocks`` new blocks of the
    same kind (their own attention cache layers after Whisper's) and a CTC head over the 29
    characters of text.py.
The contract's ``cnn_cache`` is passed through unchanged (kernel 2, one frame, never read): the
blocks have no convolution, but sherpa-onnx and echoic expect the input.

The teacher is Whisper's own encoder (full attention, sinusoidal positions, padded convs) on
Whisper's log-mel; distil.py matches the student's ``ln_post`` output to it frame by frame.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import GlobalCMVN, RelBiasAttention, chunk_attention_mask  # noqa: E402

SUBSAMPLING = 2
RIGHT_CONTEXT = 4  # conv k3 then conv k3 stride 2, both unpadded: output j reads inputs 2j..2j+4
CNN_KERNEL = 2  # the contract's cnn_cache is [blocks, B, d, kernel-1]: one frame, passed through
TEACHER_SHIFT = 1  # student frame j is centred 1.25 teacher frames after teacher frame j: match j+1


@dataclass
class StudentConfig:
    vocab_size: int = 29
    feature_dim: int = 80
    d_model: int = 384
    heads: int = 6
    num_blocks: int = 4
    ffn_dim: int = 1536
    chunk_size: int = 16
    num_left_chunks: int = 4
    dropout: float = 0.0
    # New blocks between ln_post and the CTC head (random init, same chunked attention, FFN
    # head_ffn_dim): Whisper's features are phonetic per frame and a per-frame linear map cannot
    # spell from them (a linear CTC head on the frozen full-attention teacher scores 94 % WER on
    # held-out voices); a block gives the head context within and before the chunk.
    head_blocks: int = 0
    head_ffn_dim: int = 768
    arch: str = "whisper_student"

    @property
    def cache_size(self) -> int:
        return self.chunk_size * self.num_left_chunks

    @property
    def cache_layers(self) -> int:  # attention-cache layers: Whisper's blocks, then the head's
        return self.num_blocks + self.head_blocks

    @property
    def kernel(self) -> int:  # what export.metadata writes as cnn_module_kernel
        return CNN_KERNEL

    def to_dict(self) -> dict:
        return asdict(self)


class WhisperBlock(nn.Module):
    """Whisper's residual block (pre-LN attention, pre-LN GELU MLP) over chunked attention."""

    def __init__(self, cfg: StudentConfig, ffn_dim: int | None = None):
        super().__init__()
        d, ffn = cfg.d_model, ffn_dim or cfg.ffn_dim
        self.attn_ln = nn.LayerNorm(d)
        self.attn = RelBiasAttention(d, cfg.heads, cfg.chunk_size, cfg.cache_size, cfg.dropout)
        self.mlp_ln = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, ffn), nn.GELU(), nn.Linear(ffn, d))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, att_mask):
        x = x + self.drop(self.attn(self.attn_ln(x), att_mask))
        return x + self.drop(self.mlp(self.mlp_ln(x)))

    def forward_chunk(self, x, att_cache, key_mask):
        a, new_att = self.attn.forward_chunk(self.attn_ln(x), att_cache, key_mask)
        x = x + a
        return x + self.mlp(self.mlp_ln(x)), new_att


def subsampled_lengths(lens: torch.Tensor) -> torch.Tensor:
    return ((lens - 5) // 2 + 1).clamp(min=0)


class WhisperStudentCTC(nn.Module):
    def __init__(self, cfg: StudentConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.cmvn = GlobalCMVN(cfg.feature_dim)
        self.adapter = nn.Linear(cfg.feature_dim, cfg.feature_dim)
        self.conv1 = nn.Conv1d(cfg.feature_dim, d, 3)
        self.conv2 = nn.Conv1d(d, d, 3, stride=2)
        self.blocks = nn.ModuleList(WhisperBlock(cfg) for _ in range(cfg.num_blocks))
        self.ln_post = nn.LayerNorm(d)
        self.head = nn.ModuleList(WhisperBlock(cfg, cfg.head_ffn_dim) for _ in range(cfg.head_blocks))
        self.head_ln = nn.LayerNorm(d) if cfg.head_blocks else nn.Identity()
        self.ctc = nn.Linear(d, cfg.vocab_size)
        # Whisper's sinusoids: position t, channel i < d/2: sin(t * r^i), channel d/2 + i: cos(t * r^i).
        rate = torch.exp(-math.log(10000.0) / (d // 2 - 1) * torch.arange(d // 2, dtype=torch.float32))
        self.register_buffer("inv_timescales", rate, persistent=False)

    def _embed(self, feats, first=None):
        """[B, T, 80] fbank -> [B, (T-5)//2+1, d]; ``first`` [B] or [1]: position of the first output frame."""
        m = self.adapter(self.cmvn(feats)).transpose(1, 2)
        x = F.gelu(self.conv2(F.gelu(self.conv1(m)))).transpose(1, 2)
        idx = torch.arange(x.size(1), device=x.device)[None, :]
        if first is not None:
            idx = idx + first.view(-1, 1)
        angle = idx.to(x.dtype).unsqueeze(-1) * self.inv_timescales
        return x + torch.cat([torch.sin(angle), torch.cos(angle)], dim=-1)

    def forward(self, feats, lens, chunk_size: int | None = None, num_left_chunks: int | None = None,
                return_hidden: bool = False):
        """Whole utterances under the streaming chunk mask: exactly what forward_chunk computes."""
        h, olens, mask = self.encode(feats, lens, chunk_size, num_left_chunks)
        lp = self.spell(h, mask)
        return (lp, olens, h) if return_hidden else (lp, olens)

    def encode(self, feats, lens, chunk_size: int | None = None, num_left_chunks: int | None = None):
        """Whisper's part, up to ``ln_post`` (what distil.py matches to the teacher): hidden
        [B, T', d], output lengths, and the chunk mask the head uses too."""
        chunk = chunk_size or self.cfg.chunk_size
        left = self.cfg.num_left_chunks if num_left_chunks is None else num_left_chunks
        x = self._embed(feats)
        olens = subsampled_lengths(lens).clamp(max=x.size(1))
        mask = chunk_attention_mask(olens, x.size(1), chunk, left)
        for blk in self.blocks:
            x = blk(x, mask)
        return self.ln_post(x), olens, mask

    def spell(self, h, mask):
        """The head: ``ln_post`` output -> CTC log-probabilities (head_train.py trains it alone)."""
        for blk in self.head:
            h = blk(h, mask)
        return F.log_softmax(self.ctc(self.head_ln(h)), dim=-1)

    def forward_chunk(self, x, offset, required_cache_size, att_cache, cnn_cache, att_mask):
        """The contract (recipes/asr/README.md): x [B, 35, 80]; att_cache [N, B*H, S, 2*dk]."""
        b, h = x.size(0), self.cfg.heads
        # offset / required_cache_size carry nothing the caches don't (no absolute positions);
        # a predicate true on every valid call keeps them as graph inputs (as model.py does).
        ok = (offset.view(-1, 1, 1) >= 0) & (required_cache_size.view(-1, 1, 1) >= 0)
        key_mask = att_mask & ok
        y = self._embed(x, offset - required_cache_size)
        new_att = []
        for i, blk in enumerate(list(self.blocks) + list(self.head)):
            if i == len(self.blocks):
                y = self.ln_post(y)
            ac = att_cache[i].reshape(b, h, att_cache.size(2), att_cache.size(3))
            y, a = blk.forward_chunk(y, ac, key_mask)
            new_att.append(a.reshape(b * h, a.size(2), a.size(3)))
        if not len(self.head):
            y = self.ln_post(y)
        log_probs = F.log_softmax(self.ctc(self.head_ln(y)), dim=-1)
        return log_probs, torch.stack(new_att, 0), cnn_cache + 0.0

    def chunk_frames(self) -> int:
        return (self.cfg.chunk_size - 1) * SUBSAMPLING + RIGHT_CONTEXT + 1

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


class WhisperTeacher(nn.Module):
    """Whisper's encoder as released: padded convs, sinusoidal positions, full attention."""

    def __init__(self, tensors: dict, n_head: int):
        super().__init__()
        t = {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in tensors.items()
             if k.startswith("encoder.")}
        self.t, self.h = t, n_head
        self.n_layer = sum(1 for k in t if k.endswith(".attn.query.weight"))
        for v in t.values():
            v.requires_grad_(False)

    @torch.no_grad()
    def forward(self, mel, lens):
        """mel [B, T, 80] Whisper log-mel, lens [B] -> hidden [B, ceil(T/2), d], out lens."""
        t = self.t
        x = F.gelu(F.conv1d(mel.transpose(1, 2), t["encoder.conv1.weight"], t["encoder.conv1.bias"], padding=1))
        x = F.gelu(F.conv1d(x, t["encoder.conv2.weight"], t["encoder.conv2.bias"], stride=2, padding=1))
        x = x.transpose(1, 2)
        n = min(x.size(1), t["encoder.positional_embedding"].size(0))
        x = x[:, :n] + t["encoder.positional_embedding"][:n]
        olens = ((lens + 1) // 2).clamp(max=n)
        keep = torch.arange(n)[None, :] < olens[:, None]
        bias = torch.zeros(x.size(0), 1, 1, n).masked_fill(~keep[:, None, None, :], -1e9)
        b, d = x.size(0), x.size(2)
        dk = d // self.h
        for i in range(self.n_layer):
            p = f"encoder.blocks.{i}."
            y = F.layer_norm(x, (d,), t[p + "attn_ln.weight"], t[p + "attn_ln.bias"])
            q = F.linear(y, t[p + "attn.query.weight"], t[p + "attn.query.bias"])
            k = F.linear(y, t[p + "attn.key.weight"], t.get(p + "attn.key.bias"))
            v = F.linear(y, t[p + "attn.value.weight"], t[p + "attn.value.bias"])
            q, k, v = (z.view(b, n, self.h, dk).transpose(1, 2) for z in (q, k, v))
            s = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(dk) + bias
            a = torch.matmul(torch.softmax(s, -1), v).transpose(1, 2).reshape(b, n, d)
            x = x + F.linear(a, t[p + "attn.out.weight"], t[p + "attn.out.bias"])
            y = F.layer_norm(x, (d,), t[p + "mlp_ln.weight"], t[p + "mlp_ln.bias"])
            x = x + F.linear(F.gelu(F.linear(y, t[p + "mlp.0.weight"], t[p + "mlp.0.bias"])),
                             t[p + "mlp.2.weight"], t[p + "mlp.2.bias"])
        return F.layer_norm(x, (d,), t["encoder.ln_post.weight"], t["encoder.ln_post.bias"]), olens


def save_encoder(src: Path, out: Path) -> None:
    """Whisper's encoder alone (float16 .npz, 16 MB for tiny.en against 75 MB for the whole model):
    all that distil.py needs, for a training machine that has neither echoic nor the Whisper package."""
    tensors, n_head, dims = load_whisper_tensors(src)
    enc = {k: np.asarray(v, dtype=np.float16) for k, v in tensors.items() if k.startswith("encoder.")}
    np.savez(out, **enc, __n_head__=np.int64(n_head), __dims__=np.frombuffer(json.dumps(dims).encode(), np.uint8))


def load_whisper_tensors(src: Path):
    """Whisper weights (any format echoic imports, or save_encoder's .npz) under OpenAI's names, and
    the encoder's head count."""
    if Path(src).suffix == ".npz":
        with np.load(src) as z:
            tensors = {k: z[k] for k in z.files if not k.startswith("__")}
            return tensors, int(z["__n_head__"]), json.loads(z["__dims__"].tobytes())
    sdk = Path(__file__).resolve().parents[2] / "sdk"
    if str(sdk) not in sys.path:
        sys.path.insert(0, str(sdk))
    from echoic.whisper_import import load_whisper

    w = load_whisper(src)
    return w.tensors, int(w.dims["n_audio_head"]), w.dims


def student_from_whisper(tensors: dict, n_head: int, **overrides) -> WhisperStudentCTC:
    """A student whose convolutions, blocks and ln_post start as Whisper's encoder's."""
    t = {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in tensors.items()}
    d = t["encoder.conv1.weight"].shape[0]
    n_layer = sum(1 for k in t if k.startswith("encoder.") and k.endswith(".attn.query.weight"))
    cfg = StudentConfig(d_model=d, heads=n_head, num_blocks=n_layer,
                        ffn_dim=t["encoder.blocks.0.mlp.0.weight"].shape[0], **overrides)
    m = WhisperStudentCTC(cfg)
    with torch.no_grad():
        m.conv1.weight.copy_(t["encoder.conv1.weight"])
        m.conv1.bias.copy_(t["encoder.conv1.bias"])
        m.conv2.weight.copy_(t["encoder.conv2.weight"])
        m.conv2.bias.copy_(t["encoder.conv2.bias"])
        for i, blk in enumerate(m.blocks):
            p = f"encoder.blocks.{i}."
            kb = t.get(p + "attn.key.bias", torch.zeros(d))
            blk.attn.qkv.weight.copy_(torch.cat([t[p + "attn.query.weight"], t[p + "attn.key.weight"],
                                                 t[p + "attn.value.weight"]]))
            blk.attn.qkv.bias.copy_(torch.cat([t[p + "attn.query.bias"], kb, t[p + "attn.value.bias"]]))
            blk.attn.out.weight.copy_(t[p + "attn.out.weight"])
            blk.attn.out.bias.copy_(t[p + "attn.out.bias"])
            for ln, name in ((blk.attn_ln, "attn_ln"), (blk.mlp_ln, "mlp_ln")):
                ln.weight.copy_(t[p + name + ".weight"])
                ln.bias.copy_(t[p + name + ".bias"])
            blk.mlp[0].weight.copy_(t[p + "mlp.0.weight"])
            blk.mlp[0].bias.copy_(t[p + "mlp.0.bias"])
            blk.mlp[2].weight.copy_(t[p + "mlp.2.weight"])
            blk.mlp[2].bias.copy_(t[p + "mlp.2.bias"])
        m.ln_post.weight.copy_(t["encoder.ln_post.weight"])
        m.ln_post.bias.copy_(t["encoder.ln_post.bias"])
    return m


def fit_adapter(model: WhisperStudentCTC, fbank: np.ndarray, wmel: np.ndarray) -> float:
    """Least squares for the adapter: CMVN'd fbank frame i -> Whisper log-mel frame i (the two
    front ends differ in window, mel scale, log base and pre-emphasis; per frame they are close
    to affine). Returns the fit's RMS error in Whisper log-mel units."""
    with torch.no_grad():
        x = model.cmvn(torch.from_numpy(fbank.astype(np.float32))).numpy().astype(np.float64)
    y = wmel.astype(np.float64)
    xa = np.concatenate([x, np.ones((len(x), 1))], 1)
    sol, *_ = np.linalg.lstsq(xa, y, rcond=None)
    with torch.no_grad():
        model.adapter.weight.copy_(torch.from_numpy(sol[:-1].T.astype(np.float32)))
        model.adapter.bias.copy_(torch.from_numpy(sol[-1].astype(np.float32)))
    return float(np.sqrt(np.mean((xa @ sol - y) ** 2)))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Write Whisper's encoder alone (see save_encoder).")
    ap.add_argument("--whisper", type=Path, required=True, help="Whisper weights echoic can import")
    ap.add_argument("--save-encoder", type=Path, required=True, help="output .npz")
    a = ap.parse_args()
    save_encoder(a.whisper, a.save_encoder)
