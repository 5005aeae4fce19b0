// JNI glue for the Java classes in java/ai/echoic/. It uses only the public C API
// (echoic.h). Rules kept throughout: no C++ exception and no abort crosses into the
// JVM, every non-OK status becomes a pending ai.echoic.EchoicException, and loops
// delete their local references. Handle lifetimes (close once, use after close)
// are enforced on the Java side; here a 0 handle is still rejected defensively.
#include <jni.h>

#include <cstdint>
#include <new>
#include <string>
#include <vector>

#include "echoic.h"

namespace {

// Global class refs and method ids, resolved once in JNI_OnLoad.
jclass g_exception_class;    // ai/echoic/EchoicException
jmethodID g_exception_init;  // (ILjava/lang/String;Ljava/lang/String;)V
jclass g_result_class;       // ai/echoic/Result
jmethodID g_result_init;     // (Ljava/lang/String;ZI[Lai/echoic/Result$Word;)V
jclass g_word_class;         // ai/echoic/Result$Word
jmethodID g_word_init;       // (Ljava/lang/String;FFF)V
jclass g_event_class;        // ai/echoic/KeywordSpotter$Event
jmethodID g_event_init;      // (Ljava/lang/String;IDF)V
jclass g_string_class;       // java/lang/String

jclass GlobalClass(JNIEnv* env, const char* name) {
  jclass local = env->FindClass(name);
  if (!local) return nullptr;
  auto global = static_cast<jclass>(env->NewGlobalRef(local));
  env->DeleteLocalRef(local);
  return global;
}

void ThrowByName(JNIEnv* env, const char* class_name, const char* message) {
  if (env->ExceptionCheck()) return;  // keep the first exception
  jclass c = env->FindClass(class_name);
  if (c) {
    env->ThrowNew(c, message);
    env->DeleteLocalRef(c);
  }
}

// Decodes UTF-8 to UTF-16 (invalid bytes become U+FFFD). NewStringUTF expects
// "modified UTF-8" and rejects 4-byte sequences (Android CheckJNI aborts on them).
jstring NewJavaString(JNIEnv* env, const char* s) {
  if (!s) s = "";
  std::u16string out;
  const auto* p = reinterpret_cast<const unsigned char*>(s);
  while (*p) {
    uint32_t c = *p;
    int extra = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xE ? 2 : (c >> 3) == 0x1E ? 3 : -1;
    if (extra < 0) {
      out.push_back(0xFFFD);
      ++p;
      continue;
    }
    c = extra == 0 ? c : extra == 1 ? (c & 0x1F) : extra == 2 ? (c & 0x0F) : (c & 0x07);
    int i = 1;
    for (; i <= extra && (p[i] & 0xC0) == 0x80; ++i) c = (c << 6) | (p[i] & 0x3F);
    bool overlong = (extra == 1 && c < 0x80) || (extra == 2 && c < 0x800) || (extra == 3 && c < 0x10000);
    if (i <= extra || overlong || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
      out.push_back(0xFFFD);
      p += i;
      continue;
    }
    p += i;
    if (c >= 0x10000) {
      c -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (c >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (c & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(c));
    }
  }
  return env->NewString(reinterpret_cast<const jchar*>(out.data()), static_cast<jsize>(out.size()));
}

// A Java string as standard UTF-8 (GetStringUTFChars would give modified UTF-8).
// Returns false with a pending exception on failure.
bool ToUtf8(JNIEnv* env, jstring js, std::string* out) {
  out->clear();
  jsize n = env->GetStringLength(js);
  std::vector<jchar> u(static_cast<size_t>(n));
  if (n) env->GetStringRegion(js, 0, n, u.data());
  if (env->ExceptionCheck()) return false;
  for (jsize i = 0; i < n; ++i) {
    uint32_t c = u[i];
    if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n && u[i + 1] >= 0xDC00 && u[i + 1] <= 0xDFFF) {
      c = 0x10000 + ((c - 0xD800) << 10) + (u[i + 1] - 0xDC00);
      ++i;
    } else if (c >= 0xD800 && c <= 0xDFFF) {
      c = 0xFFFD;  // lone surrogate
    }
    if (c == 0) {
      ThrowByName(env, "java/lang/IllegalArgumentException", "string contains a NUL character");
      return false;
    }
    if (c < 0x80) {
      out->push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (c >> 6)));
      out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (c >> 12)));
      out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (c >> 18)));
      out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return true;
}

// A nullable Java string: *is_null tells NULL apart from "".
struct OptionalUtf8 {
  std::string value;
  bool is_null = true;
  const char* c_str() const { return is_null ? nullptr : value.c_str(); }
};

bool ToOptionalUtf8(JNIEnv* env, jstring js, OptionalUtf8* out) {
  out->is_null = js == nullptr;
  return js == nullptr || ToUtf8(env, js, &out->value);
}

// Throws EchoicException(status, echoic_status_name, echoic_last_error) unless OK.
// Returns true when the status was OK.
bool Check(JNIEnv* env, echoic_status status) {
  if (status == ECHOIC_OK) return true;
  if (env->ExceptionCheck()) return false;
  // Read the message first: it is per thread and valid until the next C call.
  std::string message = echoic_last_error();
  jstring name = NewJavaString(env, echoic_status_name(status));
  jstring msg = name ? NewJavaString(env, message.c_str()) : nullptr;
  if (name && msg) {
    auto e = static_cast<jthrowable>(
        env->NewObject(g_exception_class, g_exception_init, static_cast<jint>(status), name, msg));
    if (e) {
      env->Throw(e);
      env->DeleteLocalRef(e);
    }
  }
  if (name) env->DeleteLocalRef(name);
  if (msg) env->DeleteLocalRef(msg);
  return false;
}

template <typename T>
T* FromHandle(JNIEnv* env, jlong handle) {
  if (handle == 0) ThrowByName(env, "java/lang/IllegalStateException", "native handle is closed");
  return reinterpret_cast<T*>(static_cast<intptr_t>(handle));
}

jlong ToHandle(void* p) { return static_cast<jlong>(reinterpret_cast<intptr_t>(p)); }

// Copies samples[offset, offset + length) out of the Java array (no pinning).
bool ReadFloats(JNIEnv* env, jfloatArray array, jint offset, jint length, std::vector<float>* out) {
  if (!array) {
    ThrowByName(env, "java/lang/IllegalArgumentException", "samples is null");
    return false;
  }
  jsize size = env->GetArrayLength(array);
  if (offset < 0 || length < 0 || offset > size - length) {
    ThrowByName(env, "java/lang/ArrayIndexOutOfBoundsException", "offset/length outside the samples array");
    return false;
  }
  out->resize(static_cast<size_t>(length));
  if (length) env->GetFloatArrayRegion(array, offset, length, out->data());
  return !env->ExceptionCheck();
}

// Builds an ai.echoic.Result from a C result; frees nothing.
jobject ToJavaResult(JNIEnv* env, const echoic_result* r) {
  size_t n = 0;
  const char* text_utf8 = nullptr;
  int32_t is_final = 0, segment = 0;
  if (!Check(env, echoic_result_num_words(r, &n)) || !Check(env, echoic_result_text(r, &text_utf8)) ||
      !Check(env, echoic_result_is_final(r, &is_final)) || !Check(env, echoic_result_segment(r, &segment)))
    return nullptr;
  jobjectArray words = env->NewObjectArray(static_cast<jsize>(n), g_word_class, nullptr);
  if (!words) return nullptr;
  for (size_t i = 0; i < n; ++i) {
    const char* w = nullptr;
    float start = 0.f, end = 0.f, confidence = 0.f;
    if (!Check(env, echoic_result_word(r, i, &w, &start, &end, &confidence))) {
      env->DeleteLocalRef(words);
      return nullptr;
    }
    jstring jw = NewJavaString(env, w);
    jobject word = jw ? env->NewObject(g_word_class, g_word_init, jw, start, end, confidence) : nullptr;
    if (word) env->SetObjectArrayElement(words, static_cast<jsize>(i), word);
    if (jw) env->DeleteLocalRef(jw);
    if (word) env->DeleteLocalRef(word);
    if (env->ExceptionCheck()) {
      env->DeleteLocalRef(words);
      return nullptr;
    }
  }
  jstring text = NewJavaString(env, text_utf8);
  jobject result = nullptr;
  if (text) {
    result = env->NewObject(g_result_class, g_result_init, text, static_cast<jboolean>(is_final != 0),
                            static_cast<jint>(segment), words);
    env->DeleteLocalRef(text);
  }
  env->DeleteLocalRef(words);
  return result;
}

// Runs fn, turning a C++ exception from the glue itself (e.g. bad_alloc while
// copying samples) into a Java exception instead of terminating the process.
template <typename R, typename Fn>
R Guarded(JNIEnv* env, R fallback, Fn&& fn) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    ThrowByName(env, "java/lang/OutOfMemoryError", "echoic_jni: out of native memory");
  } catch (const std::exception& e) {
    ThrowByName(env, "java/lang/RuntimeException", e.what());
  } catch (...) {
    ThrowByName(env, "java/lang/RuntimeException", "echoic_jni: unknown native error");
  }
  return fallback;
}

}  // namespace

extern "C" {

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM* vm, void*) {
  JNIEnv* env = nullptr;
  if (vm->GetEnv(reinterpret_cast<void**>(&env), JNI_VERSION_1_6) != JNI_OK) return JNI_ERR;
  g_exception_class = GlobalClass(env, "ai/echoic/EchoicException");
  g_result_class = g_exception_class ? GlobalClass(env, "ai/echoic/Result") : nullptr;
  g_word_class = g_result_class ? GlobalClass(env, "ai/echoic/Result$Word") : nullptr;
  g_event_class = g_word_class ? GlobalClass(env, "ai/echoic/KeywordSpotter$Event") : nullptr;
  g_string_class = g_event_class ? GlobalClass(env, "java/lang/String") : nullptr;
  if (!g_string_class) return JNI_ERR;  // a NoClassDefFoundError is pending
  g_exception_init = env->GetMethodID(g_exception_class, "<init>", "(ILjava/lang/String;Ljava/lang/String;)V");
  g_result_init = env->GetMethodID(g_result_class, "<init>", "(Ljava/lang/String;ZI[Lai/echoic/Result$Word;)V");
  g_word_init = env->GetMethodID(g_word_class, "<init>", "(Ljava/lang/String;FFF)V");
  g_event_init = env->GetMethodID(g_event_class, "<init>", "(Ljava/lang/String;IDF)V");
  if (!g_exception_init || !g_result_init || !g_word_init || !g_event_init) return JNI_ERR;
  return JNI_VERSION_1_6;
}

// ---- ai.echoic.Echoic ------------------------------------------------------

JNIEXPORT jstring JNICALL Java_ai_echoic_Echoic_nativeVersion(JNIEnv* env, jclass) {
  return NewJavaString(env, echoic_version());
}

JNIEXPORT jstring JNICALL Java_ai_echoic_Echoic_nativeLoadOnnxRuntime(JNIEnv* env, jclass, jstring path) {
  return Guarded<jstring>(env, nullptr, [&]() -> jstring {
    OptionalUtf8 p;
    if (!ToOptionalUtf8(env, path, &p) || !Check(env, echoic_ort_load(p.c_str()))) return nullptr;
    const char* loaded = nullptr;
    if (!Check(env, echoic_ort_library_path(&loaded))) return nullptr;
    return NewJavaString(env, loaded);
  });
}

// ---- ai.echoic.Recognizer --------------------------------------------------

JNIEXPORT jlong JNICALL Java_ai_echoic_Recognizer_nativeCreate(
    JNIEnv* env, jclass, jstring model, jstring tokens, jstring decoding_method, jint beam_size, jfloat hotword_score,
    jstring lm, jfloat lm_scale, jfloat word_bonus, jboolean enable_endpoint, jfloat rule1, jfloat rule2, jfloat rule3,
    jint num_threads, jboolean cpu_mem_arena, jint max_batch, jstring vad, jstring vad_model) {
  return Guarded<jlong>(env, 0, [&]() -> jlong {
    if (!model) {
      ThrowByName(env, "java/lang/IllegalArgumentException", "model path is null");
      return 0;
    }
    OptionalUtf8 m, t, d, v, vm, l;
    if (!ToOptionalUtf8(env, model, &m) || !ToOptionalUtf8(env, tokens, &t) ||
        !ToOptionalUtf8(env, decoding_method, &d) || !ToOptionalUtf8(env, vad, &v) ||
        !ToOptionalUtf8(env, vad_model, &vm) || !ToOptionalUtf8(env, lm, &l))
      return 0;
    echoic_recognizer_config cfg;
    echoic_recognizer_config_default(&cfg);
    cfg.model = m.c_str();
    cfg.tokens = t.c_str();
    if (!d.is_null) cfg.decoding_method = d.c_str();
    cfg.beam_size = beam_size;
    cfg.hotword_score = hotword_score;
    cfg.lm = l.c_str();  // NULL (Java null) = no LM
    cfg.lm_scale = lm_scale;
    cfg.word_bonus = word_bonus;
    cfg.enable_endpoint = enable_endpoint ? 1 : 0;
    cfg.rule1_min_trailing_silence = rule1;
    cfg.rule2_min_trailing_silence = rule2;
    cfg.rule3_max_utterance_length = rule3;
    cfg.num_threads = num_threads;
    cfg.cpu_mem_arena = cpu_mem_arena ? 1 : 0;
    cfg.max_batch = max_batch;
    cfg.vad = v.c_str();
    cfg.vad_model = vm.c_str();
    echoic_recognizer* rec = nullptr;
    if (!Check(env, echoic_recognizer_create(&cfg, &rec))) return 0;
    return ToHandle(rec);
  });
}

// Config defaults straight from the C library; the arrays are sized by the Java caller.
JNIEXPORT void JNICALL Java_ai_echoic_Recognizer_nativeDefaults(JNIEnv* env, jclass, jintArray ints,
                                                                jfloatArray floats) {
  echoic_recognizer_config c;
  echoic_recognizer_config_default(&c);
  const jint i[5] = {c.beam_size, c.enable_endpoint, c.num_threads, c.cpu_mem_arena, c.max_batch};
  const jfloat f[6] = {c.hotword_score,
                       c.rule1_min_trailing_silence,
                       c.rule2_min_trailing_silence,
                       c.rule3_max_utterance_length,
                       c.lm_scale,
                       c.word_bonus};
  env->SetIntArrayRegion(ints, 0, 5, i);  // a short array raises ArrayIndexOutOfBoundsException
  if (!env->ExceptionCheck()) env->SetFloatArrayRegion(floats, 0, 6, f);
}

JNIEXPORT void JNICALL Java_ai_echoic_Recognizer_nativeFree(JNIEnv*, jclass, jlong handle) {
  echoic_recognizer_free(reinterpret_cast<echoic_recognizer*>(static_cast<intptr_t>(handle)));
}

// ---- ai.echoic.Stream ------------------------------------------------------

JNIEXPORT jlong JNICALL Java_ai_echoic_Stream_nativeCreate(JNIEnv* env, jclass, jlong recognizer, jstring hotwords) {
  return Guarded<jlong>(env, 0, [&]() -> jlong {
    auto* rec = FromHandle<echoic_recognizer>(env, recognizer);
    OptionalUtf8 h;
    if (!rec || !ToOptionalUtf8(env, hotwords, &h)) return 0;
    echoic_stream* s = nullptr;
    if (!Check(env, echoic_stream_create(rec, h.c_str(), &s))) return 0;
    return ToHandle(s);
  });
}

JNIEXPORT void JNICALL Java_ai_echoic_Stream_nativeFree(JNIEnv*, jclass, jlong handle) {
  echoic_stream_free(reinterpret_cast<echoic_stream*>(static_cast<intptr_t>(handle)));
}

JNIEXPORT void JNICALL Java_ai_echoic_Stream_nativeAcceptWaveform(JNIEnv* env, jclass, jlong stream,
                                                                  jfloatArray samples, jint offset, jint length,
                                                                  jint sample_rate) {
  Guarded<int>(env, 0, [&] {
    auto* s = FromHandle<echoic_stream>(env, stream);
    std::vector<float> buf;
    if (s && ReadFloats(env, samples, offset, length, &buf))
      Check(env, echoic_stream_accept_waveform(s, sample_rate, buf.data(), buf.size()));
    return 0;
  });
}

JNIEXPORT void JNICALL Java_ai_echoic_Stream_nativeInputFinished(JNIEnv* env, jclass, jlong stream) {
  if (auto* s = FromHandle<echoic_stream>(env, stream)) Check(env, echoic_stream_input_finished(s));
}

JNIEXPORT jboolean JNICALL Java_ai_echoic_Stream_nativeIsReady(JNIEnv* env, jclass, jlong recognizer, jlong stream) {
  auto* rec = FromHandle<echoic_recognizer>(env, recognizer);
  auto* s = rec ? FromHandle<echoic_stream>(env, stream) : nullptr;
  int32_t ready = 0;
  return s && Check(env, echoic_recognizer_is_ready(rec, s, &ready)) && ready ? JNI_TRUE : JNI_FALSE;
}

JNIEXPORT jboolean JNICALL Java_ai_echoic_Stream_nativeIsDone(JNIEnv* env, jclass, jlong recognizer, jlong stream) {
  auto* rec = FromHandle<echoic_recognizer>(env, recognizer);
  auto* s = rec ? FromHandle<echoic_stream>(env, stream) : nullptr;
  int32_t done = 0;
  return s && Check(env, echoic_recognizer_is_done(rec, s, &done)) && done ? JNI_TRUE : JNI_FALSE;
}

JNIEXPORT void JNICALL Java_ai_echoic_Stream_nativeDecode(JNIEnv* env, jclass, jlong recognizer, jlong stream) {
  auto* rec = FromHandle<echoic_recognizer>(env, recognizer);
  auto* s = rec ? FromHandle<echoic_stream>(env, stream) : nullptr;
  if (s) Check(env, echoic_recognizer_decode(rec, &s, 1));
}

JNIEXPORT jobject JNICALL Java_ai_echoic_Stream_nativePartial(JNIEnv* env, jclass, jlong recognizer, jlong stream) {
  auto* rec = FromHandle<echoic_recognizer>(env, recognizer);
  auto* s = rec ? FromHandle<echoic_stream>(env, stream) : nullptr;
  echoic_result* r = nullptr;
  if (!s || !Check(env, echoic_recognizer_get_partial(rec, s, &r))) return nullptr;
  jobject out = Guarded<jobject>(env, nullptr, [&] { return ToJavaResult(env, r); });
  echoic_result_free(r);
  return out;
}

JNIEXPORT jobject JNICALL Java_ai_echoic_Stream_nativePopFinal(JNIEnv* env, jclass, jlong stream) {
  auto* s = FromHandle<echoic_stream>(env, stream);
  echoic_result* r = nullptr;
  if (!s || !Check(env, echoic_stream_pop_final(s, &r)) || !r) return nullptr;
  jobject out = Guarded<jobject>(env, nullptr, [&] { return ToJavaResult(env, r); });
  echoic_result_free(r);
  return out;
}

// ---- ai.echoic.KeywordSpotter ------------------------------------------------

JNIEXPORT jlong JNICALL Java_ai_echoic_KeywordSpotter_nativeCreate(JNIEnv* env, jclass, jstring model,
                                                                   jfloatArray thresholds, jfloat refractory_s,
                                                                   jint smoothing_hops, jint max_batch,
                                                                   jint num_threads) {
  return Guarded<jlong>(env, 0, [&]() -> jlong {
    if (!model) {
      ThrowByName(env, "java/lang/IllegalArgumentException", "model path is null");
      return 0;
    }
    std::string m;
    if (!ToUtf8(env, model, &m)) return 0;
    std::vector<float> th;
    if (thresholds && !ReadFloats(env, thresholds, 0, env->GetArrayLength(thresholds), &th)) return 0;
    echoic_kws_config cfg;
    echoic_kws_config_default(&cfg);
    cfg.model = m.c_str();
    cfg.thresholds = th.empty() ? nullptr : th.data();
    cfg.num_thresholds = th.size();
    cfg.refractory_s = refractory_s;
    cfg.smoothing_hops = smoothing_hops;
    cfg.max_batch = max_batch;
    cfg.num_threads = num_threads;
    echoic_kws* k = nullptr;
    if (!Check(env, echoic_kws_create(&cfg, &k))) return 0;
    return ToHandle(k);
  });
}

JNIEXPORT void JNICALL Java_ai_echoic_KeywordSpotter_nativeDefaults(JNIEnv* env, jclass, jintArray ints,
                                                                    jfloatArray floats) {
  echoic_kws_config c;
  echoic_kws_config_default(&c);
  const jint i[3] = {c.smoothing_hops, c.max_batch, c.num_threads};
  const jfloat f[1] = {c.refractory_s};
  env->SetIntArrayRegion(ints, 0, 3, i);
  if (!env->ExceptionCheck()) env->SetFloatArrayRegion(floats, 0, 1, f);
}

JNIEXPORT void JNICALL Java_ai_echoic_KeywordSpotter_nativeFree(JNIEnv*, jclass, jlong handle) {
  echoic_kws_free(reinterpret_cast<echoic_kws*>(static_cast<intptr_t>(handle)));
}

JNIEXPORT jobjectArray JNICALL Java_ai_echoic_KeywordSpotter_nativeKeywords(JNIEnv* env, jclass, jlong handle) {
  auto* k = FromHandle<echoic_kws>(env, handle);
  int32_t n = 0;
  if (!k || !Check(env, echoic_kws_num_keywords(k, &n))) return nullptr;
  jobjectArray out = env->NewObjectArray(n, g_string_class, nullptr);
  for (int32_t i = 0; out && i < n; ++i) {
    const char* keyword = nullptr;
    if (!Check(env, echoic_kws_keyword(k, i, &keyword))) return nullptr;
    jstring s = NewJavaString(env, keyword);
    if (!s) return nullptr;
    env->SetObjectArrayElement(out, i, s);
    env->DeleteLocalRef(s);
  }
  return out;
}

JNIEXPORT jint JNICALL Java_ai_echoic_KeywordSpotter_nativeSampleRate(JNIEnv* env, jclass, jlong handle) {
  auto* k = FromHandle<echoic_kws>(env, handle);
  int32_t rate = 0;
  if (k) Check(env, echoic_kws_sample_rate(k, &rate));
  return rate;
}

JNIEXPORT void JNICALL Java_ai_echoic_KeywordSpotter_nativeAcceptWaveform(JNIEnv* env, jclass, jlong handle,
                                                                          jfloatArray samples, jint offset,
                                                                          jint length) {
  Guarded<int>(env, 0, [&] {
    auto* k = FromHandle<echoic_kws>(env, handle);
    std::vector<float> buf;
    if (k && ReadFloats(env, samples, offset, length, &buf))
      Check(env, echoic_kws_accept_waveform(k, buf.data(), buf.size()));
    return 0;
  });
}

JNIEXPORT void JNICALL Java_ai_echoic_KeywordSpotter_nativeInputFinished(JNIEnv* env, jclass, jlong handle) {
  if (auto* k = FromHandle<echoic_kws>(env, handle)) Check(env, echoic_kws_input_finished(k));
}

JNIEXPORT void JNICALL Java_ai_echoic_KeywordSpotter_nativeReset(JNIEnv* env, jclass, jlong handle) {
  if (auto* k = FromHandle<echoic_kws>(env, handle)) Check(env, echoic_kws_reset(k));
}

JNIEXPORT jobject JNICALL Java_ai_echoic_KeywordSpotter_nativePopEvent(JNIEnv* env, jclass, jlong handle) {
  auto* k = FromHandle<echoic_kws>(env, handle);
  int32_t has = 0, index = 0;
  double time = 0;
  float score = 0;
  if (!k || !Check(env, echoic_kws_pop_event(k, &has, &index, &time, &score)) || !has) return nullptr;
  const char* keyword_utf8 = nullptr;
  if (!Check(env, echoic_kws_keyword(k, index, &keyword_utf8))) return nullptr;
  jstring keyword = NewJavaString(env, keyword_utf8);
  if (!keyword) return nullptr;
  jobject event = env->NewObject(g_event_class, g_event_init, keyword, index, time, score);
  env->DeleteLocalRef(keyword);
  return event;
}

}  // extern "C"
