package ai.echoic;

/**
 * Always-on keyword spotter over an echoic-kws model (echoic_kws). Keywords, window and
 * front-end come from the model; any chunking of the audio gives the same events.
 * Methods are synchronized; use after close throws IllegalStateException.
 */
public final class KeywordSpotter implements AutoCloseable {
  static {
    Echoic.loadNativeLibrary();
  }

  /** Mirrors echoic_kws_config; a new Config holds the C defaults (echoic_kws_config_default). */
  public static final class Config {
    /** echoic-kws .onnx. Required. */
    public String model;
    /** null: model default; one value: all keywords; else one per keyword. */
    public float[] thresholds;
    /** Seconds after an event during which the keyword is not reported again; < 0: model default. */
    public float refractorySeconds;
    /** <= 0: model default. */
    public int smoothingHops;
    /** Windows per ONNX Runtime run. */
    public int maxBatch;
    /** ONNX Runtime intra-op threads. */
    public int numThreads;

    public Config() {
      int[] i = new int[3];
      float[] f = new float[1];
      nativeDefaults(i, f);
      smoothingHops = i[0];
      maxBatch = i[1];
      numThreads = i[2];
      refractorySeconds = f[0];
    }

    public Config(String model) {
      this();
      this.model = model;
    }
  }

  /** A detection: the keyword, its index in {@link #keywords()}, end time (s) and score. */
  public static final class Event {
    public final String keyword;
    public final int index;
    public final double time;
    public final float score;

    Event(String keyword, int index, double time, float score) {
      this.keyword = keyword;
      this.index = index;
      this.time = time;
      this.score = score;
    }

    @Override
    public String toString() {
      return keyword + "@" + time + " (" + score + ")";
    }
  }

  private long handle;

  public KeywordSpotter(Config config) {
    if (config == null) throw new IllegalArgumentException("config is null");
    if (config.model == null) throw new IllegalArgumentException("config.model is null");
    handle = nativeCreate(config.model, config.thresholds, config.refractorySeconds, config.smoothingHops,
        config.maxBatch, config.numThreads);
  }

  public KeywordSpotter(String model) {
    this(new Config(model));
  }

  private long live() {
    if (handle == 0) throw new IllegalStateException("KeywordSpotter is closed");
    return handle;
  }

  /** The model's keywords; Event.index points into this array. */
  public synchronized String[] keywords() {
    return nativeKeywords(live());
  }

  /** The sample rate acceptWaveform expects (Hz). */
  public synchronized int sampleRate() {
    return nativeSampleRate(live());
  }

  /** Mono samples in [-1, 1] at {@link #sampleRate()}, any chunk size. */
  public synchronized void acceptWaveform(float[] samples) {
    if (samples == null) throw new IllegalArgumentException("samples is null");
    acceptWaveform(samples, 0, samples.length);
  }

  public synchronized void acceptWaveform(float[] samples, int offset, int length) {
    if (samples == null) throw new IllegalArgumentException("samples is null");
    if (offset < 0 || length < 0 || offset > samples.length - length) {
      throw new ArrayIndexOutOfBoundsException("offset " + offset + ", length " + length + ", array " + samples.length);
    }
    nativeAcceptWaveform(live(), samples, offset, length);
  }

  /** End of the stream: the last windows are spotted. */
  public synchronized void inputFinished() {
    nativeInputFinished(live());
  }

  /** The oldest pending event, or null. */
  public synchronized Event popEvent() {
    return nativePopEvent(live());
  }

  /** Forgets all audio and pending events, for a new stream. */
  public synchronized void reset() {
    nativeReset(live());
  }

  /** Frees the native spotter. Idempotent. */
  @Override
  public synchronized void close() {
    if (handle == 0) return;
    nativeFree(handle);
    handle = 0;
  }

  private static native long nativeCreate(String model, float[] thresholds, float refractorySeconds,
      int smoothingHops, int maxBatch, int numThreads);

  private static native void nativeFree(long handle);

  private static native String[] nativeKeywords(long handle);

  private static native int nativeSampleRate(long handle);

  private static native void nativeAcceptWaveform(long handle, float[] samples, int offset, int length);

  private static native void nativeInputFinished(long handle);

  private static native Event nativePopEvent(long handle);

  private static native void nativeReset(long handle);

  // ints: smoothing hops, max batch, threads; floats: refractory seconds.
  private static native void nativeDefaults(int[] ints, float[] floats);
}
