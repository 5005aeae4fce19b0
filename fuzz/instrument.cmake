# Included by the top-level CMakeLists.txt before csrc/ when ECHOIC_BUILD_FUZZERS is on: the
# whole build (core included) gets libFuzzer coverage and ASan + UBSan. Needs clang.
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "ECHOIC_BUILD_FUZZERS needs clang (configure with -DCMAKE_CXX_COMPILER=clang++ "
                      "-DCMAKE_C_COMPILER=clang); this is ${CMAKE_CXX_COMPILER_ID}")
endif()
set(ECHOIC_FUZZ_SANITIZERS -fsanitize=address,undefined -fno-sanitize-recover=undefined)
add_compile_options(-fsanitize=fuzzer-no-link ${ECHOIC_FUZZ_SANITIZERS} -fno-omit-frame-pointer -g)
add_link_options(${ECHOIC_FUZZ_SANITIZERS})
