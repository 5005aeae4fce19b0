import subprocess
import sys

import pytest

import echoic
from echoic import _native


def test_version_is_the_package_version():
    assert echoic.__version__ == _native.version()
    assert echoic.__version__.count(".") >= 2


@pytest.mark.parametrize(
    "code,cls,builtin",
    [
        (1, echoic.InvalidArgumentError, ValueError),
        (2, echoic.EchoicIOError, OSError),
        (3, echoic.CorruptDataError, ValueError),
        (4, echoic.ModelError, None),
        (5, echoic.OnnxRuntimeError, None),
        (7, echoic.EchoicMemoryError, MemoryError),
        (8, echoic.StateError, None),
        (9, echoic.NotFoundError, KeyError),
    ],
)
def test_native_errors_map_to_typed_exceptions(code, cls, builtin):
    with pytest.raises(cls, match="boom") as info:
        _native._raise_for_test(code, "boom")
    assert isinstance(info.value, echoic.EchoicError)
    if builtin is not None:
        assert isinstance(info.value, builtin)


def test_cli_info_runs():
    out = subprocess.run([sys.executable, "-m", "echoic", "info"], capture_output=True, text=True, check=True)
    assert f"echoic {echoic.__version__}" in out.stdout
    # The index's kernel set: AVX2 on x86-64 CPUs that have it, NEON on AArch64, else scalar.
    assert f"index kernels: {_native.index_kernels()}" in out.stdout
    assert _native.index_kernels() in ("avx2", "neon", "scalar")
