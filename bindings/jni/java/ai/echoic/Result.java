package ai.echoic;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/** A recognition result: a partial hypothesis or the final text of one segment. */
public final class Result {
  /** One word with its time span in seconds from the stream start. */
  public static final class Word {
    public final String text;
    public final float start;
    public final float end;
    public final float confidence;

    Word(String text, float start, float end, float confidence) {
      this.text = text;
      this.start = start;
      this.end = end;
      this.confidence = confidence;
    }

    @Override
    public String toString() {
      return text + "[" + start + "-" + end + "]";
    }
  }

  public final String text;
  public final boolean isFinal;
  /** Segment number, counting from 0; a new one starts after each endpoint. */
  public final int segment;
  public final List<Word> words;

  Result(String text, boolean isFinal, int segment, Word[] words) {
    this.text = text;
    this.isFinal = isFinal;
    this.segment = segment;
    this.words = Collections.unmodifiableList(Arrays.asList(words));
  }

  @Override
  public String toString() {
    return "[segment " + segment + (isFinal ? "" : ", partial") + "] " + text;
  }
}
