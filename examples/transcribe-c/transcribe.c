/*
 * transcribe: the C API with no Python at all.
 *
 *   transcribe MODEL_DIR_OR_ONNX FILE.wav [chunk_ms]
 *
 * Reads a 16-bit PCM WAV (any rate 8-192 kHz, mono or stereo), feeds it to a
 * stream in chunks as a live source would, and prints each final result with
 * word timestamps. Exits non-zero with echoic_last_error() on any failure.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echoic.h"

typedef struct {
  float* samples; /* mono, [-1, 1] */
  size_t count;
  int32_t rate;
} wav_audio;

static uint32_t le32(const unsigned char* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24); }
static uint16_t le16(const unsigned char* p) { return (uint16_t)(p[0] | (p[1] << 8)); }

/* Minimal RIFF reader: PCM16 only; returns 0 on success. */
static int read_wav(const char* path, wav_audio* out) {
  FILE* f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "transcribe: cannot open %s\n", path);
    return 1;
  }
  unsigned char h[12], ch[8];
  int channels = 0, bits = 0;
  if (fread(h, 1, 12, f) != 12 || memcmp(h, "RIFF", 4) || memcmp(h + 8, "WAVE", 4)) goto bad;
  while (fread(ch, 1, 8, f) == 8) {
    uint32_t size = le32(ch + 4);
    if (!memcmp(ch, "fmt ", 4)) {
      unsigned char fmt[16];
      if (size < 16 || fread(fmt, 1, 16, f) != 16) goto bad;
      if (le16(fmt) != 1) {
        fprintf(stderr, "transcribe: %s is not PCM\n", path);
        fclose(f);
        return 1;
      }
      channels = le16(fmt + 2);
      out->rate = (int32_t)le32(fmt + 4);
      bits = le16(fmt + 14);
      if (fseek(f, (long)(size - 16 + (size & 1)), SEEK_CUR)) goto bad;
    } else if (!memcmp(ch, "data", 4)) {
      if (bits != 16 || channels < 1 || channels > 2) goto bad;
      size_t frames = size / (2u * (unsigned)channels);
      int16_t* pcm = (int16_t*)malloc(frames * channels * sizeof(int16_t));
      out->samples = (float*)malloc(frames * sizeof(float));
      if (!pcm || !out->samples) {
        free(pcm);
        fclose(f);
        return 1;
      }
      frames = fread(pcm, 2u * (unsigned)channels, frames, f);
      for (size_t i = 0; i < frames; ++i) {
        float s = 0.f;
        for (int c = 0; c < channels; ++c) s += pcm[i * channels + c] / 32768.f;
        out->samples[i] = s / (float)channels;
      }
      out->count = frames;
      free(pcm);
      fclose(f);
      return 0;
    } else if (fseek(f, (long)(size + (size & 1)), SEEK_CUR)) {
      goto bad;
    }
  }
bad:
  fprintf(stderr, "transcribe: %s is not a 16-bit PCM WAV file\n", path);
  fclose(f);
  return 1;
}

static int fail(const char* what) {
  fprintf(stderr, "transcribe: %s: %s\n", what, echoic_last_error());
  return 2;
}

static void print_finals(echoic_stream* stream) {
  echoic_result* r = NULL;
  while (echoic_stream_pop_final(stream, &r) == ECHOIC_OK && r) {
    int32_t segment = 0;
    const char* text = "";
    size_t num_words = 0;
    if (echoic_result_segment(r, &segment) != ECHOIC_OK || echoic_result_text(r, &text) != ECHOIC_OK ||
        echoic_result_num_words(r, &num_words) != ECHOIC_OK) {
      fprintf(stderr, "transcribe: result: %s\n", echoic_last_error());
      echoic_result_free(r);
      return;
    }
    printf("[segment %d] %s\n", segment, text);
    for (size_t i = 0; i < num_words; ++i) {
      const char* w;
      float start, end, conf;
      if (echoic_result_word(r, i, &w, &start, &end, &conf) == ECHOIC_OK) printf("  %7.2f %7.2f  %s\n", start, end, w);
    }
    echoic_result_free(r);
  }
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL_DIR_OR_ONNX FILE.wav [chunk_ms]\n", argv[0]);
    return 64;
  }
  wav_audio audio = {0};
  if (read_wav(argv[2], &audio)) return 1;
  int chunk_ms = argc > 3 ? atoi(argv[3]) : 100;
  if (chunk_ms <= 0) chunk_ms = 100;

  echoic_recognizer_config cfg;
  echoic_recognizer_config_default(&cfg);
  cfg.model = argv[1];
  echoic_recognizer* rec = NULL;
  if (echoic_recognizer_create(&cfg, &rec) != ECHOIC_OK) {
    free(audio.samples);
    return fail("loading the model");
  }
  echoic_stream* stream = NULL;
  if (echoic_stream_create(rec, NULL, &stream) != ECHOIC_OK) return fail("creating a stream");

  size_t step = (size_t)audio.rate * (size_t)chunk_ms / 1000;
  if (step == 0) step = 1;
  int32_t flag = 0;
  for (size_t i = 0; i < audio.count; i += step) {
    size_t n = audio.count - i < step ? audio.count - i : step;
    if (echoic_stream_accept_waveform(stream, audio.rate, audio.samples + i, n) != ECHOIC_OK)
      return fail("accepting audio");
    while (echoic_recognizer_is_ready(rec, stream, &flag) == ECHOIC_OK && flag)
      if (echoic_recognizer_decode(rec, &stream, 1) != ECHOIC_OK) return fail("decoding");
    print_finals(stream);
  }
  if (echoic_stream_input_finished(stream) != ECHOIC_OK) return fail("finishing input");
  while (echoic_recognizer_is_done(rec, stream, &flag) == ECHOIC_OK && !flag)
    if (echoic_recognizer_decode(rec, &stream, 1) != ECHOIC_OK) return fail("decoding");
  print_finals(stream);

  echoic_stream_free(stream);
  echoic_recognizer_free(rec);
  free(audio.samples);
  return 0;
}
