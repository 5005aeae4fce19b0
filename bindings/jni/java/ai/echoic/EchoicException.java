package ai.echoic;

/** A failed echoic C API call: its status code, the status name and the library's message. */
public class EchoicException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  // Values of echoic_status in echoic.h.
  public static final int INVALID_ARGUMENT = 1;
  public static final int IO = 2;
  public static final int CORRUPT_DATA = 3;
  public static final int MODEL = 4;
  public static final int ONNXRUNTIME = 5;
  public static final int UNSUPPORTED = 6;
  public static final int OUT_OF_MEMORY = 7;
  public static final int STATE = 8;
  public static final int NOT_FOUND = 9;
  public static final int INTERNAL = 10;

  private final int status;
  private final String statusName;

  /** Called from native code; message is echoic_last_error() of the failed call. */
  public EchoicException(int status, String statusName, String message) {
    super(message);
    this.status = status;
    this.statusName = statusName;
  }

  /** The echoic_status value (never 0). */
  public int status() {
    return status;
  }

  /** echoic_status_name(status), e.g. "io". */
  public String statusName() {
    return statusName;
  }

  @Override
  public String toString() {
    return getClass().getName() + " [" + statusName + "]: " + getMessage();
  }
}
