# Cross-compiling echoic for 64-bit ARM Linux (glibc) with Debian's cross toolchain:
#   apt-get install g++-aarch64-linux-gnu qemu-user
#   cmake -S . -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#         -DECHOIC_BUILD_PYTHON=OFF -DECHOIC_TEST_ORT_LIBRARY=/path/to/aarch64/libonnxruntime.so.1.x
# tests/aarch64.sh does all of it and runs ctest under qemu-user.
#
# The core dlopens ONNX Runtime at run time, so nothing here links against it; the tests and
# examples are pointed at an aarch64 libonnxruntime.so through ECHOIC_TEST_ORT_LIBRARY.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(ECHOIC_CROSS_PREFIX "aarch64-linux-gnu-" CACHE STRING "prefix of the cross compilers")
set(CMAKE_C_COMPILER "${ECHOIC_CROSS_PREFIX}gcc")
set(CMAKE_CXX_COMPILER "${ECHOIC_CROSS_PREFIX}g++")

# Debian's cross packages (libc6-dev-arm64-cross, libstdc++-12-dev-arm64-cross) install the
# target's headers and libraries here.
set(ECHOIC_AARCH64_SYSROOT "/usr/aarch64-linux-gnu" CACHE PATH "target root for qemu-user (-L) and find_*")
set(CMAKE_FIND_ROOT_PATH "${ECHOIC_AARCH64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)  # host tools (javac, python3) run on the build machine
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)  # jni.h is the same header on every Linux
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# ctest (and try_run) start target executables through qemu-user. Override the command,
# e.g. with an empty value on a native aarch64 machine or where binfmt_misc runs them.
find_program(ECHOIC_QEMU_AARCH64 qemu-aarch64)
if(ECHOIC_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${ECHOIC_QEMU_AARCH64};-L;${ECHOIC_AARCH64_SYSROOT}" CACHE STRING "")
endif()
