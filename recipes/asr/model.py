"""Streaming conformer CTC encoder (WeNet-compatible ONNX contract).

Two entry points compute the same function:
  * ``forward(feats, lens)``: whole utterances with a chunk mask (training);
  * ``forward_chunk(x, offset, required_cache_size, att_cache, cnn_cache, att_mask)``:
    one chunk per stream with explicit caches (export / streaming).
Frame t of the encoder output depends only on frames of its own chunk and the
``num_left_chunks`` chunks before it (attention) and on the previous
``kernel-1`` frames (causal depthwise conv). There is no absolute position:
attention uses a learned per-head bias over the relative distance, so a stream
can run forever and a batched run equals separate runs.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

NEG = -1e9  # additive mask value; chunk keys are always visible so a row never is all-masked


@dataclass
class ModelConfig:
    vocab_size: int = 29
    feature_dim: int = 80
    d_model: int = 144
    heads: int = 4
    num_blocks: int = 6
    ffn_dim: int = 576
    kernel: int = 15
    chunk_size: int = 16
    num_left_chunks: int = 4
    dropout: float = 0.1
    macaron: bool = True
    subsample_channels: int = 0  # 0 = d_model (WeNet default); fewer is much cheaper on CPU

    @property
    def cache_size(self) -> int:
        return self.chunk_size * self.num_left_chunks

    @property
    def cache_layers(self) -> int:  # attention-cache layers (the contract's num_blocks)
        return self.num_blocks

    def to_dict(self) -> dict:
        return asdict(self)


SUBSAMPLING = 4
RIGHT_CONTEXT = 6  # two 3x3 stride-2 convs: output frame i reads input frames 4i..4i+6


class GlobalCMVN(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("istd", torch.ones(dim))

    def forward(self, x):
        return (x - self.mean) * self.istd


class Subsampling4(nn.Module):
    def __init__(self, idim: int, d: int, channels: int = 0):
        super().__init__()
        c = channels or d
        self.conv = nn.Sequential(nn.Conv2d(1, c, 3, 2), nn.ReLU(), nn.Conv2d(c, c, 3, 2), nn.ReLU())
        f = ((idim - 1) // 2 - 1) // 2
        self.out = nn.Linear(c * f, d)

    def forward(self, x):  # [B, T, F] -> [B, (T-3)//4 ... , d]
        x = self.conv(x.unsqueeze(1))
        b, c, t, f = x.shape
        return self.out(x.transpose(1, 2).reshape(b, t, c * f))


class FeedForward(nn.Module):
    def __init__(self, d, ffn, dropout):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, ffn), nn.SiLU(), nn.Dropout(dropout), nn.Linear(ffn, d))

    def forward(self, x):
        return self.net(x)


class RelBiasAttention(nn.Module):
    """Multi-head attention with a learned bias per head and relative distance.

    Distance q - k ranges over [-(chunk-1), cache + chunk - 1]; everything
    outside is masked anyway (future chunks / too old).
    """

    def __init__(self, d, heads, chunk, cache, dropout):
        super().__init__()
        assert d % heads == 0
        self.h, self.dk, self.chunk, self.cache = heads, d // heads, chunk, cache
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.num_rel = cache + 2 * chunk - 1
        self.rel_bias = nn.Parameter(torch.zeros(heads, self.num_rel))
        self.drop = nn.Dropout(dropout)

    def _bias(self, qpos, kpos):  # positions as LongTensors -> [H, Tq, Tk]
        rel = qpos[:, None] - kpos[None, :] + (self.chunk - 1)
        rel = rel.clamp(0, self.num_rel - 1)
        return self.rel_bias[:, rel]

    def _attend(self, q, k, v, bias, mask):
        # q [B,H,Tq,dk], k/v [B,H,Tk,dk], bias [H,Tq,Tk], mask bool broadcastable to [B,1,Tq,Tk]
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.dk) + bias
        scores = scores.masked_fill(~mask, NEG)
        attn = self.drop(torch.softmax(scores, dim=-1))
        return torch.matmul(attn, v)

    def _split(self, x):
        b, t, _ = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.h, self.dk).permute(2, 0, 3, 1, 4)
        return q, k, v

    def forward(self, x, mask):
        """Whole sequence; mask [B, T, T] bool (chunk + padding)."""
        b, t, _ = x.shape
        q, k, v = self._split(x)
        pos = torch.arange(t, device=x.device)
        y = self._attend(q, k, v, self._bias(pos, pos), mask.unsqueeze(1))
        return self.out(y.transpose(1, 2).reshape(b, t, -1))

    def forward_chunk(self, x, cache, key_mask):
        """x [B, C, d]; cache [B, H, S, 2dk] (K|V of the last S frames); key_mask [B, 1, S+C]."""
        b, c, _ = x.shape
        q, k, v = self._split(x)
        kc, vc = cache.split(self.dk, dim=-1)
        k = torch.cat([kc, k], dim=2)
        v = torch.cat([vc, v], dim=2)
        s = kc.size(2)
        qpos = torch.arange(c, device=x.device) + s
        kpos = torch.arange(s + c, device=x.device)
        y = self._attend(q, k, v, self._bias(qpos, kpos), key_mask.unsqueeze(1))
        new_cache = torch.cat([k, v], dim=-1)[:, :, c:, :]  # keep the newest S frames
        return self.out(y.transpose(1, 2).reshape(b, c, -1)), new_cache


class CausalConvModule(nn.Module):
    def __init__(self, d, kernel, dropout):
        super().__init__()
        self.kernel = kernel
        self.pw1 = nn.Conv1d(d, 2 * d, 1)
        self.dw = nn.Conv1d(d, d, kernel, groups=d)
        self.norm = nn.LayerNorm(d)  # LayerNorm, not BatchNorm: no batch statistics in streaming
        self.pw2 = nn.Conv1d(d, d, 1)
        self.drop = nn.Dropout(dropout)

    def _tail(self, y):  # y: [B, d, T] after depthwise
        y = F.silu(self.norm(y.transpose(1, 2)).transpose(1, 2))
        return self.drop(self.pw2(y)).transpose(1, 2)

    def forward(self, x, pad_mask=None):  # x [B, T, d]; pad_mask [B, T] True=valid
        if pad_mask is not None:
            x = x.masked_fill(~pad_mask.unsqueeze(-1), 0.0)
        y = F.glu(self.pw1(x.transpose(1, 2)), dim=1)
        y = F.pad(y, (self.kernel - 1, 0))  # zero left context == zero-initialised cnn_cache
        return self._tail(self.dw(y))

    def forward_chunk(self, x, cache):  # cache [B, d, k-1]
        y = F.glu(self.pw1(x.transpose(1, 2)), dim=1)
        y = torch.cat([cache, y], dim=2)
        new_cache = y[:, :, -(self.kernel - 1):]
        return self._tail(self.dw(y)), new_cache


class ConformerBlock(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.d_model
        self.macaron = cfg.macaron
        if cfg.macaron:
            self.ff1 = FeedForward(d, cfg.ffn_dim, cfg.dropout)
            self.norm_ff1 = nn.LayerNorm(d)
        self.norm_att = nn.LayerNorm(d)
        self.att = RelBiasAttention(d, cfg.heads, cfg.chunk_size, cfg.cache_size, cfg.dropout)
        self.norm_conv = nn.LayerNorm(d)
        self.conv = CausalConvModule(d, cfg.kernel, cfg.dropout)
        self.norm_ff2 = nn.LayerNorm(d)
        self.ff2 = FeedForward(d, cfg.ffn_dim, cfg.dropout)
        self.norm_out = nn.LayerNorm(d)
        self.drop = nn.Dropout(cfg.dropout)
        self.ff_scale = 0.5 if cfg.macaron else 1.0

    def forward(self, x, att_mask, pad_mask):
        if self.macaron:
            x = x + 0.5 * self.drop(self.ff1(self.norm_ff1(x)))
        x = x + self.drop(self.att(self.norm_att(x), att_mask))
        x = x + self.conv(self.norm_conv(x), pad_mask)
        x = x + self.ff_scale * self.drop(self.ff2(self.norm_ff2(x)))
        return self.norm_out(x)

    def forward_chunk(self, x, att_cache, cnn_cache, key_mask):
        if self.macaron:
            x = x + 0.5 * self.ff1(self.norm_ff1(x))
        a, new_att = self.att.forward_chunk(self.norm_att(x), att_cache, key_mask)
        x = x + a
        c, new_cnn = self.conv.forward_chunk(self.norm_conv(x), cnn_cache)
        x = x + c
        x = x + self.ff_scale * self.ff2(self.norm_ff2(x))
        return self.norm_out(x), new_att, new_cnn


def chunk_attention_mask(lens: torch.Tensor, t: int, chunk: int, left_chunks: int) -> torch.Tensor:
    """[B, T, T] bool: query i may see key j iff j is valid, chunk(j) <= chunk(i) and
    chunk(j) >= chunk(i) - left_chunks."""
    idx = torch.arange(t, device=lens.device)
    ci = idx // chunk
    m = (ci[None, :] <= ci[:, None]) & (ci[None, :] >= ci[:, None] - left_chunks)
    valid = idx[None, :] < lens[:, None]  # [B, T]
    return m[None] & valid[:, None, :]


def subsampled_lengths(lens: torch.Tensor) -> torch.Tensor:
    return ((lens - 1) // 2 - 1) // 2


class StreamingConformerCTC(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.cmvn = GlobalCMVN(cfg.feature_dim)
        self.embed = Subsampling4(cfg.feature_dim, cfg.d_model, cfg.subsample_channels)
        self.blocks = nn.ModuleList(ConformerBlock(cfg) for _ in range(cfg.num_blocks))
        self.ctc = nn.Linear(cfg.d_model, cfg.vocab_size)

    def forward(self, feats, lens, chunk_size: int | None = None, num_left_chunks: int | None = None):
        """feats [B, T, 80] Kaldi fbank (int16-range input); returns log_probs [B, T', V], T' lens."""
        chunk = chunk_size or self.cfg.chunk_size
        left = self.cfg.num_left_chunks if num_left_chunks is None else num_left_chunks
        x = self.embed(self.cmvn(feats))
        olens = subsampled_lengths(lens).clamp(min=0, max=x.size(1))
        mask = chunk_attention_mask(olens, x.size(1), chunk, left)
        pad = torch.arange(x.size(1), device=x.device)[None, :] < olens[:, None]
        for blk in self.blocks:
            x = blk(x, mask, pad)
        return F.log_softmax(self.ctc(x), dim=-1), olens

    def forward_chunk(self, x, offset, required_cache_size, att_cache, cnn_cache, att_mask):
        """The ONNX contract (see recipes/asr/README.md). B streams at once.

        x [B, T, 80]; offset int64 [B] or [1]; required_cache_size int64 [1];
        att_cache [N, B*H, S, 2*dk] stream-major; cnn_cache [N, B, d, k-1];
        att_mask bool [B, 1, S + C].
        """
        b = x.size(0)
        h = self.cfg.heads
        # offset / required_cache_size carry no information the caches don't
        # (no absolute positions); they are part of the WeNet signature. Tie
        # them into the graph with a predicate that is true for every valid
        # call so the exporter keeps them as inputs.
        ok = (offset.view(-1, 1, 1) >= 0) & (required_cache_size.view(-1, 1, 1) >= 0)
        key_mask = att_mask & ok
        y = self.embed(self.cmvn(x))
        new_att, new_cnn = [], []
        for i, blk in enumerate(self.blocks):
            ac = att_cache[i].reshape(b, h, att_cache.size(2), att_cache.size(3))
            y, a, c = blk.forward_chunk(y, ac, cnn_cache[i], key_mask)
            new_att.append(a.reshape(b * h, a.size(2), a.size(3)))
            new_cnn.append(c)
        log_probs = F.log_softmax(self.ctc(y), dim=-1)
        return log_probs, torch.stack(new_att, 0), torch.stack(new_cnn, 0)

    def chunk_frames(self) -> int:
        return (self.cfg.chunk_size - 1) * SUBSAMPLING + RIGHT_CONTEXT + 1

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
