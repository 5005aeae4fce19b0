package ai.echoic;

/**
 * One audio source being recognized (echoic_stream), made by {@link Recognizer#createStream}.
 * Feed audio with {@link #acceptWaveform}, run {@link #decode} and collect results with
 * {@link #popFinal} / {@link #partial}. Methods are synchronized; use after close throws
 * IllegalStateException.
 */
public final class Stream implements AutoCloseable {
  static {
    Echoic.loadNativeLibrary();
  }

  private final Recognizer recognizer;
  private long handle;
  private boolean inputFinished;

  Stream(Recognizer recognizer, long handle) {
    this.recognizer = recognizer;
    this.handle = handle;
  }

  private long live() {
    if (handle == 0) throw new IllegalStateException("Stream is closed");
    return handle;
  }

  /** Mono samples in [-1, 1] at sampleRate (8000..192000 Hz, constant per stream), any chunk size. */
  public synchronized void acceptWaveform(float[] samples, int sampleRate) {
    if (samples == null) throw new IllegalArgumentException("samples is null");
    acceptWaveform(samples, 0, samples.length, sampleRate);
  }

  /** samples[offset, offset + length) in [-1, 1] at sampleRate. */
  public synchronized void acceptWaveform(float[] samples, int offset, int length, int sampleRate) {
    if (samples == null) throw new IllegalArgumentException("samples is null");
    if (offset < 0 || length < 0 || offset > samples.length - length) {
      throw new ArrayIndexOutOfBoundsException("offset " + offset + ", length " + length + ", array " + samples.length);
    }
    nativeAcceptWaveform(live(), samples, offset, length, sampleRate);
  }

  /** No more audio: the rest is decoded and the last segment becomes final. */
  public synchronized void inputFinished() {
    nativeInputFinished(live());
    inputFinished = true;
  }

  /** True when a chunk of audio is ready for {@link #decode}. */
  public synchronized boolean isReady() {
    return nativeIsReady(recognizer.liveHandle(), live());
  }

  /** True once all audio was given, decoded, and the last result is final. */
  public synchronized boolean isDone() {
    return nativeIsDone(recognizer.liveHandle(), live());
  }

  /** Decodes one ready chunk. */
  public synchronized void decode() {
    nativeDecode(recognizer.liveHandle(), live());
  }

  /** Decodes every chunk that is ready now. */
  public synchronized void decodeAvailable() {
    long r = recognizer.liveHandle();
    long s = live();
    while (nativeIsReady(r, s)) nativeDecode(r, s);
  }

  /** After {@link #inputFinished}: decodes until {@link #isDone}. */
  public synchronized void decodeToEnd() {
    long r = recognizer.liveHandle();
    long s = live();
    if (!inputFinished) throw new IllegalStateException("decodeToEnd() before inputFinished()");
    while (!nativeIsDone(r, s)) nativeDecode(r, s);
  }

  /** The partial result of the open segment. */
  public synchronized Result partial() {
    return nativePartial(recognizer.liveHandle(), live());
  }

  /** The oldest final result not yet taken, or null. */
  public synchronized Result popFinal() {
    return nativePopFinal(live());
  }

  /** Frees the native stream. Idempotent. */
  @Override
  public void close() {
    if (closeWithoutForgetting()) recognizer.forget(this);
  }

  synchronized boolean closeWithoutForgetting() {
    if (handle == 0) return false;
    nativeFree(handle);
    handle = 0;
    return true;
  }

  static native long nativeCreate(long recognizer, String hotwords);

  private static native void nativeFree(long handle);

  private static native void nativeAcceptWaveform(long stream, float[] samples, int offset, int length,
      int sampleRate);

  private static native void nativeInputFinished(long stream);

  private static native boolean nativeIsReady(long recognizer, long stream);

  private static native boolean nativeIsDone(long recognizer, long stream);

  private static native void nativeDecode(long recognizer, long stream);

  private static native Result nativePartial(long recognizer, long stream);

  private static native Result nativePopFinal(long stream);
}
