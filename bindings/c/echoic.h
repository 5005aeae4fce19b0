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
/* Kaldi-compatible log-mel filterbank, computed incrementally: any chunking of the
 * input gives bit-identical frames. Samples are used at the scale given (Kaldi/WeNet
 * models expect the int16 range). NaN/Inf input is rejected before anything changes. */

typedef struct echoic_fbank echoic_fbank;

typedef struct echoic_fbank_options {
  int32_t sample_rate;      /* Hz, default 16000 */
  int32_t num_bins;         /* default 80 */
  float frame_length_ms;    /* default 25 */
  float frame_shift_ms;     /* default 10 */
  float preemph_coeff;      /* default 0.97 */
  int32_t remove_dc_offset; /* bool, default 1 */
  const char* window_type;  /* "povey" (default), "hamming", "hanning", "rectangular" */
  int32_t snip_edges;       /* bool, default 0 */
  float dither;             /* default 0 */
  uint32_t dither_seed;     /* default 0 */
  float low_freq;           /* Hz, default 20 */
  float high_freq;          /* Hz; <= 0 is an offset from Nyquist; default 0 */
  int32_t use_energy;       /* bool, default 0 */
  float energy_floor;       /* default 0 */
  int32_t raw_energy;       /* bool, default 1 */
  int32_t use_log_fbank;    /* bool, default 1 */
  int32_t use_power;        /* bool, default 1 */
  int32_t round_to_power_of_two; /* bool, default 1 */
} echoic_fbank_options;

/* Fills *options with the defaults above. */
ECHOIC_API echoic_status echoic_fbank_options_default(echoic_fbank_options* options);
/* Validates the options (ECHOIC_ERR_INVALID_ARGUMENT names the bad field). */
ECHOIC_API echoic_status echoic_fbank_create(const echoic_fbank_options* options, echoic_fbank** out);
ECHOIC_API echoic_status echoic_fbank_accept_waveform(echoic_fbank* fbank, const float* samples, size_t n);
/* No more audio: the last frames (reflected past the end) become ready. */
ECHOIC_API echoic_status echoic_fbank_input_finished(echoic_fbank* fbank);
ECHOIC_API echoic_status echoic_fbank_num_frames_ready(const echoic_fbank* fbank, int32_t* out);
ECHOIC_API echoic_status echoic_fbank_dim(const echoic_fbank* fbank, int32_t* out);
/* Frames [start, start+n) row-major into out; out_len (floats) must be >= n * dim. */
ECHOIC_API echoic_status echoic_fbank_get_frames(const echoic_fbank* fbank, int32_t start, int32_t n, float* out,
                                                 size_t out_len);
/* Frees frames before `frame`; frame indices stay absolute. */
ECHOIC_API echoic_status echoic_fbank_discard_frames_before(echoic_fbank* fbank, int32_t frame);
ECHOIC_API echoic_status echoic_fbank_reset(echoic_fbank* fbank);
ECHOIC_API void echoic_fbank_free(echoic_fbank* fbank);

/* Streaming sample-rate converter (windowed sinc), rates 8000..192000 Hz. Output is
 * buffered inside: process/flush append to it, read drains it. */
typedef struct echoic_resampler echoic_resampler;

ECHOIC_API echoic_status echoic_resampler_create(int32_t in_rate, int32_t out_rate, echoic_resampler** out);
ECHOIC_API echoic_status echoic_resampler_process(echoic_resampler* r, const float* samples, size_t n);
/* End of input: the remaining output becomes available. */
ECHOIC_API echoic_status echoic_resampler_flush(echoic_resampler* r);
/* Number of output samples waiting to be read. */
ECHOIC_API echoic_status echoic_resampler_available(const echoic_resampler* r, size_t* out);
/* Moves up to out_len waiting samples into out; *num_written gets the count. */
ECHOIC_API echoic_status echoic_resampler_read(echoic_resampler* r, float* out, size_t out_len, size_t* num_written);
ECHOIC_API echoic_status echoic_resampler_reset(echoic_resampler* r);
ECHOIC_API void echoic_resampler_free(echoic_resampler* r);

#ifdef __cplusplus
}
#endif

#endif /* ECHOIC_H_ */
