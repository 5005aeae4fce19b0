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
