package ai.echoic;

import java.util.ArrayList;
import java.util.List;

/**
 * A streaming speech recognizer (echoic_recognizer). Thread-safe to share; make one
 * {@link Stream} per audio source. Closing it first closes the streams it made (the C
 * API requires a stream to be freed before its recognizer).
 */
public final class Recognizer implements AutoCloseable {
  static {
    Echoic.loadNativeLibrary();
  }

  /** Search used to turn encoder outputs into text. */
  public enum Decoding {
    /** Beam search when the model has a word LM (lm.arpa), else greedy. */
    AUTO("auto"),
    GREEDY("greedy"),
    BEAM("beam");

    final String cName;

    Decoding(String cName) {
      this.cName = cName;
    }
  }

  /**
   * Mirrors echoic_recognizer_config; a new Config holds the C defaults
   * (echoic_recognizer_config_default: auto decoding, beam 0 = automatic, hotword score 1.5,
   * the model's lm.arpa, LM scale 0.8 and word bonus 3.0, endpointing on with rules
   * 2.4 s / 1.2 s / 20 s, 1 thread, arena on, batch 32, no VAD).
   */
  public static final class Config {
    /** CTC .onnx (or its folder), or a transducer folder. Required. */
    public String model;
    /** tokens.txt; null = beside the model. */
    public String tokens;
    public Decoding decoding = Decoding.AUTO;
    /** 0: 16 with a word LM, else 4. */
    public int beamSize;
    /** Default boost per hotword token. */
    public float hotwordScore;
    /** Word LM for CTC beam search (ARPA): "auto" = lm.arpa beside the model, null = none. */
    public String lm = "auto";
    /** Weight of ln P(word | history). */
    public float lmScale;
    /** Added per word with a word LM. */
    public float wordBonus;
    public boolean enableEndpoint;
    /** Endpoint even if nothing was decoded after this much trailing silence (s). */
    public float rule1MinTrailingSilence;
    /** Endpoint after speech followed by this much silence (s). */
    public float rule2MinTrailingSilence;
    /** Endpoint when an utterance gets this long (s). */
    public float rule3MaxUtteranceLength;
    /** ONNX Runtime intra-op threads. */
    public int numThreads;
    public boolean cpuMemArena;
    /** Streams per encoder run. */
    public int maxBatch;
    /** null/"" (endpoint on decoder blanks), "energy" or "silero". */
    public String vad;
    /** silero_vad.onnx when vad is "silero". */
    public String vadModel;

    public Config() {
      // Defaults from the C library itself, so they cannot drift.
      int[] i = new int[5];
      float[] f = new float[6];
      nativeDefaults(i, f);
      beamSize = i[0];
      enableEndpoint = i[1] != 0;
      numThreads = i[2];
      cpuMemArena = i[3] != 0;
      maxBatch = i[4];
      hotwordScore = f[0];
      rule1MinTrailingSilence = f[1];
      rule2MinTrailingSilence = f[2];
      rule3MaxUtteranceLength = f[3];
      lmScale = f[4];
      wordBonus = f[5];
    }

    public Config(String model) {
      this();
      this.model = model;
    }
  }

  private final List<Stream> streams = new ArrayList<>();
  private long handle;

  /** Loads the model; EchoicException (e.g. status IO, CORRUPT_DATA, MODEL) on failure. */
  public Recognizer(Config config) {
    if (config == null) throw new IllegalArgumentException("config is null");
    if (config.model == null) throw new IllegalArgumentException("config.model is null");
    Decoding d = config.decoding == null ? Decoding.AUTO : config.decoding;
    handle = nativeCreate(config.model, config.tokens, d.cName, config.beamSize, config.hotwordScore,
        config.lm, config.lmScale, config.wordBonus, config.enableEndpoint, config.rule1MinTrailingSilence, config.rule2MinTrailingSilence,
        config.rule3MaxUtteranceLength, config.numThreads, config.cpuMemArena, config.maxBatch, config.vad,
        config.vadModel);
  }

  /** A recognizer with the default config for a model folder or .onnx file. */
  public Recognizer(String model) {
    this(new Config(model));
  }

  /** A new stream with no hotwords. */
  public Stream createStream() {
    return createStream(null);
  }

  /**
   * A new stream biased towards hotwords: null, or text in echoic's hotword grammar (the C API's):
   * one phrase per line, optionally followed by a TAB or " :" and its boost; '#' starts a comment
   * line; phrases are normalised like transcripts. A bad line throws EchoicException.
   */
  public synchronized Stream createStream(String hotwords) {
    Stream s = new Stream(this, nativeStreamCreate(liveHandle(), hotwords));
    streams.add(s);
    return s;
  }

  synchronized long liveHandle() {
    if (handle == 0) throw new IllegalStateException("Recognizer is closed");
    return handle;
  }

  synchronized void forget(Stream s) {
    streams.remove(s);
  }

  /** Frees the native recognizer, closing its open streams first. Idempotent. */
  @Override
  public void close() {
    List<Stream> open;
    long h;
    synchronized (this) {
      if (handle == 0) return;
      h = handle;
      handle = 0; // no new streams or calls from here on
      open = new ArrayList<>(streams);
      streams.clear();
    }
    // Outside our lock: Stream.close takes the stream's lock, which stream calls hold
    // while asking for our handle.
    for (Stream s : open) s.closeWithoutForgetting();
    nativeFree(h);
  }

  private static long nativeStreamCreate(long recognizer, String hotwords) {
    return Stream.nativeCreate(recognizer, hotwords);
  }

  private static native long nativeCreate(String model, String tokens, String decodingMethod, int beamSize,
      float hotwordScore, String lm, float lmScale, float wordBonus, boolean enableEndpoint, float rule1, float rule2, float rule3, int numThreads,
      boolean cpuMemArena, int maxBatch, String vad, String vadModel);

  private static native void nativeFree(long handle);

  // ints: beam size, endpoint, threads, arena, max batch; floats: hotword score, rules 1-3.
  private static native void nativeDefaults(int[] ints, float[] floats);
}
