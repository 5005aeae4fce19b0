"""EmbeddingIndex: a persistent, compressed store of speaker/keyword embeddings.

A thin facade over the C++ core (``_echoic.Index``): it accepts any array-like
input, turns single vectors into one-row batches and adds a context manager.
Scores are similarities for ``cosine``/``ip`` (higher is better) and squared
distances for ``l2`` (lower is better). Missing results have id ``-1``.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from ._native import native as _n

PathLike = Union[str, "os.PathLike[str]"]


def _ids(ids) -> np.ndarray:
    if isinstance(ids, (int, np.integer)):
        ids = [int(ids)]
    elif not isinstance(ids, np.ndarray):
        ids = list(ids)
    return np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))


def _matrix(x, dim: int) -> np.ndarray:
    a = np.ascontiguousarray(x, dtype=np.float32)
    if a.ndim == 1:
        a = a.reshape(1, -1)
    return a


class EmbeddingIndex:
    """Persistent embedding index; see ``create`` and ``open``.

    Every ``add``/``remove`` is durable (fsync'd to ``<path>.wal``) when it returns;
    ``save()`` folds the log into a fresh main file. Encodings ``sq8`` and ``pq`` (and
    any ``ivf_lists > 0``) must be trained with ``train()`` before vectors are added.
    """

    def __init__(self, native: "_n.Index") -> None:
        self._ix = native

    @classmethod
    def create(
        cls,
        path: PathLike,
        dim: int,
        metric: str = "cosine",
        encoding: str = "pq",
        m: int = 32,
        refine_m: int = 0,
        opq: bool = False,
        ivf_lists: int = 0,
        keep_fp16: bool = True,
        encoder_id: str = "",
        train_iterations: int = 10,
        seed: int = 0x5EED,
        max_train_points: int = 32768,
    ) -> "EmbeddingIndex":
        """Creates ``path`` (which must not exist) and ``path.wal``.

        ``encoding``: ``flat`` (float32, exact), ``sq8`` (int8 per dimension) or ``pq``
        (``m`` bytes per vector); ``refine_m`` adds a residual PQ tier, ``opq`` a learned
        rotation, ``ivf_lists`` a coarse k-means stage; ``keep_fp16`` stores float16
        copies for exact re-ranking and retraining. ``encoder_id`` names the embedding
        model; vectors declared from another encoder are refused.
        """
        return cls(
            _n.Index.create(
                os.fspath(path), int(dim), metric, encoding, int(m), int(refine_m), bool(opq), int(ivf_lists),
                bool(keep_fp16), encoder_id, int(train_iterations), int(seed), int(max_train_points),
            )
        )

    @staticmethod
    def encoder_id_for(model_path: PathLike, name: Optional[str] = None) -> str:
        """Identity of an embedding model file: ``"<name>@<first 12 hex of sha256>"``
        (name defaults to the model's folder name), for ``create(encoder_id=...)``."""
        p = Path(model_path)
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return f"{name or p.parent.name or p.stem}@{h.hexdigest()[:12]}"

    @classmethod
    def open(cls, path: PathLike, recover: bool = False, read_only: bool = False) -> "EmbeddingIndex":
        """Opens an index; ``recover=True`` keeps every intact record of a damaged file
        (the damaged original is kept as ``<path>.damaged`` and a clean file written).

        ``read_only=True`` reads a snapshot and writes nothing (no lock, no log, no repair);
        it may be open beside the one writer, and its writes raise ``StateError``."""
        return cls(_n.Index.open(os.fspath(path), bool(recover), bool(read_only)))

    def entries(self, namespace: str = "default") -> Tuple[np.ndarray, List[str]]:
        """Every entry of ``namespace`` (``""``: all namespaces) as (ids, labels), in id order."""
        return self._ix.entries(namespace)

    def train(self, x) -> None:
        self._ix.train(_matrix(x, self.dim))

    def retrain(self, x=None) -> None:
        """Relearns the codebooks and re-encodes every entry (from its float16 copy when kept)."""
        self._ix.retrain(None if x is None else _matrix(x, self.dim))

    def add(
        self,
        vectors,
        ids: Optional[Iterable[int]] = None,
        labels: Optional[Sequence[str]] = None,
        namespace: str = "default",
        encoder_id: str = "",
    ) -> np.ndarray:
        """Adds vectors (n, dim); returns their int64 ids (assigned when ``ids`` is None)."""
        x = _matrix(vectors, self.dim)
        id_arr = None if ids is None else _ids(ids)
        if isinstance(labels, str):
            labels = [labels]
        lab = None if labels is None else [str(s) for s in labels]
        return self._ix.add(x, id_arr, lab, namespace, encoder_id)

    def remove(self, ids: Union[int, Iterable[int]]) -> None:
        self._ix.remove(_ids(ids))

    def search(
        self,
        queries,
        k: int = 10,
        namespace: str = "default",
        nprobe: int = 8,
        rerank: int = 0,
        encoder_id: str = "",
        refine_factor: int = 4,
        exhaustive_below: int = 4096,
    ) -> Tuple[np.ndarray, np.ndarray, List[List[str]]]:
        """Returns (scores (nq, k) float32, ids (nq, k) int64, labels nq lists of k)."""
        q = _matrix(queries, self.dim)
        return self._ix.search(q, int(k), namespace, int(nprobe), int(rerank), int(refine_factor),
                               int(exhaustive_below), encoder_id)

    def save(self) -> None:
        self._ix.save()

    def compact(self) -> None:
        self._ix.compact()

    def close(self) -> None:
        self._ix.close()

    def __len__(self) -> int:
        return len(self._ix)

    def __contains__(self, id_: int) -> bool:
        return self._ix.contains(int(id_))

    def label(self, id_: int) -> str:
        return self._ix.label(int(id_))

    def namespaces(self) -> List[str]:
        return self._ix.namespaces()

    def __enter__(self) -> "EmbeddingIndex":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def bytes_per_vector(self) -> int:
        """Code bytes scanned per vector (float16 re-ranking copies not included)."""
        return self._ix.bytes_per_vector

    @property
    def stored_bytes_per_vector(self) -> int:
        """Everything stored per vector, float16 copies included."""
        return self._ix.stored_bytes_per_vector

    @property
    def dim(self) -> int:
        return self._ix.dim

    @property
    def metric(self) -> str:
        return self._ix.metric

    @property
    def encoding(self) -> str:
        return self._ix.encoding

    @property
    def encoder_id(self) -> str:
        return self._ix.encoder_id

    @property
    def trained(self) -> bool:
        return self._ix.trained

    @property
    def path(self) -> str:
        return self._ix.path

    @property
    def read_only(self) -> bool:
        return self._ix.read_only

    @property
    def open_issues(self) -> List[str]:
        """Damage found and skipped on open (recover mode, torn log tail)."""
        return list(self._ix.open_issues)

    def __repr__(self) -> str:
        return (f"EmbeddingIndex({self.path!r}, dim={self.dim}, metric={self.metric!r}, "
                f"encoding={self.encoding!r}, n={len(self)}, bytes_per_vector={self.bytes_per_vector})")
