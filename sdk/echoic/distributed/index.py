"""ShardedIndex: one logical embedding index over N Ray actors, each owning one echoic index file.

    from echoic.distributed import ShardedIndex
    ix = ShardedIndex.create("speakers.shards", num_shards=4, dim=256, encoding="flat", address="auto")
    ids = ix.add(vectors, labels=names)        # returns once every owning shard's write returned
    scores, ids, labels = ix.search(queries, k=10)

Files: ``<dir>/sharded.json`` (the shard count and the routing rule; written once, by
``create``), ``<dir>/shard-<k>.idx`` with its ``.wal`` and ``.lock`` (an ordinary
:class:`echoic.EmbeddingIndex` each), ``<dir>/next-id`` (ids handed out by ``add`` without ids).

Routing: an entry lives on shard ``splitmix64(id) mod N`` (:func:`shard_of`): the index API keys
entries by their int64 id (labels need not be unique), and ``remove``/``contains``/``label`` go
to one shard by id alone. The count is fixed at creation; reopening reads it from
``sharded.json``.

Durability: the core fsyncs every add/remove to the shard's write-ahead log before the call
returns (``save()`` only folds the log into the main file), so ``add``/``remove`` return (are
acknowledged) only after each owning shard's call returned. A shard actor is created with
``max_restarts`` (default: unlimited); a restarted shard reopens its file (``recover=True``:
intact log records replay, a torn last record is dropped, damage is kept aside as
``.damaged``) and so holds every acknowledged entry. A call that was in flight when its shard
died is sent again once the shard is back, made idempotent: an add skips the ids the shard
already holds, a remove the ids it no longer holds.

Search sends the queries to every shard actor (by actor calls, or with ``compiled_search=True``
through a Ray compiled graph: see :meth:`ShardedIndex.search`) and merges the shards' top-k by
score (higher first for cosine/ip, lower for l2), equal scores by id, so the result is
deterministic. An actor holds one shard, or with ``actors="per_node"`` all of its node's shards
(searched on threads, merged in the actor): a Ray call costs about a millisecond here whatever it
does, so one call per node instead of one per shard is what makes single queries cheap. With ``flat``
encoding (exact scores) it is the top-k of one index holding the same vectors; with trained
encodings, ``train`` gives every shard the same training set, so codebooks match too, but IVF
probing (``nprobe``, ``exhaustive_below``) runs per shard and can differ.

Placement: shard k goes to the k-th alive node, round robin over the nodes sorted by id, and
stays there (a hard node affinity: a killed shard actor restarts on its node, by its files). Ray's
SPREAD is only a preference: with zero-CPU actors it put all four shards of a two-node test
cluster on one node, and a soft affinity fell back to the other node just after actors had been
killed there. If a node is lost, calls to its shards wait for it and fail (``EchoicIOError``) after
``RESTART_TIMEOUT_S``; ``ShardedIndex.open`` places them on the nodes alive then, which must see
the same ``<dir>`` (a filesystem every node mounts). Or pin
shards with ``actor_options={"scheduling_strategy": ...}``. A restarted shard never creates a
missing file (it fails instead of coming back empty).
One writer at a time, as for the core index.
"""
from __future__ import annotations

import json
import logging
import os
import pickle
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import EchoicIOError, InvalidArgumentError, NotFoundError
from ._ray import connect, disconnect, import_ray

PathLike = Union[str, "os.PathLike[str]"]
MANIFEST = "sharded.json"
FORMAT = "echoic-sharded-index"
#: How long a call waits for a dead shard to come back before failing.
RESTART_TIMEOUT_S = 120.0
#: Compile attempts that may fail (a shard restarting, a Ray client connection...) before search
#: keeps to ordinary actor calls for the life of the ShardedIndex.
GRAPH_COMPILE_ATTEMPTS = 3

log = logging.getLogger(__name__)

_M1, _M2, _GOLDEN = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)


def shard_of(ids, num_shards: int) -> np.ndarray:
    """The shard of each id: splitmix64's finalizer of the id's 64 bits, modulo ``num_shards``.
    Stable across processes, machines and Python versions (unlike ``hash``)."""
    z = np.asarray(ids, dtype=np.int64).reshape(-1).view(np.uint64)
    with np.errstate(over="ignore"):
        z = z + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        z = z ^ (z >> np.uint64(31))
    return (z % np.uint64(num_shards)).astype(np.int64)


def merge_topk(parts: Sequence[Tuple[np.ndarray, np.ndarray, List[List[str]]]], k: int,
               higher_is_better: bool) -> Tuple[np.ndarray, np.ndarray, List[List[str]]]:
    """The best ``k`` of the shards' results per query: by score, equal scores by id; missing
    results (id -1) last, as id -1 / score NaN / label "" (the core index's convention)."""
    scores = np.concatenate([np.asarray(p[0], dtype=np.float32) for p in parts], axis=1)
    ids = np.concatenate([np.asarray(p[1], dtype=np.int64) for p in parts], axis=1)
    labels = [sum((list(p[2][q]) for p in parts), []) for q in range(scores.shape[0])]
    missing = (ids < 0) | np.isnan(scores)
    key = np.where(missing, np.inf, -scores.astype(np.float64) if higher_is_better else scores.astype(np.float64))
    tie = np.where(missing, np.iinfo(np.int64).max, ids)
    order = np.lexsort((tie, key), axis=1)[:, :k]
    out_ids = np.take_along_axis(ids, order, axis=1)
    out_scores = np.take_along_axis(scores, order, axis=1)
    out_missing = np.take_along_axis(missing, order, axis=1)
    out_ids[out_missing] = -1
    out_scores[out_missing] = np.nan
    out_labels = [["" if out_missing[q, j] else labels[q][order[q, j]] for j in range(order.shape[1])]
                  for q in range(order.shape[0])]
    if order.shape[1] < k:  # fewer shard results than k (k larger than what the shards returned)
        pad = k - order.shape[1]
        out_ids = np.pad(out_ids, ((0, 0), (0, pad)), constant_values=-1)
        out_scores = np.pad(out_scores, ((0, 0), (0, pad)), constant_values=np.nan)
        out_labels = [row + [""] * pad for row in out_labels]
    return out_scores, out_ids, out_labels


class Shard:
    """One index file, held by a :class:`ShardGroup` actor."""

    def __init__(self, path: str, create: Optional[Dict[str, Any]] = None, recover: bool = True) -> None:
        import threading
        import warnings

        import ray

        from ..index import EmbeddingIndex

        with warnings.catch_warnings():  # Ray 2.60's property reads its own deprecated actor_id
            warnings.simplefilter("ignore", DeprecationWarning)
            self.restarted = bool(ray.get_runtime_context().was_current_actor_reconstructed)
        # Searches of the compiled graph run on a background thread of this actor, every other call on
        # its main thread; the core index allows concurrent searches but not a search beside a write.
        self.lock = threading.Lock()
        if os.path.exists(path):
            self.ix = EmbeddingIndex.open(path, recover=recover)
        elif create is not None and not self.restarted:
            self.ix = EmbeddingIndex.create(path, **create)
        else:
            raise NotFoundError(f"shard file '{path}' does not exist on this node"
                                + (" (the shard restarted; is the folder on a filesystem every node sees?)"
                                   if self.restarted else ""))

    def info(self) -> Dict[str, Any]:
        import ray

        with self.lock:
            return {"pid": os.getpid(), "node": ray.get_runtime_context().get_node_id(), "path": self.ix.path,
                    "size": len(self.ix), "restarted": self.restarted, "open_issues": self.ix.open_issues,
                    "max_id": int(max(self.ix.entries("")[0], default=-1))}

    def train(self, x: np.ndarray, retrain: bool) -> None:
        with self.lock:
            if retrain:
                self.ix.retrain(x)
            elif not self.ix.trained:  # a retried train after a restart: already done and saved
                self.ix.train(x)

    def add(self, x: np.ndarray, ids: np.ndarray, labels: Optional[List[str]], namespace: str, encoder_id: str,
            retry: bool) -> int:
        with self.lock:
            if retry:  # the first send may have reached the log before the shard died
                keep = [i for i, v in enumerate(ids) if int(v) not in self.ix]
                x, ids = x[keep], ids[keep]
                labels = None if labels is None else [labels[i] for i in keep]
            if len(ids):
                self.ix.add(x, ids=ids, labels=labels, namespace=namespace, encoder_id=encoder_id)
            return len(ids)

    def remove(self, ids: np.ndarray, retry: bool) -> int:
        with self.lock:
            if retry:
                ids = np.asarray([v for v in ids if int(v) in self.ix], dtype=np.int64)
            if len(ids):
                self.ix.remove(ids)
            return len(ids)

    def missing(self, ids: np.ndarray) -> List[int]:
        with self.lock:
            return [int(v) for v in ids if int(v) not in self.ix]

    def present(self, ids: np.ndarray) -> List[int]:
        with self.lock:
            return [int(v) for v in ids if int(v) in self.ix]

    def search(self, q: np.ndarray, k: int, namespace: str, params: Dict[str, Any]):
        with self.lock:
            return self.ix.search(q, k=k, namespace=namespace, **params)

    def entries(self, namespace: str):
        with self.lock:
            return self.ix.entries(namespace)

    def label(self, id_: int) -> str:
        with self.lock:
            return self.ix.label(id_)

    def size(self) -> int:
        with self.lock:
            return len(self.ix)

    def namespaces(self) -> List[str]:
        with self.lock:
            return self.ix.namespaces()

    def save(self) -> None:
        with self.lock:
            self.ix.save()

    def close(self) -> None:
        with self.lock:
            self.ix.close()


def _get(ray: Any, refs: Any) -> Any:
    """ray.get, raising a shard's own exception (InvalidArgumentError, NotFoundError...) as itself."""
    try:
        return ray.get(refs)
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, Exception) and not isinstance(cause, ray.exceptions.RayError):
            raise cause from None
        raise


def _get_compiled(ray: Any, refs: Any, timeout: float) -> Any:
    """ray.get of a compiled graph's results, raising a shard's own exception as itself (the graph
    stays usable after an application error)."""
    try:
        return ray.get(refs, timeout=timeout)
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, Exception) and not isinstance(cause, ray.exceptions.RayError):
            raise cause from None
        raise


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ShardGroup:
    """The actor owning one or more shards (``ray.remote`` is applied by :class:`ShardedIndex`):
    one per shard, or with ``actors="per_node"`` one per node for all of that node's shards, so
    that a search costs one actor call per node rather than one per shard."""

    def __init__(self, paths: Dict[int, str], create: Optional[Dict[str, Any]], recover: bool,
                 higher_is_better: bool) -> None:
        self.shards = {int(k): Shard(p, create, recover) for k, p in paths.items()}
        self.higher_is_better = higher_is_better
        self.pool: Any = None

    def call(self, k: int, method: str, *args: Any) -> Any:
        return getattr(self.shards[k], method)(*args)

    def search(self, q: bytes, dim: int, k: int, namespace: str, params: Dict[str, Any]) -> bytes:
        """This group's top k. Queries and results travel as bytes: Ray's path for numpy arrays
        costs more than a small shard's search (4 actors, single queries: 2.2-2.6 against 2.7-3.9 ms
        per round trip in two runs here; benchmarks/distributed/ray_call_floor.py)."""
        x = np.frombuffer(q, dtype=np.float32).reshape(-1, dim)
        shards = list(self.shards.values())
        if len(shards) == 1:
            found = shards[0].search(x, k, namespace, params)
        else:  # the core search releases the GIL: the shards scan on threads
            if self.pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self.pool = ThreadPoolExecutor(max_workers=min(len(shards), os.cpu_count() or 1))
            parts = list(self.pool.map(lambda sh: sh.search(x, k, namespace, params), shards))
            found = merge_topk(parts, k, higher_is_better=self.higher_is_better)
        return pickle.dumps(found, protocol=pickle.HIGHEST_PROTOCOL)


def spread_nodes(ray: Any, count: int) -> List[Optional[str]]:
    """The node id for each of ``count`` shards, round robin over the alive nodes (sorted by id)."""
    nodes = sorted(n["NodeID"] for n in ray.nodes() if n.get("Alive"))
    return [nodes[k % len(nodes)] if nodes else None for k in range(count)]


class ShardedIndex:
    """An embedding index split over ``num_shards`` Ray actors; see the module doc. Build it with
    :meth:`create` or :meth:`open`; ``close()`` (or ``with``) ends the actors."""

    def __init__(self, directory: PathLike, manifest: Dict[str, Any], create: Optional[Dict[str, Any]],
                 address: Optional[str], actor_options: Optional[Dict[str, Any]], recover: bool,
                 compiled_search: bool = False, actors: str = "per_shard") -> None:
        if actors not in ("per_shard", "per_node"):
            raise InvalidArgumentError(f"actors must be 'per_shard' or 'per_node', got {actors!r}")
        self.directory = Path(directory)
        self.num_shards = int(manifest["num_shards"])
        self.metric = str(manifest["metric"])
        self.dim = int(manifest["dim"])
        self._connected = connect(address)
        ray = import_ray()
        opts: Dict[str, Any] = {"num_cpus": 0, "max_restarts": -1, "max_task_retries": 0}
        opts.update(actor_options or {})
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        remote = ray.remote(**opts)(ShardGroup)
        self.paths = [str(self.directory.resolve() / name) for name in manifest["shard_files"]]
        # where each shard goes: the caller's strategy (one place for all), else round robin over the nodes
        pinned = "scheduling_strategy" in opts
        nodes: List[Optional[str]] = [None] * self.num_shards if pinned else spread_nodes(ray, self.num_shards)
        groups: Dict[Any, List[int]] = {}
        for k in range(self.num_shards):
            groups.setdefault(nodes[k] if actors == "per_node" else k, []).append(k)
        self.actors = actors
        self._group_of: Dict[int, int] = {}
        self._groups: List[Any] = []
        higher = self.metric != "l2"
        for g, members in enumerate(groups.values()):
            node = nodes[members[0]]
            place = remote if node is None else remote.options(
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node, soft=False))
            self._groups.append(place.remote({k: self.paths[k] for k in members}, create, recover, higher))
            self._group_of.update({k: g for k in members})
        self._next_id: Optional[int] = None
        # search's compiled graph (see _graph_search): built after the first search, by this process only
        self._graph: Any = None
        self._graph_pid = os.getpid()
        self._graph_lock = threading.Lock()
        self.compiled_search = bool(compiled_search)  # may be turned off (and on) at any time
        self._graph_ready_to_compile = True  # False after a failure, until an ordinary fan-out succeeded
        self._graph_failures = 0
        self.graph_error: Optional[str] = None  # why the last compiled search or compile failed
        try:
            self._infos = self._call([(k, "info", ()) for k in range(self.num_shards)])  # wait until all are up
        except BaseException:
            self._kill()
            raise

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def create(cls, directory: PathLike, num_shards: int, dim: int, metric: str = "cosine", encoding: str = "flat",
               *, address: Optional[str] = None, actor_options: Optional[Dict[str, Any]] = None,
               compiled_search: bool = False, actors: str = "per_shard", **index_options: Any) -> "ShardedIndex":
        """Creates ``directory`` with ``num_shards`` empty shards; ``index_options`` are
        :meth:`echoic.EmbeddingIndex.create`'s (``m``, ``ivf_lists``, ``encoder_id``...).
        ``compiled_search=True``: search through a Ray compiled graph where it can (see :meth:`search`).
        ``actors="per_node"``: one actor per node holds all of that node's shards (a search costs one
        actor call per node instead of one per shard; a killed actor takes that node's shards down
        together, and they come back together); ``"per_shard"`` (the default): one actor per shard."""
        if int(num_shards) < 1:
            raise InvalidArgumentError(f"num_shards must be >= 1, got {num_shards}")
        d = Path(directory)
        if (d / MANIFEST).exists():
            raise InvalidArgumentError(f"'{d}' already holds a sharded index; use ShardedIndex.open")
        files = [f"shard-{k}.idx" for k in range(int(num_shards))]
        manifest: Dict[str, Any] = {"format": FORMAT, "version": 1, "num_shards": int(num_shards), "dim": int(dim),
                    "metric": metric, "encoding": encoding, "routing": "splitmix64(id) mod num_shards",
                    "shard_files": files}
        try:
            d.mkdir(parents=True, exist_ok=True)
            if any((d / f).exists() for f in files):
                raise InvalidArgumentError(f"'{d}' already holds shard files but no {MANIFEST}")
            _write_atomically(d / MANIFEST, json.dumps(manifest, indent=1) + "\n")
        except OSError as exc:
            raise EchoicIOError(f"cannot create the sharded index '{d}': {exc}") from exc
        create = dict(index_options, dim=int(dim), metric=metric, encoding=encoding)
        return cls(d, manifest, create, address, actor_options, recover=True, compiled_search=compiled_search,
                   actors=actors)

    @classmethod
    def open(cls, directory: PathLike, *, address: Optional[str] = None,
             actor_options: Optional[Dict[str, Any]] = None, recover: bool = True,
             compiled_search: bool = False, actors: str = "per_shard") -> "ShardedIndex":
        """Opens an existing sharded index (every shard file must exist); options as :meth:`create`."""
        d = Path(directory)
        try:
            manifest = json.loads((d / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotFoundError(f"'{d}' holds no sharded index ({MANIFEST} missing)") from None
        except (OSError, ValueError) as exc:
            raise EchoicIOError(f"cannot read '{d / MANIFEST}': {exc}") from exc
        if manifest.get("format") != FORMAT:
            raise InvalidArgumentError(f"'{d / MANIFEST}' is not a {FORMAT} manifest")
        return cls(d, manifest, None, address, actor_options, recover, compiled_search, actors)

    # -- calls to shards, sent again while a shard restarts -----------------------------------
    def _call(self, calls: Sequence[Tuple[int, str, tuple]], retry_args: Optional[Sequence[tuple]] = None) -> list:
        """Runs ``shard[k].method(*args)`` for every call, all at once; a call whose actor died is
        sent again (with ``retry_args`` when given) until it is back or RESTART_TIMEOUT_S."""
        def submit(k: int, m: str):
            return lambda a: self._groups[self._group_of[k]].call.remote(k, m, *a)

        return self._send([(f"shard {k} ({self.paths[k]})", submit(k, m), a) for k, m, a in calls], retry_args)

    def _send(self, calls: Sequence[Tuple[str, Any, tuple]], retry_args: Optional[Sequence[tuple]] = None) -> list:
        """``calls``: (what, submit(args) -> object ref, args); see :meth:`_call`."""
        ray = import_ray()
        refs = [submit(a) for _, submit, a in calls]
        try:
            return _get(ray, refs)
        except ray.exceptions.RayActorError:
            pass
        results: list = [None] * len(calls)
        deadline = time.monotonic() + RESTART_TIMEOUT_S
        pending = list(range(len(calls)))
        while pending:
            again = []
            for i in pending:
                try:
                    results[i] = _get(ray, refs[i])
                except ray.exceptions.RayActorError as exc:
                    if time.monotonic() > deadline:
                        raise EchoicIOError(f"{calls[i][0]} did not come back within {RESTART_TIMEOUT_S:.0f} s: "
                                            f"{exc}") from exc
                    again.append(i)
            if again:
                time.sleep(0.2)
                for i in again:
                    _, submit, a = calls[i]
                    refs[i] = submit(retry_args[i] if retry_args else a)
            pending = again
        return results

    def _by_shard(self, ids: np.ndarray) -> Dict[int, np.ndarray]:
        owner = shard_of(ids, self.num_shards)
        return {int(k): np.flatnonzero(owner == k) for k in np.unique(owner)}

    def _reserve_ids(self, n: int) -> np.ndarray:
        """``n`` new ids, never handed out before: above every stored id and the ``next-id`` mark,
        which is raised on disk before the ids are used (removed ids are not reused)."""
        mark = self.directory / "next-id"
        if self._next_id is None:
            stored = max(int(i["max_id"]) for i in self._call([(k, "info", ()) for k in range(self.num_shards)]))
            try:
                on_disk = int(mark.read_text().strip())
            except (OSError, ValueError):
                on_disk = 0
            self._next_id = max(stored + 1, on_disk)
        first = self._next_id
        _write_atomically(mark, f"{first + n}\n")
        self._next_id = first + n
        return np.arange(first, first + n, dtype=np.int64)

    # -- writes ---------------------------------------------------------------------------------
    def train(self, x) -> None:
        """Trains every shard on the same ``x`` (same codebooks everywhere)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        self._call([(k, "train", (x, False)) for k in range(self.num_shards)])

    def retrain(self, x=None) -> None:
        x = None if x is None else np.ascontiguousarray(x, dtype=np.float32)
        self._call([(k, "train", (x, True)) for k in range(self.num_shards)])

    def add(self, vectors, ids: Optional[Iterable[int]] = None, labels: Optional[Sequence[str]] = None,
            namespace: str = "default", encoder_id: str = "") -> np.ndarray:
        """Adds vectors (n, dim) to their owning shards; returns the ids once every owning shard has
        written them to its log (durable). Without ``ids``, new ones are handed out."""
        x = np.ascontiguousarray(vectors, dtype=np.float32)
        if x.ndim == 1:
            x = x.reshape(1, -1)
        if isinstance(labels, str):
            labels = [labels]
        lab = None if labels is None else [str(s) for s in labels]
        if lab is not None and len(lab) != len(x):
            raise InvalidArgumentError(f"add: {len(x)} vectors but {len(lab)} labels")
        if ids is None:
            id_arr = self._reserve_ids(len(x))
        else:
            id_arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64).reshape(-1)
            if len(id_arr) != len(x):
                raise InvalidArgumentError(f"add: {len(x)} vectors but {len(id_arr)} ids")
            if len(np.unique(id_arr)) != len(id_arr):
                raise InvalidArgumentError("add: an id is given twice")
            groups = self._by_shard(id_arr)
            taken: List[int] = sum(self._call([(k, "present", (id_arr[rows],)) for k, rows in groups.items()]), [])
            if taken:
                raise InvalidArgumentError(f"add: id {taken[0]} already exists in sharded index '{self.directory}'")
        groups = self._by_shard(id_arr)
        calls, retries = [], []
        for k, rows in groups.items():
            part = (x[rows], id_arr[rows], None if lab is None else [lab[i] for i in rows], namespace, encoder_id)
            calls.append((k, "add", part + (False,)))
            retries.append(part + (True,))
        self._call(calls, retries)
        return id_arr

    def remove(self, ids: Union[int, Iterable[int]]) -> None:
        """Removes the ids from their shards; all must exist (NotFoundError otherwise, nothing removed)."""
        id_arr = np.asarray([ids] if isinstance(ids, (int, np.integer)) else list(ids), dtype=np.int64).reshape(-1)
        groups = self._by_shard(id_arr)
        missing: List[int] = sum(self._call([(k, "missing", (id_arr[rows],)) for k, rows in groups.items()]), [])
        if missing:
            raise NotFoundError(f"remove: id {missing[0]} is not in sharded index '{self.directory}'")
        self._call([(k, "remove", (id_arr[rows], False)) for k, rows in groups.items()],
                   [(id_arr[rows], True) for rows in groups.values()])

    def save(self) -> None:
        """Folds every shard's log into its main file (not needed for durability)."""
        self._call([(k, "save", ()) for k in range(self.num_shards)])

    # -- reads ----------------------------------------------------------------------------------
    def search(self, queries, k: int = 10, namespace: str = "default", **params: Any
               ) -> Tuple[np.ndarray, np.ndarray, List[List[str]]]:
        """(scores (nq, k), ids (nq, k), labels) over every shard; ``params`` are
        :meth:`echoic.EmbeddingIndex.search`'s (``nprobe``, ``rerank``, ``encoder_id``...).

        By ordinary actor calls (one per shard), unless the index was made with
        ``compiled_search=True`` and every shard runs on this process's node (one machine, or
        shards pinned with ``actor_options``): then through a Ray compiled graph once it is built,
        in the background after the first search (or at once by :meth:`compile_search`), and again
        after a shard restarted; meanwhile, for a second thread searching (one execution at a time),
        a forked child or a failed compile, by actor calls. Results are the same either way.

        The graph is off by default because of what it costs while idle: each shard's graph thread
        polls its input channel (4 idle shards kept about 1.1 of 2 cores busy here). What it buys:
        single queries in about half the time of actor calls on a moderately loaded machine, no
        clear gain under heavy load (``benchmarks/distributed/RESULTS.md``). Not across nodes:
        tearing down a graph that spans nodes crashed a raylet here (Ray 2.60, ray-project/ray#63229).
        """
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if q.ndim == 1:
            q = q.reshape(1, -1)
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise InvalidArgumentError(f"search: queries must be (n, {self.dim}) float32, got shape {q.shape}")
        args = (q.tobytes(), q.shape[1], int(k), namespace, params)
        parts = self._graph_search(args)
        if parts is None:
            parts = self._send([(f"shard actor {g}", lambda x, a=a: a.search.remote(*x), args)
                                for g, a in enumerate(self._groups)])
            self._graph_ready_to_compile = True  # every shard answered: a compile can succeed
        # our own shards' pickles (ShardGroup.search), never data from elsewhere
        return merge_topk([pickle.loads(p) for p in parts], int(k), higher_is_better=self.metric != "l2")

    # -- search through a Ray compiled graph ------------------------------------------------------
    # An ordinary actor call costs a task submission, a result object and a trip through the
    # raylet per shard; a compiled graph sends the queries to every shard over shared-memory
    # channels that were set up once. Opt-in (compiled_search=True: idle graph threads poll, see
    # search's doc); used only when every shard is on this process's node (see
    # _compile_graph: across nodes Ray 2.60 can crash a raylet at teardown). Ray runs the graph's
    # tasks on a background thread of each shard actor (Shard.lock keeps them apart from writes),
    # lets only the compiling process execute it, and tears it down when a shard dies: search then
    # falls back to ordinary calls (which wait for the restart), and compiles again, in the
    # background, after a later search found every shard answering.
    def _graph_search(self, args: tuple) -> Optional[list]:
        """The shards' results through the compiled graph, or None where search must use ordinary
        calls: turned off, another thread using the graph, another process, a failure."""
        if not self.compiled_search or os.getpid() != self._graph_pid or not self._groups:
            return None
        if not self._graph_lock.acquire(blocking=False):  # one execution at a time: others go the ordinary way
            return None
        try:
            ray = import_ray()
            if self._graph is None:  # compiled on a thread of its own: no search waits for it
                if self._graph_ready_to_compile and self._graph_failures < GRAPH_COMPILE_ATTEMPTS:
                    self._graph_ready_to_compile = False
                    threading.Thread(target=self._compile_in_background, name="echoic-sharded-compile",
                                     daemon=True).start()
                return None
            try:
                return _get_compiled(ray, self._graph.execute(*args), RESTART_TIMEOUT_S)
            except ray.exceptions.RayError as exc:  # a shard died, a channel closed or timed out
                self.graph_error = f"{type(exc).__name__}: {exc}"
                log.info("ShardedIndex: compiled search failed, using ordinary calls: %s", self.graph_error)
                self._drop_graph()
                self._graph_ready_to_compile = False
                return None
        finally:
            self._graph_lock.release()

    def _compile_in_background(self) -> None:
        with self._graph_lock:  # searches meanwhile use ordinary calls; close() waits
            self._compile_locked()

    def _compile_locked(self) -> None:
        if self._graph is None and self._groups and self.compiled_search \
                and self._graph_failures < GRAPH_COMPILE_ATTEMPTS and os.getpid() == self._graph_pid:
            self._graph = self._compile_graph(import_ray())

    def compile_search(self) -> bool:
        """Builds search's compiled graph now (waiting for one being built) rather than in the
        background after the first search; returns whether search now uses it (else see
        ``graph_error``)."""
        if self.compiled_search:
            with self._graph_lock:
                self._compile_locked()
        return self._graph is not None

    def _compile_graph(self, ray: Any) -> Any:
        try:
            here = ray.get_runtime_context().get_node_id()
            away = [k for k, i in enumerate(self._call([(k, "info", ()) for k in range(self.num_shards)]))
                    if i["node"] != here]
            if away:
                # Ray 2.60 sends a graph's messages to another node through that node's raylet, and a
                # raylet that receives one for a channel already closed (a teardown) dies on a failed
                # check (ray-project/ray#63229), taking every actor of its node along: seen here.
                self._graph_failures = GRAPH_COMPILE_ATTEMPTS
                self.graph_error = (f"shards {away} are on other nodes than this process: compiled search is "
                                    "used only when every shard is on this node (Ray 2.60, ray-project/ray#63229)")
                log.info("ShardedIndex: %s", self.graph_error)
                return None
            from ray.dag import InputNode, MultiOutputNode

            with InputNode() as inp:
                dag = MultiOutputNode([a.search.bind(inp[0], inp[1], inp[2], inp[3], inp[4]) for a in self._groups])
            # execute() is followed by its get before the next one: one execution in flight at most
            graph = dag.experimental_compile(_max_inflight_executions=1)
        except Exception as exc:  # noqa: BLE001 (Ray raises many kinds here; search works without it)
            self._graph_failures += 1
            self._graph_ready_to_compile = False
            self.graph_error = f"compile: {type(exc).__name__}: {exc}"
            log.info("ShardedIndex: no compiled search (%d/%d): %s", self._graph_failures, GRAPH_COMPILE_ATTEMPTS,
                     self.graph_error)
            return None
        self._graph_pid = os.getpid()
        return graph

    def _drop_graph(self) -> None:
        graph, self._graph = self._graph, None
        if graph is not None:
            try:
                graph.teardown()
            except Exception as exc:  # noqa: BLE001 (already torn down by Ray's monitor, a shard gone...)
                log.debug("ShardedIndex: compiled graph teardown: %s", exc)

    @property
    def compiled_search_active(self) -> bool:
        """Whether search currently runs through a compiled graph (built in the background after
        the first search, or by :meth:`compile_search`)."""
        return self._graph is not None

    def entries(self, namespace: str = "default") -> Tuple[np.ndarray, List[str]]:
        """Every entry of ``namespace`` (``""``: all) as (ids, labels), in id order."""
        parts = self._call([(k, "entries", (namespace,)) for k in range(self.num_shards)])
        ids = np.concatenate([np.asarray(p[0], dtype=np.int64) for p in parts]) if parts else np.zeros(0, np.int64)
        labels = sum((list(p[1]) for p in parts), [])
        order = np.argsort(ids, kind="stable")
        return ids[order], [labels[i] for i in order]

    def __len__(self) -> int:
        return int(sum(self._call([(k, "size", ()) for k in range(self.num_shards)])))

    def __contains__(self, id_: int) -> bool:
        k = int(shard_of([id_], self.num_shards)[0])
        return not self._call([(k, "missing", (np.asarray([id_], dtype=np.int64),))])[0]

    def label(self, id_: int) -> str:
        k = int(shard_of([id_], self.num_shards)[0])
        return self._call([(k, "label", (int(id_),))])[0]

    def namespaces(self) -> List[str]:
        return sorted(set(sum(self._call([(k, "namespaces", ()) for k in range(self.num_shards)]), [])))

    def shard_info(self) -> List[Dict[str, Any]]:
        """Per shard: pid, node id, path, size, whether it restarted, and its open issues."""
        return self._call([(k, "info", ()) for k in range(self.num_shards)])

    # -- lifetime -------------------------------------------------------------------------------
    def _kill(self) -> None:
        ray = import_ray()
        with self._graph_lock:
            self._drop_graph()
        for a in self._groups:
            try:
                ray.kill(a, no_restart=True)
            except Exception:  # already gone
                pass
        self._groups = []

    def close(self) -> None:
        """Closes every shard's file and ends the actors (nothing to save: the logs hold everything)."""
        if not self._groups:
            return
        try:
            self.compiled_search = False  # no compile from here on
            with self._graph_lock:  # before the files close: the graph's tasks search them
                self._drop_graph()
            self._call([(k, "close", ()) for k in range(self.num_shards)])
        finally:
            self._kill()
            if self._connected:
                disconnect()
                self._connected = False

    def __enter__(self) -> "ShardedIndex":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ShardedIndex({str(self.directory)!r}, num_shards={self.num_shards}, dim={self.dim}, " \
               f"metric={self.metric!r})"
