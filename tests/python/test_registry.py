"""Model registry: manifests and resumable, verified, atomic downloads from a local HTTP server."""
import hashlib
import io
import json
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import echoic
from echoic import registry
from echoic.cli import main as cli_main

DATA = Path(__file__).resolve().parents[1] / "data"


class _Server:
    """Serves byte blobs by path; records every request's headers. Knobs per path:
    ``cut`` (close after N body bytes, once) and ``ignore_range``."""

    def __init__(self) -> None:
        self.blobs = {}
        self.requests = []  # (path, {header: value})
        self.cut = {}
        self.ignore_range = set()
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # keep pytest output clean
                pass

            def do_GET(self):
                srv.requests.append((self.path, dict(self.headers)))
                blob = srv.blobs.get(self.path)
                if blob is None:
                    self.send_error(404)
                    return
                start = 0
                rng = self.headers.get("Range")
                if rng and self.path not in srv.ignore_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(blob) - 1}/{len(blob)}")
                else:
                    self.send_response(200)
                body = blob[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                cut = srv.cut.pop(self.path, None)
                if cut is not None:
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server():
    s = _Server()
    yield s
    s.close()


def _targz(members) -> bytes:
    """members: (arcname, bytes or a Path to add, or a TarInfo hook)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, content in members:
            if isinstance(content, Path):
                t.add(str(content), arcname=name)
            else:
                info = tarfile.TarInfo(name)
                info.size = len(content)
                t.addfile(info, io.BytesIO(content))
    return buf.getvalue()


@pytest.fixture(scope="module")
def wenet_tarball() -> bytes:
    return _targz([("asr-random-wenet", DATA / "asr-random-wenet")])


def _publish(server, tmp_path, blob, name="tiny", path="/tiny.tar.gz", sha=None, files=("model.onnx", "tokens.txt")):
    server.blobs[path] = blob
    entry = {"name": name, "version": "1", "url": server.url + path,
             "sha256": sha or hashlib.sha256(blob).hexdigest(), "size": len(blob), "files": list(files),
             "licence": "Apache-2.0", "description": "random-weight test model"}
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps([entry]))
    return manifest


def _no_leftovers(cache: Path) -> None:
    # Nothing half-done may look like a model.
    assert not [p for p in cache.iterdir() if p.name.startswith((".unpack-", ".old-"))]


def test_bundled_manifest_is_valid_and_has_no_fake_entries():
    data = json.loads(registry.BUNDLED_MANIFEST.read_text())
    assert isinstance(data, list)
    for e in registry.available_models():
        assert e.url.startswith("https://") and len(e.sha256) == 64


def test_download_installs_and_recognizer_loads(server, tmp_path, wenet_tarball):
    manifest = _publish(server, tmp_path, wenet_tarball)
    cache = tmp_path / "cache"
    seen = []
    d = registry.download("tiny", manifest=manifest, cache=cache, progress=lambda a, b: seen.append((a, b)))
    assert d == cache / "tiny"
    assert (d / "model.onnx").read_bytes() == (DATA / "asr-random-wenet" / "model.onnx").read_bytes()
    assert seen[-1] == (len(wenet_tarball), len(wenet_tarball))
    assert not list((cache / ".downloads").glob("*.part"))
    _no_leftovers(cache)
    rec = echoic.Recognizer(d)
    assert rec.sample_rate == 16000
    # The cache is searched by name too.
    assert registry.list_models(cache)["tiny"] == d


def test_second_download_is_a_no_op(server, tmp_path, wenet_tarball):
    manifest = _publish(server, tmp_path, wenet_tarball)
    cache = tmp_path / "cache"
    registry.download("tiny", manifest=manifest, cache=cache)
    n = len(server.requests)
    assert registry.download("tiny", manifest=manifest, cache=cache) == cache / "tiny"
    assert len(server.requests) == n


def test_damaged_install_is_redownloaded(server, tmp_path, wenet_tarball):
    manifest = _publish(server, tmp_path, wenet_tarball)
    cache = tmp_path / "cache"
    d = registry.download("tiny", manifest=manifest, cache=cache)
    (d / "model.onnx").write_bytes(b"truncated")
    n = len(server.requests)
    registry.download("tiny", manifest=manifest, cache=cache)
    assert len(server.requests) == n + 1
    assert (d / "model.onnx").read_bytes() == (DATA / "asr-random-wenet" / "model.onnx").read_bytes()


def test_interrupted_download_resumes_with_range(server, tmp_path, wenet_tarball):
    manifest = _publish(server, tmp_path, wenet_tarball)
    server.cut["/tiny.tar.gz"] = len(wenet_tarball) // 3
    cache = tmp_path / "cache"
    d = registry.download("tiny", manifest=manifest, cache=cache)
    assert (d / "tokens.txt").is_file()
    ranges = [h.get("Range") for _, h in server.requests]
    assert ranges[0] is None
    assert ranges[1] == f"bytes={len(wenet_tarball) // 3}-"


def test_interrupted_download_resumes_in_a_later_call(server, tmp_path, wenet_tarball):
    manifest = _publish(server, tmp_path, wenet_tarball)
    server.cut["/tiny.tar.gz"] = 1000
    cache = tmp_path / "cache"
    with pytest.raises(echoic.EchoicIOError, match="1000 of"):
        registry.download("tiny", manifest=manifest, cache=cache, retries=0)
    assert not (cache / "tiny").exists()
    parts = list((cache / ".downloads").glob("*.part"))
    assert len(parts) == 1 and parts[0].stat().st_size == 1000
    registry.download("tiny", manifest=manifest, cache=cache, retries=0)
    assert server.requests[-1][1].get("Range") == "bytes=1000-"
    assert (cache / "tiny" / "model.onnx").is_file()


def test_server_ignoring_range_restarts_cleanly(server, tmp_path, wenet_tarball):
    manifest = _publish(server, tmp_path, wenet_tarball)
    server.cut["/tiny.tar.gz"] = 777
    server.ignore_range.add("/tiny.tar.gz")
    cache = tmp_path / "cache"
    d = registry.download("tiny", manifest=manifest, cache=cache)
    assert server.requests[1][1].get("Range") == "bytes=777-"  # asked, but got the whole file (200)
    assert (d / "model.onnx").read_bytes() == (DATA / "asr-random-wenet" / "model.onnx").read_bytes()


def test_wrong_sha256_is_corrupt_and_installs_nothing(server, tmp_path, wenet_tarball):
    wrong = "0" * 64
    manifest = _publish(server, tmp_path, wenet_tarball, sha=wrong)
    cache = tmp_path / "cache"
    actual = hashlib.sha256(wenet_tarball).hexdigest()
    with pytest.raises(echoic.CorruptDataError) as exc:
        registry.download("tiny", manifest=manifest, cache=cache)
    assert wrong in str(exc.value) and actual in str(exc.value)
    assert not (cache / "tiny").exists()
    assert not list((cache / ".downloads").glob("*.part"))
    assert "tiny" not in registry.list_models(cache)


@pytest.mark.parametrize("evil", ["../evil", "ABSOLUTE", "model/../../evil"])
def test_path_traversal_member_is_refused(server, tmp_path, evil):
    if evil == "ABSOLUTE":  # inside tmp_path, so a broken check cannot write elsewhere
        evil = str(tmp_path / "evil-abs")
    blob = _targz([("m/model.onnx", b"x"), ("m/tokens.txt", b"a 0\n"), (evil, b"pwned")])
    manifest = _publish(server, tmp_path, blob)
    cache = tmp_path / "cache"
    with pytest.raises(echoic.CorruptDataError, match="unsafe member"):
        registry.download("tiny", manifest=manifest, cache=cache)
    assert not (cache / "tiny").exists()
    assert not (tmp_path / "evil").exists() and not (cache / "evil").exists()
    assert not (tmp_path / "evil-abs").exists()
    _no_leftovers(cache)


def test_symlink_member_is_refused(server, tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        info = tarfile.TarInfo("m/model.onnx")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        t.addfile(info)
    manifest = _publish(server, tmp_path, buf.getvalue())
    with pytest.raises(echoic.CorruptDataError, match="link"):
        registry.download("tiny", manifest=manifest, cache=tmp_path / "cache")


def test_zip_archive_and_files_at_top_level(server, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for f in ("model.onnx", "tokens.txt"):
            z.write(DATA / "asr-random-wenet" / f, arcname=f)
    manifest = _publish(server, tmp_path, buf.getvalue(), path="/tiny.zip")
    d = registry.download("tiny", manifest=manifest, cache=tmp_path / "cache")
    assert echoic.Recognizer(d).sample_rate == 16000


def test_archive_missing_listed_file_is_corrupt(server, tmp_path):
    blob = _targz([("m/model.onnx", b"x")])
    manifest = _publish(server, tmp_path, blob)
    with pytest.raises(echoic.CorruptDataError, match="tokens.txt"):
        registry.download("tiny", manifest=manifest, cache=tmp_path / "cache")
    assert not (tmp_path / "cache" / "tiny").exists()


def test_unknown_name_and_bad_manifest(tmp_path, monkeypatch):
    with pytest.raises(echoic.NotFoundError, match="no published model"):
        registry.download("nope", cache=tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"name": "x", "version": "1", "url": "http://h/x.tgz", "sha256": "abc", "size": 1}]))
    with pytest.raises(echoic.InvalidArgumentError, match="64 hex"):
        registry.load_manifest(bad)
    bad.write_text("{not json")
    with pytest.raises(echoic.CorruptDataError, match="bad.json"):
        registry.load_manifest(bad)


def test_env_manifest_and_cli(server, tmp_path, wenet_tarball, monkeypatch, capsys):
    manifest = _publish(server, tmp_path, wenet_tarball)
    cache = tmp_path / "cache"
    monkeypatch.setenv("ECHOIC_MODEL_MANIFEST", str(manifest))
    monkeypatch.setenv("ECHOIC_CACHE", str(cache))
    assert cli_main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "tiny" in out and "downloadable" in out
    assert cli_main(["models", "download", "tiny"]) == 0
    cap = capsys.readouterr()
    assert cap.out.strip() == str(cache / "tiny")
    assert "100.0 %" in cap.err
    assert cli_main(["models", "path", "tiny"]) == 0
    assert capsys.readouterr().out.strip() == str(cache / "tiny")
    assert cli_main(["models", "list"]) == 0
    line = [l for l in capsys.readouterr().out.splitlines() if l.startswith("tiny")][0]
    assert "cached" in line
    assert cli_main(["models", "download", "missing"]) == 1


def test_http_404_is_an_io_error_without_retries(server, tmp_path, wenet_tarball):
    manifest = _publish(server, tmp_path, wenet_tarball)
    del server.blobs["/tiny.tar.gz"]
    with pytest.raises(echoic.EchoicIOError, match=r"tiny\.tar\.gz: HTTP 404"):
        registry.download("tiny", manifest=manifest, cache=tmp_path / "cache")
    assert len(server.requests) == 1
    assert not (tmp_path / "cache" / "tiny").exists()


def test_concurrent_downloads_fetch_once(server, tmp_path, wenet_tarball):
    manifest = _publish(server, tmp_path, wenet_tarball)
    cache = tmp_path / "cache"
    results, errors = [], []

    def worker():
        try:
            results.append(registry.download("tiny", manifest=manifest, cache=cache))
        except Exception as exc:  # surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and results == [cache / "tiny"] * 3
    assert len(server.requests) == 1  # the others waited on the lock, then found it installed
    _no_leftovers(cache)


def test_new_version_replaces_the_installed_one(server, tmp_path, wenet_tarball):
    cache = tmp_path / "cache"
    registry.download("tiny", manifest=_publish(server, tmp_path, wenet_tarball), cache=cache)
    v2 = _targz([("m/model.onnx", (DATA / "asr-random-wenet" / "model.onnx").read_bytes()),
                 ("m/tokens.txt", (DATA / "asr-random-wenet" / "tokens.txt").read_bytes()),
                 ("m/MODEL_CARD.md", b"v2\n")])
    d = registry.download("tiny", manifest=_publish(server, tmp_path, v2, path="/tiny-v2.tar.gz"), cache=cache)
    assert (d / "MODEL_CARD.md").read_text() == "v2\n"
    assert json.loads((d / registry.INSTALL_MARKER).read_text())["sha256"] == hashlib.sha256(v2).hexdigest()
    _no_leftovers(cache)


def test_single_file_models_resolve_one_way(tmp_path, monkeypatch):
    """Keyword, speaker and VAD models: a file, a folder holding it, a bundled name, or the
    default ($ECHOIC_SPEAKER_MODEL / $ECHOIC_VAD_MODEL, else bundled)."""
    monkeypatch.delenv("ECHOIC_SPEAKER_MODEL", raising=False)
    monkeypatch.delenv("ECHOIC_VAD_MODEL", raising=False)
    bundled = {"kws": registry.BUNDLED_DIR / "echoic-kws-en" / "model.onnx",
               "speaker": registry.BUNDLED_DIR / "speaker-dvector" / "embedder.int8.onnx",
               "vad": registry.BUNDLED_DIR / "silero-vad" / "silero_vad.onnx"}
    for kind, path in bundled.items():
        assert registry.resolve_model_file(kind) == path
        assert registry.resolve_model_file(kind, path) == path
        assert registry.resolve_model_file(kind, path.parent) == path
        assert registry.resolve_model_file(kind, path.parent.name) == path
        with pytest.raises(echoic.NotFoundError, match="missing.onnx"):
            registry.resolve_model_file(kind, tmp_path / "missing.onnx")
    monkeypatch.setenv("ECHOIC_VAD_MODEL", str(bundled["speaker"]))  # any existing file is taken as given
    assert registry.resolve_model_file("vad") == bundled["speaker"]
    monkeypatch.setenv("ECHOIC_SPEAKER_MODEL", str(tmp_path / "nope.onnx"))
    with pytest.raises(echoic.NotFoundError, match=r"nope\.onnx.*\$ECHOIC_SPEAKER_MODEL"):
        registry.resolve_model_file("speaker")
    from echoic import kws, speaker, vad

    assert kws.resolve_kws_model(None) == bundled["kws"]
    with pytest.raises(echoic.NotFoundError):
        speaker.SpeakerModel()
    monkeypatch.delenv("ECHOIC_VAD_MODEL")
    assert vad.default_silero_model() == str(bundled["vad"])
