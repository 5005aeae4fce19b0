#!/usr/bin/env bash
# aarch64 Linux: cross-build the core, the C API (libechoic.so), the JNI layer
# (libechoic_jni.so), the C/Java examples and the C++ unit tests with Debian's cross
# toolchain, then run them under qemu-user:
#   1. ctest (C++ unit tests, example_transcribe_c, jni_test, example_transcribe_java; the
#      Java ones on Debian's arm64 OpenJDK 17 JRE, itself emulated),
#   2. the C example on real clips with a shipped model, whose transcripts must match the
#      x86-64 build's (tests/aarch64/compare_transcripts.py: the same words give or take one
#      edit per 10, word times within 0.1 s; NEON and AVX2 kernels round differently, so a
#      near tie between two characters may flip),
#   3. instruction counts of the index scans, NEON kernels against the scalar ones.
# Idempotent: installs what is missing (apt: g++-aarch64-linux-gnu, qemu-user; the arm64
# JRE and zlib are only downloaded and unpacked into the build folder, nothing arm64 is
# installed system-wide), pip-downloads ONNX Runtime's manylinux aarch64 wheel into a cache.
#
#   bash tests/aarch64.sh            (CI: the stage after fuzz smoke in .ci/run)
#
# Environment: ECHOIC_AARCH64_BUILD_DIR (default build/aarch64), ECHOIC_AARCH64_CACHE
# (downloads; default ~/.cache/echoic-aarch64), ECHOIC_AARCH64_ORT_VERSION (default: the
# version of the x86-64 onnxruntime Python package, so both transcripts use the same ORT),
# CMAKE_BUILD_PARALLEL_LEVEL (default 2), ECHOIC_SHARED_DIR (default ../shared),
# ECHOIC_AARCH64_CTEST_EXCLUDE (ctest -E regex; default: none), ECHOIC_AARCH64_CLIPS (files in
# speech-dev for the transcript check, space-separated; default two 25-word LJ Speech clips).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
BUILD="${ECHOIC_AARCH64_BUILD_DIR:-$ROOT/build/aarch64}"
CACHE="${ECHOIC_AARCH64_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/echoic-aarch64}"
JOBS="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
SHARED="${ECHOIC_SHARED_DIR:-$(cd "$ROOT/.." && pwd)/shared}"
SECONDS=0
stage() { echo "== aarch64: $* (at ${SECONDS} s)"; }
fail() { echo "tests/aarch64.sh: FAILED: $*"; exit 1; }
mkdir -p "$BUILD" "$CACHE"

stage "packages"
export DEBIAN_FRONTEND=noninteractive
need=()
command -v aarch64-linux-gnu-g++ >/dev/null || need+=(g++-aarch64-linux-gnu)
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
updated=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64  # for `apt-get download ...:arm64` only
  apt-get update -q >/dev/null
  updated=1
fi
if [ ${#need[@]} -gt 0 ]; then
  [ "$updated" = 1 ] || apt-get update -q >/dev/null
  updated=1
  apt-get install -y -q "${need[@]}" >/dev/null
fi
command -v aarch64-linux-gnu-g++ >/dev/null && command -v qemu-aarch64 >/dev/null \
  || fail "g++-aarch64-linux-gnu / qemu-user could not be installed"

stage "ONNX Runtime for aarch64"
ORT_VERSION="${ECHOIC_AARCH64_ORT_VERSION:-$(cd /tmp && "$PY" -c 'import onnxruntime; print(onnxruntime.__version__)' 2>/dev/null || true)}"
ORT_CACHE="$CACHE/ort-${ORT_VERSION:-latest}"
if ! ls "$ORT_CACHE"/onnxruntime-*aarch64*.whl >/dev/null 2>&1; then
  "$PY" -m pip download -q --no-deps --only-binary=:all: -d "$ORT_CACHE" \
    --platform manylinux_2_28_aarch64 --platform manylinux_2_27_aarch64 --platform manylinux2014_aarch64 \
    "onnxruntime${ORT_VERSION:+==$ORT_VERSION}" || fail "pip download of the onnxruntime aarch64 wheel"
fi
WHEEL="$(ls "$ORT_CACHE"/onnxruntime-*aarch64*.whl | head -1)"
rm -rf "$BUILD/ort" && mkdir -p "$BUILD/ort"
"$PY" - "$WHEEL" "$BUILD/ort" <<'PYEOF'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in z.namelist():
        if n.startswith("onnxruntime/capi/libonnxruntime.so"):
            with open(os.path.join(sys.argv[2], os.path.basename(n)), "wb") as f:
                f.write(z.read(n))
PYEOF
ORT_LIB="$(ls "$BUILD"/ort/libonnxruntime.so* | head -1)"
echo "ONNX Runtime: $(basename "$WHEEL") -> $ORT_LIB"

stage "target root for qemu-user"
# The cross toolchain's /usr/aarch64-linux-gnu (glibc, libstdc++), plus the arm64 JRE and
# zlib unpacked from Debian's packages. Absolute symlinks are re-pointed inside the root.
SYSROOT="$BUILD/sysroot"
DEBS="$CACHE/debs"
mkdir -p "$DEBS"
JAVA_OK=1
if ! ls "$DEBS"/openjdk-17-jre-headless_*_arm64.deb "$DEBS"/zlib1g_*_arm64.deb >/dev/null 2>&1; then
  if [ "$updated" = 0 ] && ! apt-cache show openjdk-17-jre-headless:arm64 >/dev/null 2>&1; then
    apt-get update -q >/dev/null
  fi
  (cd "$DEBS" && apt-get download -q openjdk-17-jre-headless:arm64 zlib1g:arm64 >/dev/null 2>&1) || JAVA_OK=0
fi
rm -rf "$SYSROOT" && mkdir -p "$SYSROOT/lib" "$SYSROOT/proc"
cp -as /usr/aarch64-linux-gnu/lib/. "$SYSROOT/lib/"
if [ "$JAVA_OK" = 1 ]; then
  for deb in "$DEBS"/openjdk-17-jre-headless_*_arm64.deb "$DEBS"/zlib1g_*_arm64.deb; do dpkg-deb -x "$deb" "$SYSROOT"; done
  find "$SYSROOT/usr" "$SYSROOT/etc" -type l -lname '/*' | while read -r link; do
    ln -sfn "$SYSROOT$(readlink "$link")" "$link"
  done
fi
# qemu-user 7.2 does not emulate /proc/cpuinfo for aarch64 guests: the guest reads the
# host's x86 one, and ONNX Runtime's cpuinfo then finds no ARM cores and crashes (SIGSEGV
# at session creation). qemu looks up absolute paths under -L first, so describe
# Cortex-A72-class cores there (one per host CPU, as /sys/devices/system/cpu says).
for i in $(seq 0 $(($(nproc) - 1))); do
  printf 'processor\t: %d\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid\n' "$i"
  printf 'CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n'
done >"$SYSROOT/proc/cpuinfo"
QEMU=(qemu-aarch64 -L "$SYSROOT")
ARM_JAVA="$SYSROOT/usr/lib/jvm/java-17-openjdk-arm64/bin/java"
java_args=()
if [ "$JAVA_OK" = 1 ] && [ -x "$ARM_JAVA" ] && "${QEMU[@]}" "$ARM_JAVA" -version >/dev/null 2>&1; then
  "${QEMU[@]}" "$ARM_JAVA" -version 2>&1 | head -1 | sed 's/^/arm64 JVM under qemu-user: /'
  # jni.h and jni_md.h are the same on every Linux: the build machine's JDK provides them.
  HOST_JDK="$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")"
  java_args=(-DECHOIC_BUILD_JNI=ON "-DJAVA_INCLUDE_PATH=$HOST_JDK/include" "-DJAVA_INCLUDE_PATH2=$HOST_JDK/include/linux"
    "-DJAVA_AWT_INCLUDE_PATH=$HOST_JDK/include"
    "-DJAVA_JVM_LIBRARY=$SYSROOT/usr/lib/jvm/java-17-openjdk-arm64/lib/server/libjvm.so"
    "-DECHOIC_TEST_JAVA=qemu-aarch64;-L;$SYSROOT;$ARM_JAVA")
else
  echo "tests/aarch64.sh: no arm64 JVM runs under qemu-user here; the JNI tests are left out"
  java_args=(-DECHOIC_BUILD_JNI=OFF)
fi

stage "cross build"
nice cmake -S "$ROOT" -B "$BUILD" -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchains/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DECHOIC_BUILD_PYTHON=OFF -DECHOIC_BUILD_TESTS=ON \
  -DECHOIC_AARCH64_SYSROOT="$SYSROOT" -DECHOIC_TEST_ORT_LIBRARY="$ORT_LIB" "${java_args[@]}" >/dev/null
nice cmake --build "$BUILD" --parallel "$JOBS" >/dev/null || { cmake --build "$BUILD" 2>&1 | tail -40; fail "cross build"; }
for f in "$BUILD/bindings/c/libechoic.so" "$BUILD/examples/transcribe-c/transcribe"; do
  file "$f" | grep -q "ARM aarch64" || fail "$f is not an aarch64 binary"
done
[ "$JAVA_OK" = 0 ] || file "$BUILD/bindings/jni/libechoic_jni.so" | grep -q "ARM aarch64" || fail "libechoic_jni.so"

stage "ctest under qemu-user"
# Every test the x86-64 ctest runs (the Whisper cases skip: ECHOIC_WHISPER_TEST_DIR is unset,
# as without the [whisper] extra), less ECHOIC_AARCH64_CTEST_EXCLUDE (a ctest -E regex): .ci/run
# leaves out the tests that run the ASR/KWS/speaker models for many seconds, which take tens of
# minutes under emulation (ONNX Runtime's NEON kernels are emulated instruction by instruction).
ctest_args=(--output-on-failure --timeout 1800 -j "$JOBS")
if [ -n "${ECHOIC_AARCH64_CTEST_EXCLUDE:-}" ]; then
  ctest_args+=(-E "$ECHOIC_AARCH64_CTEST_EXCLUDE")
  echo "left out: $ECHOIC_AARCH64_CTEST_EXCLUDE"
fi
(cd "$BUILD" && env -u ECHOIC_WHISPER_TEST_DIR ctest "${ctest_args[@]}") || fail "ctest under qemu-user"

stage "transcript on aarch64 against x86-64"
MODEL="$ROOT/sdk/echoic/models/echoic-small-en"
HOST_BUILD="$ROOT/build/tests"
if [ ! -f "$HOST_BUILD/CMakeCache.txt" ]; then
  HOST_BUILD="$BUILD-host"
  nice cmake -S "$ROOT" -B "$HOST_BUILD" -DCMAKE_BUILD_TYPE=Release -DECHOIC_BUILD_PYTHON=OFF \
    -DECHOIC_BUILD_TESTS=OFF -DECHOIC_BUILD_EXAMPLES=ON -DECHOIC_BUILD_JNI=OFF >/dev/null
fi
nice cmake --build "$HOST_BUILD" --parallel "$JOBS" --target transcribe >/dev/null || fail "host transcribe build"
HOST_ORT="$(cd /tmp && "$PY" -c 'import glob,os,onnxruntime as o;print(sorted(glob.glob(os.path.join(os.path.dirname(o.__file__),"capi","libonnxruntime.so*")))[-1])')"
for clip in ${ECHOIC_AARCH64_CLIPS:-ljspeech__LJ001-0001.wav ljspeech__LJ001-0003.wav}; do
  WAV="$SHARED/eval/speech-dev/$clip"
  X86="$BUILD/transcript.x86_64.${clip%.wav}.txt"
  ARM="$BUILD/transcript.aarch64.${clip%.wav}.txt"
  ECHOIC_ORT_LIBRARY="$HOST_ORT" "$HOST_BUILD/examples/transcribe-c/transcribe" "$MODEL" "$WAV" 100 >"$X86" \
    || fail "x86-64 transcribe ($clip)"
  ECHOIC_ORT_LIBRARY="$ORT_LIB" "${QEMU[@]}" "$BUILD/examples/transcribe-c/transcribe" "$MODEL" "$WAV" 100 \
    >"$ARM" || fail "aarch64 transcribe ($clip)"
  echo "x86-64:  $(head -c 300 "$X86")"
  echo "aarch64: $(head -c 300 "$ARM")"
  grep -q '\[segment 0\] .' "$ARM" || fail "the aarch64 transcript of $clip is empty"
  if cmp -s "$X86" "$ARM"; then
    echo "transcripts identical ($(basename "$MODEL"), $clip)"
  else
    diff "$X86" "$ARM" || true
    "$PY" "$ROOT/tests/aarch64/compare_transcripts.py" "$X86" "$ARM" || fail "transcripts of $clip differ"
  fi
done

stage "index scans: instructions retired, NEON against scalar"
BENCH="$BUILD/csrc/index_scan_bench"
count() {  # count SIMD(1/0) SCAN N D REPEATS -> instructions
  local env=() out
  [ "$1" = 1 ] || env=(--env ECHOIC_DISABLE_SIMD=1)
  out="$("$PY" "$ROOT/tests/aarch64/count_insns.py" "${env[@]}" "${QEMU[@]}" -- "$BENCH" "$2" "$3" "$4" "$5")" \
    || fail "counting $*"
  echo "$out" | grep -q "^kernels $([ "$1" = 1 ] && echo neon || echo scalar) " || fail "kernel choice: $out"
  echo "$out" | sed -n 's/^instructions //p'
}
for spec in "flat-l2 1000 256" "flat-dot 1000 256" "f16-l2 1000 256" "pq 1000 32" "pq-topk 20000 32"; do
  read -r scan n d <<<"$spec"
  s1=$(count 0 "$scan" "$n" "$d" 1); s0=$(count 0 "$scan" "$n" "$d" 0)
  v1=$(count 1 "$scan" "$n" "$d" 1); v0=$(count 1 "$scan" "$n" "$d" 0)
  ratio=$("$PY" -c "print(f'{($s1 - $s0) / max($v1 - $v0, 1):.2f}')")
  printf '%-9s n=%-5s d=%-4s scalar %10d  neon %10d  ratio %sx\n' "$scan" "$n" "$d" $((s1 - s0)) $((v1 - v0)) "$ratio"
done

echo "tests/aarch64.sh: all passed in ${SECONDS} s"
