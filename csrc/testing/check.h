// A minimal test harness for the C++ unit tests (one executable per *_test.cc,
// run by ctest). TEST(name) registers a case; CHECK* record failures and go on.
#ifndef ECHOIC_TESTING_CHECK_H_
#define ECHOIC_TESTING_CHECK_H_

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <string>
#include <vector>

namespace echoic::testing {

struct Case {
  const char* name;
  std::function<void()> fn;
};

inline std::vector<Case>& Registry() {
  static std::vector<Case> cases;
  return cases;
}
inline int& Failures() {
  static int failures = 0;
  return failures;
}
struct Registrar {
  Registrar(const char* name, std::function<void()> fn) { Registry().push_back({name, std::move(fn)}); }
};

inline void Report(const char* file, int line, const std::string& what) {
  std::fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what.c_str());
  ++Failures();
}

// Path under ../shared (ECHOIC_SHARED_DIR is set by ctest).
inline std::string SharedPath(const std::string& rel) {
  const char* dir = std::getenv("ECHOIC_SHARED_DIR");
  return std::string(dir ? dir : "../shared") + "/" + rel;
}

inline int RunAll() {
  int failed_cases = 0;
  for (auto& c : Registry()) {
    int before = Failures();
    try {
      c.fn();
    } catch (const std::exception& e) {
      Report(c.name, 0, std::string("uncaught exception: ") + e.what());
    }
    bool ok = Failures() == before;
    std::printf("[%s] %s\n", ok ? "  OK  " : " FAIL ", c.name);
    if (!ok) ++failed_cases;
  }
  std::printf("%zu cases, %d failed\n", Registry().size(), failed_cases);
  return failed_cases == 0 ? 0 : 1;
}

}  // namespace echoic::testing

#define ECHOIC_CAT2(a, b) a##b
#define ECHOIC_CAT(a, b) ECHOIC_CAT2(a, b)
#define TEST(name)                                                                \
  static void name();                                                             \
  static ::echoic::testing::Registrar ECHOIC_CAT(registrar_, name)(#name, &name); \
  static void name()

#define CHECK(cond)                                                    \
  do {                                                                 \
    if (!(cond)) ::echoic::testing::Report(__FILE__, __LINE__, #cond); \
  } while (0)
#define CHECK_EQ(a, b)                                                                                                \
  do {                                                                                                                \
    if (!((a) == (b)))                                                                                                \
      ::echoic::testing::Report(                                                                                      \
          __FILE__, __LINE__, std::string(#a " == " #b " (") + std::to_string(a) + " vs " + std::to_string(b) + ")"); \
  } while (0)
#define CHECK_NEAR(a, b, tol)                                                                                        \
  do {                                                                                                               \
    double va_ = (a), vb_ = (b);                                                                                     \
    if (!(std::fabs(va_ - vb_) <= (tol)))                                                                            \
      ::echoic::testing::Report(__FILE__, __LINE__,                                                                  \
                                std::string(#a " ~ " #b ": ") + std::to_string(va_) + " vs " + std::to_string(vb_)); \
  } while (0)
// Passes only if `expr` throws echoic::Error with the given code.
#define CHECK_THROWS_CODE(expr, code_)                                                                           \
  do {                                                                                                           \
    bool threw_ = false;                                                                                         \
    try {                                                                                                        \
      (void)(expr);                                                                                              \
    } catch (const ::echoic::Error& e_) {                                                                        \
      threw_ = true;                                                                                             \
      if (e_.code() != (code_))                                                                                  \
        ::echoic::testing::Report(__FILE__, __LINE__, std::string(#expr " threw the wrong code: ") + e_.what()); \
    }                                                                                                            \
    if (!threw_) ::echoic::testing::Report(__FILE__, __LINE__, #expr " did not throw");                          \
  } while (0)

#define TEST_MAIN() \
  int main() { return ::echoic::testing::RunAll(); }

#endif  // ECHOIC_TESTING_CHECK_H_
