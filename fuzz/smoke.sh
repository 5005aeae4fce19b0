#!/usr/bin/env bash
# Fuzz smoke (issue 21): builds the libFuzzer targets with clang (ASan + UBSan) and runs each
# for ECHOIC_FUZZ_SECONDS (default 35) over its committed corpus plus fresh mutations.
# Any finding (crash, non-echoic exception, sanitizer report, >10 s input, >2 GB RSS) fails.
#
#   bash fuzz/smoke.sh [target...]          (default: every fuzz_*.cc)
#   ECHOIC_FUZZ_BUILD_DIR=/tmp/x ECHOIC_FUZZ_SECONDS=60 bash fuzz/smoke.sh
#
# New corpus entries go to a scratch folder, not to fuzz/corpus; crash inputs are kept in
# $BUILD/artifacts (reproduce: $BUILD/fuzz/<target> <file>).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${ECHOIC_FUZZ_BUILD_DIR:-$ROOT/build/fuzz}"
SECS="${ECHOIC_FUZZ_SECONDS:-35}"
JOBS="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}"

command -v clang++ >/dev/null && command -v clang >/dev/null \
  || { echo "fuzz/smoke.sh: clang is required (apt-get install clang libclang-rt-dev)"; exit 1; }
echo "== Fuzzers (clang, libFuzzer + ASan + UBSan) in $BUILD"
CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DECHOIC_BUILD_FUZZERS=ON \
  -DECHOIC_BUILD_PYTHON=OFF -DECHOIC_BUILD_TESTS=OFF -DECHOIC_BUILD_EXAMPLES=OFF -DECHOIC_BUILD_JNI=OFF >/dev/null \
  && cmake --build "$BUILD" --parallel "$JOBS" >/dev/null \
  || { echo "fuzz/smoke.sh: building the fuzzers failed"; cmake --build "$BUILD" 2>&1 | tail -40; exit 1; }

dict_for() {
  case "$1" in
    index|wal) echo "$ROOT/fuzz/dict/index.dict" ;;
    word_lm) echo "$ROOT/fuzz/dict/arpa.dict" ;;
    *_model) echo "$ROOT/fuzz/dict/contract.dict" ;;
  esac
}

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in "$ROOT"/fuzz/fuzz_*.cc; do t="$(basename "$f" .cc)"; targets+=("${t#fuzz_}"); done
fi
# Index targets fsync every open and save: on tmpfs that costs nothing (5-10x the exec/s).
if [ -d /dev/shm ] && [ -w /dev/shm ]; then WORK="$(mktemp -d -p /dev/shm)"; else WORK="$(mktemp -d)"; fi
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$BUILD/artifacts"
failed=()
printf '%-18s %10s %8s %6s %s\n' target execs exec/s cov result
for t in "${targets[@]}"; do
  bin="$BUILD/fuzz/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz/smoke.sh: no fuzzer $bin"; failed+=("$t"); continue; }
  mkdir -p "$WORK/$t"
  args=(-max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$BUILD/artifacts/$t-")
  d="$(dict_for "$t")"
  [ -n "$d" ] && args+=(-dict="$d")
  corpus=()
  [ -d "$ROOT/fuzz/corpus/$t" ] && corpus+=("$ROOT/fuzz/corpus/$t")
  TMPDIR="$WORK" "$bin" "${args[@]}" "$WORK/$t" "${corpus[@]}" >"$WORK/$t.log" 2>&1
  rc=$?
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$WORK/$t.log" | grep -o '[0-9]*$')"
  rate="$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$WORK/$t.log" | grep -o '[0-9]*$')"
  cov="$(grep -o 'cov: [0-9]*' "$WORK/$t.log" | tail -1 | grep -o '[0-9]*$')"
  if [ "$rc" -eq 0 ]; then
    printf '%-18s %10s %8s %6s %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" ok
  else
    printf '%-18s %10s %8s %6s %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "FINDING (rc=$rc)"
    grep -E 'ERROR|SUMMARY|runtime error|terminate|Test unit written|deadly signal|==[0-9]+==' "$WORK/$t.log" | head -20
    tail -40 "$WORK/$t.log"
    failed+=("$t")
  fi
done
if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzz/smoke.sh: FAILED: ${failed[*]} (inputs in $BUILD/artifacts)"
  exit 1
fi
echo "fuzz/smoke.sh: ${#targets[@]} targets, ${SECS} s each, no findings"
