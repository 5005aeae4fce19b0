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
/* (section filled by the ort capability) */

/* ---- features ---------------------------------------------------------- */
/* (section filled by the features capability) */

/* ---- embedding index ---------------------------------------------------- */
/* A persistent, compressed store of embeddings (float32, `dim` wide) with int64 ids,
 * a label and a namespace each. Every add/remove is durable (fsync'd to
 * <path>.wal) when it returns; echoic_index_save folds the log into the main file.
 * Encodings "sq8" and "pq" (and ivf_lists > 0) need echoic_index_train before adds.
 * Scores: similarity for "cosine"/"ip" (higher is better), squared distance for "l2". */

typedef struct echoic_index echoic_index;

typedef struct echoic_index_options {
  size_t dim;             /* 1..1024 */
  const char* metric;     /* "cosine" (default when NULL), "ip", "l2" */
  const char* encoding;   /* "pq" (default when NULL), "sq8", "flat" */
  int32_t m;              /* pq sub-quantizers = bytes per vector (0 = 32) */
  int32_t refine_m;       /* residual pq tier bytes (0 = none) */
  int32_t opq;            /* nonzero: learn an OPQ rotation */
  int32_t ivf_lists;      /* coarse lists (0 = scan everything) */
  int32_t keep_fp16;      /* nonzero: keep float16 copies (exact re-ranking, retraining) */
  const char* encoder_id; /* embedding model identity, NULL or "" = unchecked */
} echoic_index_options;

/* Fills *options with the defaults for `dim` (cosine, pq, m=32, keep_fp16=1). */
ECHOIC_API void echoic_index_options_init(echoic_index_options* options, size_t dim);
/* Creates a new index at `path` (must not exist). */
ECHOIC_API echoic_status echoic_index_create(const char* path, const echoic_index_options* options,
                                             echoic_index** out);
/* Opens an index; recover != 0 keeps every intact record of a damaged file. */
ECHOIC_API echoic_status echoic_index_open(const char* path, int32_t recover, echoic_index** out);
/* Trains the codebooks on n row-major vectors (n × dim floats). */
ECHOIC_API echoic_status echoic_index_train(echoic_index* index, const float* vectors, size_t n);
/* Adds n vectors. ids: NULL to assign; labels: NULL or n strings; ns: NULL = "default";
 * out_ids: NULL or room for n ids. */
ECHOIC_API echoic_status echoic_index_add(echoic_index* index, const float* vectors, size_t n, const int64_t* ids,
                                          const char* const* labels, const char* ns, int64_t* out_ids);
/* Removes n ids; all must exist (ECHOIC_ERR_NOT_FOUND otherwise, nothing removed). */
ECHOIC_API echoic_status echoic_index_remove(echoic_index* index, const int64_t* ids, size_t n);
/* Searches nq queries; out_scores and out_ids hold nq × k (missing: id -1, score NaN).
 * nprobe: IVF lists visited; rerank: candidates re-ranked exactly from float16 copies. */
ECHOIC_API echoic_status echoic_index_search(const echoic_index* index, const float* queries, size_t nq, size_t k,
                                             const char* ns, size_t nprobe, size_t rerank, float* out_scores,
                                             int64_t* out_ids);
/* Copies the label of `id` (NUL-terminated, truncated to capacity) into buf. */
ECHOIC_API echoic_status echoic_index_label(const echoic_index* index, int64_t id, char* buf, size_t capacity);
ECHOIC_API echoic_status echoic_index_size(const echoic_index* index, size_t* out);
ECHOIC_API echoic_status echoic_index_bytes_per_vector(const echoic_index* index, size_t* out);
ECHOIC_API echoic_status echoic_index_save(echoic_index* index);
ECHOIC_API void echoic_index_free(echoic_index* index);

#ifdef __cplusplus
}
#endif

#endif /* ECHOIC_H_ */
