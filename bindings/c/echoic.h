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

#ifdef __cplusplus
}
#endif

#endif /* ECHOIC_H_ */
