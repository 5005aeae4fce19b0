/*
 * echoic.h: the C API of echoic, an on-device streaming speech-recognition SDK.
 *
 * Conventions
 *  - Every object is an opaque handle made by echoic_<noun>_create and released by
 *    echoic_<noun>_free (free accepts NULL).
 *  - Every function that can fail returns an echoic_status; ECHOIC_OK is 0. On
 *    failure echoic_last_error() describes what went wrong, for this thread.
 *  - Outputs are written through pointer arguments only on success.
 *  - The library never aborts or exits the process.
 */
#ifndef ECHOIC_H_
#define ECHOIC_H_

#include <stddef.h>
#include <stdint.h>

#if defined(ECHOIC_BUILDING_LIBRARY)
#define ECHOIC_API __attribute__((visibility("default")))
#else
#define ECHOIC_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status and errors ------------------------------------------------- */

typedef enum echoic_status {
  ECHOIC_OK = 0,
  ECHOIC_ERR_INVALID_ARGUMENT = 1,
  ECHOIC_ERR_IO = 2,
  ECHOIC_ERR_CORRUPT_DATA = 3,
  ECHOIC_ERR_MODEL = 4,
  ECHOIC_ERR_ONNXRUNTIME = 5,
  ECHOIC_ERR_UNSUPPORTED = 6,
  ECHOIC_ERR_OUT_OF_MEMORY = 7,
  ECHOIC_ERR_STATE = 8,
  ECHOIC_ERR_NOT_FOUND = 9,
  ECHOIC_ERR_INTERNAL = 10
} echoic_status;

/* Message of the last failed call on this thread ("" if none). Valid until the next call. */
ECHOIC_API const char* echoic_last_error(void);
/* Stable short name of a status, e.g. "invalid_argument". */
ECHOIC_API const char* echoic_status_name(echoic_status status);
ECHOIC_API const char* echoic_version(void);

/* ---- ONNX Runtime ------------------------------------------------------ */
/*
 * echoic loads libonnxruntime at run time, once per process. Resolution order:
 * the path given to echoic_ort_load (or echoic_session_options.ort_library), the
 * environment variable ECHOIC_ORT_LIBRARY, the `onnxruntime` Python package
 * installed next to echoic, then the system's libonnxruntime.so.
 */

/* Loads ONNX Runtime now. path_or_null NULL or "" = the resolution order above.
 * ECHOIC_ERR_ONNXRUNTIME if it cannot be loaded (the message names the path and
 * the loader's error); ECHOIC_ERR_STATE if a different library is already loaded.
 * Loading the same library again is OK. */
ECHOIC_API echoic_status echoic_ort_load(const char* path_or_null);
/* Version string of the loaded ONNX Runtime (loads it if needed). *out stays
 * valid for the life of the process; do not free it. */
ECHOIC_API echoic_status echoic_ort_version(const char** out);
/* Path of the loaded ONNX Runtime library (loads it if needed). Same ownership. */
ECHOIC_API echoic_status echoic_ort_library_path(const char** out);

typedef enum echoic_graph_optimization {
  ECHOIC_GRAPH_OPT_DISABLED = 0,
  ECHOIC_GRAPH_OPT_BASIC = 1,
  ECHOIC_GRAPH_OPT_EXTENDED = 2,
  ECHOIC_GRAPH_OPT_ALL = 3
} echoic_graph_optimization;

typedef struct echoic_session_options {
  int32_t intra_op_threads;       /* threads inside one operator; 0 = ORT default. Default 1 */
  int32_t inter_op_threads;       /* threads across operators; 0 = ORT default. Default 1 */
  int32_t graph_optimization;     /* an echoic_graph_optimization. Default ECHOIC_GRAPH_OPT_ALL */
  int32_t cpu_mem_arena;          /* nonzero = ORT CPU arena on (faster, ~2x model size in RAM). Default 1 */
  const char* ort_library;        /* explicit libonnxruntime path, or NULL. Default NULL. Copied. */
} echoic_session_options;

/* Fills *opts with the defaults above. Always call it before changing fields. */
ECHOIC_API void echoic_session_options_init(echoic_session_options* opts);

/* An ONNX model loaded into ONNX Runtime. Loading is thread-safe; echoic_session_run_f32
 * on one session must not be called from two threads at once (its output buffers
 * are per session): use one session per thread, or a lock. */
typedef struct echoic_session echoic_session;

/* opts_or_null NULL = defaults. Errors: ECHOIC_ERR_IO (file missing), ECHOIC_ERR_CORRUPT_DATA
 * (not a valid ONNX model), ECHOIC_ERR_ONNXRUNTIME, ECHOIC_ERR_INVALID_ARGUMENT. */
ECHOIC_API echoic_status echoic_session_create(const char* model_path, const echoic_session_options* opts_or_null,
                                               echoic_session** out);
/* Releases the session and every output buffer it returned. NULL is a no-op. */
ECHOIC_API void echoic_session_free(echoic_session* session);

ECHOIC_API echoic_status echoic_session_num_inputs(const echoic_session* session, size_t* out);
ECHOIC_API echoic_status echoic_session_num_outputs(const echoic_session* session, size_t* out);
/* *out is owned by the session and valid until echoic_session_free. */
ECHOIC_API echoic_status echoic_session_input_name(const echoic_session* session, size_t index, const char** out);
ECHOIC_API echoic_status echoic_session_output_name(const echoic_session* session, size_t index, const char** out);

/*
 * Runs the model on float32 tensors.
 *  inputs:  num_inputs names, row-major data pointers, shapes (input_shapes[i] has
 *           input_ranks[i] dims). Every model input must be given; the data is copied.
 *  outputs: num_outputs (>= 1) names to compute. On success, for each i,
 *           out_data[i] points to the row-major values and out_shapes[i] to
 *           out_ranks[i] dims (caller-provided arrays of num_outputs entries).
 * Ownership: the output buffers belong to the session and stay valid until the
 * next echoic_session_run_f32 on the same session or echoic_session_free.
 * Errors: ECHOIC_ERR_INVALID_ARGUMENT (unknown name, shape or type mismatch; the
 * message names the model, tensor, expected and given shape), ECHOIC_ERR_UNSUPPORTED
 * (a requested output is not float32), ECHOIC_ERR_ONNXRUNTIME.
 */
ECHOIC_API echoic_status echoic_session_run_f32(echoic_session* session, const char* const* input_names,
                                                const float* const* input_data, const int64_t* const* input_shapes,
                                                const size_t* input_ranks, size_t num_inputs,
                                                const char* const* output_names, size_t num_outputs,
                                                const float** out_data, const int64_t** out_shapes,
                                                size_t* out_ranks);

/* ---- features ---------------------------------------------------------- */
/* (section filled by the features capability) */

#ifdef __cplusplus
}
#endif

#endif /* ECHOIC_H_ */
