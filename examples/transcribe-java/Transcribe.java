/*
 * Transcribe: the Java version of examples/transcribe-c/transcribe.c, over ai.echoic.
 *
 *   java -Djava.library.path=DIR -cp echoic.jar:transcribe-java.jar Transcribe MODEL_DIR_OR_ONNX FILE.wav [chunk_ms]
 *
 * Reads a 16-bit PCM WAV (any rate 8-192 kHz, mono or stereo), feeds it to a stream in
 * chunks as a live source would, and prints each final result with word timestamps,
 * in exactly the C example's format.
 */
import ai.echoic.EchoicException;
import ai.echoic.Recognizer;
import ai.echoic.Result;
import ai.echoic.Stream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.math.RoundingMode;

public final class Transcribe {
  static final class Wav {
    float[] samples; // mono, [-1, 1]
    int rate;
  }

  private static int le16(byte[] b, int i) {
    return (b[i] & 0xff) | (b[i + 1] & 0xff) << 8;
  }

  private static long le32(byte[] b, int i) {
    return (le16(b, i) | (long) le16(b, i + 2) << 16) & 0xffffffffL;
  }

  private static void skip(InputStream in, long n) throws IOException {
    while (n > 0) {
      long k = in.skip(n);
      if (k <= 0) throw new EOFException();
      n -= k;
    }
  }

  /** Minimal RIFF reader, PCM16 only, averaging channels like the C example. */
  static Wav readWav(String path) throws IOException {
    try (DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(new FileInputStream(path)))) {
      byte[] h = new byte[12];
      in.readFully(h);
      if (!new String(h, 0, 4, "US-ASCII").equals("RIFF") || !new String(h, 8, 4, "US-ASCII").equals("WAVE")) {
        throw new IOException(path + " is not a 16-bit PCM WAV file");
      }
      int channels = 0;
      int bits = 0;
      Wav wav = new Wav();
      byte[] ch = new byte[8];
      while (true) {
        in.readFully(ch);
        String id = new String(ch, 0, 4, "US-ASCII");
        long size = le32(ch, 4);
        if (id.equals("fmt ")) {
          byte[] fmt = new byte[16];
          if (size < 16) throw new IOException(path + " has a bad fmt chunk");
          in.readFully(fmt);
          if (le16(fmt, 0) != 1) throw new IOException(path + " is not PCM");
          channels = le16(fmt, 2);
          wav.rate = (int) le32(fmt, 4);
          bits = le16(fmt, 14);
          skip(in, size - 16 + (size & 1));
        } else if (id.equals("data")) {
          if (bits != 16 || channels < 1 || channels > 2) throw new IOException(path + " is not 16-bit PCM");
          int frames = (int) (size / (2L * channels));
          byte[] pcm = new byte[frames * 2 * channels];
          int got = 0;
          while (got < pcm.length) { // a truncated data chunk keeps the whole frames read
            int k = in.read(pcm, got, pcm.length - got);
            if (k < 0) break;
            got += k;
          }
          frames = got / (2 * channels);
          wav.samples = new float[frames];
          for (int i = 0; i < frames; ++i) {
            float s = 0f;
            for (int c = 0; c < channels; ++c) s += (short) le16(pcm, 2 * (i * channels + c)) / 32768f;
            wav.samples[i] = s / (float) channels;
          }
          return wav;
        } else {
          skip(in, size + (size & 1));
        }
      }
    }
  }

  /** printf("%7.2f"): rounds the exact binary value half-to-even, as glibc does. */
  static String fixed72(float v) {
    String s = new BigDecimal((double) v).setScale(2, RoundingMode.HALF_EVEN).toPlainString();
    StringBuilder b = new StringBuilder();
    for (int i = s.length(); i < 7; ++i) b.append(' ');
    return b.append(s).toString();
  }

  static void printFinals(Stream stream, PrintStream out) {
    for (Result r = stream.popFinal(); r != null; r = stream.popFinal()) {
      out.print("[segment " + r.segment + "] " + r.text + "\n");
      for (Result.Word w : r.words) out.print("  " + fixed72(w.start) + " " + fixed72(w.end) + "  " + w.text + "\n");
    }
    out.flush();
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: Transcribe MODEL_DIR_OR_ONNX FILE.wav [chunk_ms]");
      System.exit(64);
    }
    Wav audio;
    try {
      audio = readWav(args[1]);
    } catch (IOException e) {
      System.err.println("transcribe: " + e.getMessage());
      System.exit(1);
      return;
    }
    int chunkMs = args.length > 2 ? Integer.parseInt(args[2]) : 100;
    if (chunkMs <= 0) chunkMs = 100;
    // Raw UTF-8 bytes, like the C program, whatever the locale.
    PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, "UTF-8");

    try (Recognizer rec = new Recognizer(args[0]); Stream stream = rec.createStream()) {
      int step = Math.max(1, (int) ((long) audio.rate * chunkMs / 1000));
      for (int i = 0; i < audio.samples.length; i += step) {
        stream.acceptWaveform(audio.samples, i, Math.min(step, audio.samples.length - i), audio.rate);
        stream.decodeAvailable();
        printFinals(stream, out);
      }
      stream.inputFinished();
      stream.decodeToEnd();
      printFinals(stream, out);
    } catch (EchoicException e) {
      System.err.println("transcribe: " + e.getMessage());
      System.exit(2);
    }
  }
}
