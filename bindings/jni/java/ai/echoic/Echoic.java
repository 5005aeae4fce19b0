package ai.echoic;

/**
 * Library-wide entry points and the loading of the native library.
 *
 * <p>The JNI library is loaded with {@code System.loadLibrary("echoic_jni")}, so
 * {@code libechoic_jni.so} (and {@code libechoic.so} beside it) must be on
 * {@code java.library.path}, e.g. {@code java -Djava.library.path=/opt/echoic/lib ...}; on
 * Android, put both in the APK's {@code jniLibs/<abi>/}. Setting the system property
 * {@code echoic.jni.library} to an absolute path loads that file instead.
 */
public final class Echoic {
  private static boolean loaded;

  private Echoic() {}

  /** Loads libechoic_jni once; every class with native methods calls this first. */
  static synchronized void loadNativeLibrary() {
    if (loaded) return;
    String path = System.getProperty("echoic.jni.library");
    if (path != null && !path.isEmpty()) {
      System.load(path);
    } else {
      System.loadLibrary("echoic_jni");
    }
    loaded = true;
  }

  static {
    loadNativeLibrary();
  }

  /** The echoic library version, e.g. "0.1.0". */
  public static String version() {
    return nativeVersion();
  }

  /**
   * Loads ONNX Runtime now (it is otherwise loaded on first use). A null or empty path
   * uses the usual resolution: ECHOIC_ORT_LIBRARY, the onnxruntime Python package, then
   * the system's libonnxruntime.so. Returns the path of the library that was loaded.
   */
  public static String loadOnnxRuntime(String path) {
    return nativeLoadOnnxRuntime(path);
  }

  private static native String nativeVersion();

  private static native String nativeLoadOnnxRuntime(String path);
}
