# Runs the C and the Java transcribe examples on one clip (100 ms chunks) and fails
# unless both succeed and print the same, non-empty text. JAVA may be a list (an emulator
# and the target's java, "|"-separated); EMULATOR (optional, "|"-separated) starts the
# cross-compiled C example.
foreach(var JAVA CLASSPATH LIBRARY_PATH C_EXAMPLE MODEL WAV)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "compare_with_c.cmake: -D${var}= is required")
  endif()
endforeach()

string(REPLACE "|" ";" JAVA "${JAVA}")
string(REPLACE "|" ";" EMULATOR "${EMULATOR}")
execute_process(COMMAND ${EMULATOR} "${C_EXAMPLE}" "${MODEL}" "${WAV}" 100
                RESULT_VARIABLE c_rc OUTPUT_VARIABLE c_out ERROR_VARIABLE c_err)
execute_process(COMMAND ${JAVA} -Xcheck:jni "-Djava.library.path=${LIBRARY_PATH}" -cp "${CLASSPATH}"
                        Transcribe "${MODEL}" "${WAV}" 100
                RESULT_VARIABLE j_rc OUTPUT_VARIABLE j_out ERROR_VARIABLE j_err)
message("C output:\n${c_out}${c_err}")
message("Java output:\n${j_out}${j_err}")
if(NOT c_rc EQUAL 0 OR NOT j_rc EQUAL 0)
  message(FATAL_ERROR "exit codes: C ${c_rc}, Java ${j_rc}")
endif()
if(NOT c_out MATCHES "\\[segment 0\\] [^\n]+")
  message(FATAL_ERROR "the C example printed no segment")
endif()
if(NOT j_out STREQUAL c_out)
  message(FATAL_ERROR "the Java output differs from the C output")
endif()
if(j_err MATCHES "WARNING in native method|WARNING: JNI|FATAL ERROR")
  message(FATAL_ERROR "-Xcheck:jni reported a problem")
endif()
message("identical output")
