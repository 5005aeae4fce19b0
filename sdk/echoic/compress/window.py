"""A shorter audio window for Whisper: the encoder attends over fewer frames.

Whisper's encoder always sees a 30 s window (1,500 frames of 20 ms), padded with silence, and
half of its time on one thread is attention over those frames (benchmarks/compress/WHISPER.md).
For a device that hears short commands and sentences, a window of ``seconds`` keeps the first
``seconds * 50`` rows of the positional table and nothing else changes: the encoder's cost falls
faster than the window (attention is quadratic in it), the decoder's cross-attention reads fewer
frames, and the runtime reads the window from the models' ``n_audio_ctx`` (longer audio is cut
into more windows, each decoded with the previous window's text as its prompt). Whisper was
trained on 30 s windows only, so accuracy is measured, not assumed (the card's WER row).

The rewrite is on the float graph echoic's importer writes: the ``mel`` input's length, the
positional-embedding initializer, the outputs' frame axis and the attention's query blocks that
start past the new window (whisper_import's ``_encoder_attention`` cuts queries in blocks of
fixed rows; those blocks would be empty), plus ``n_audio_ctx`` in both models' metadata.
"""
from __future__ import annotations

from typing import Dict

from ..errors import CorruptDataError, InvalidArgumentError, UnsupportedError
from .graph import Graph

FRAMES_PER_SECOND = 50  # encoder output frames (20 ms)


def _drop_empty_query_blocks(g: Graph, frames: int) -> int:
    """Remove Concat inputs computed from a query Slice that starts at or past ``frames``."""
    producer = g.producer

    def query_start(t: str):
        # MatMul(Softmax(MatMul(Slice(qkv, starts, ends, axes=[1, 2]), K)), V): the block's first row
        n = producer.get(t)
        for op in ("MatMul", "Softmax", "MatMul"):
            if n is None or n.op_type != op:
                return None
            n = producer.get(n.input[0])
        if n is None or n.op_type != "Slice" or len(n.input) < 4 or g.const_ints(n.input[3]) != [1, 2]:
            return None
        starts = g.const_ints(n.input[1])
        return starts[0] if starts else None

    dropped = 0
    for n in g.model.graph.node:
        if n.op_type != "Concat":
            continue
        keep = [t for t in n.input if (query_start(t) or 0) < frames]
        if keep and len(keep) < len(n.input):
            dropped += len(n.input) - len(keep)
            del n.input[:]
            n.input.extend(keep)
    # Dead nodes: outputs nobody reads and that are not graph outputs, until none is left.
    outputs = {o.name for o in g.model.graph.output}
    while True:
        read = {i for n in g.model.graph.node for i in n.input} | outputs
        dead = [n for n in g.model.graph.node if not any(o in read for o in n.output)]
        if not dead:
            break
        for n in dead:
            g.model.graph.node.remove(n)
    g.drop_unused_initializers()
    g.reindex()
    return dropped


def shorten_window(graphs: Dict[str, Graph], seconds: float) -> Dict[str, int]:
    """Rewrite a Whisper model's graphs (file name -> Graph, as compress loads them) for a window of
    ``seconds``. Returns the frame counts before and after and the query blocks removed."""
    enc = [g for g in graphs.values() if g.metadata().get("model_type") == "whisper-encoder"]
    if not enc:
        raise UnsupportedError("--window applies to Whisper models (an encoder.onnx with model_type "
                               "'whisper-encoder'); this model has none")
    g = enc[0]
    meta = g.metadata()
    try:
        before = int(meta["n_audio_ctx"])
    except (KeyError, ValueError):
        raise CorruptDataError("Whisper encoder: metadata 'n_audio_ctx' is missing or not a number") from None
    after = int(round(seconds * FRAMES_PER_SECOND))
    if not 2 * FRAMES_PER_SECOND <= after < before:
        raise InvalidArgumentError(f"--window must be at least 2 s and shorter than the model's "
                                   f"{before / FRAMES_PER_SECOND:g} s, got {seconds:g}")
    mel = next((i for i in g.model.graph.input if i.name == "mel"), None)
    dims = mel.type.tensor_type.shape.dim if mel is not None else []
    if len(dims) != 3 or dims[2].dim_value != 2 * before:
        raise CorruptDataError(f"Whisper encoder: expected input 'mel' with {2 * before} frames")
    dims[2].dim_value = 2 * after
    # The positional table: a [frames, width] initializer added to the convolutions' output.
    pos = [name for name, t in g.inits.items() if len(t.dims) == 2 and t.dims[0] == before
           and any(c is not None and c.op_type == "Add" for c in g.consumers.get(name, []))]
    if len(pos) != 1:
        raise CorruptDataError("Whisper encoder: no single positional_embedding initializer "
                               f"with {before} rows (a float import is needed: precision='float32')")
    g.set_array(pos[0], g.array(pos[0])[:after].copy())
    for o in g.model.graph.output:
        for d in o.type.tensor_type.shape.dim:
            if d.dim_value == before:
                d.dim_value = after
    dropped = _drop_empty_query_blocks(g, after)
    for other in graphs.values():
        if "n_audio_ctx" in other.metadata():
            other.set_metadata("n_audio_ctx", str(after))
    return {"frames_before": before, "frames_after": after, "query_blocks_removed": dropped}
