#include "echoic/ort/library.h"

#include <dirent.h>
#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>

#include "echoic/runtime/error.h"

namespace echoic::ort {

namespace {

std::mutex g_mutex;
Library* g_library = nullptr;  // set once, leaked on purpose (lives until exit)

bool IsDir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string Dirname(const std::string& p) {
  auto pos = p.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return p.substr(0, pos);
}

// "libonnxruntime.so.1.31.1" -> {1,31,1}; plain ".so" sorts lowest.
std::vector<int> VersionOf(const std::string& name) {
  std::vector<int> v;
  const std::string prefix = "libonnxruntime.so";
  size_t i = prefix.size();
  while (i < name.size()) {
    if (name[i] == '.') {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < name.size() && name[j] >= '0' && name[j] <= '9') ++j;
    if (j == i) break;
    v.push_back(std::atoi(name.substr(i, j - i).c_str()));
    i = j;
  }
  return v;
}

}  // namespace

std::string OwnBinaryPath() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&OwnBinaryPath), &info) == 0 || !info.dli_fname) return "";
  char resolved[4096];
  if (::realpath(info.dli_fname, resolved)) return resolved;
  return info.dli_fname;
}

std::string FindPythonPackageOrt(const std::string& start_dir) {
  std::string dir = start_dir;
  for (int depth = 0; depth < 64 && !dir.empty(); ++depth) {
    std::string capi = (dir == "/" ? "" : dir) + "/onnxruntime/capi";
    if (IsDir(capi)) {
      std::string best;
      std::vector<int> best_version;
      if (DIR* d = ::opendir(capi.c_str())) {
        while (dirent* e = ::readdir(d)) {
          std::string name = e->d_name;
          if (name.rfind("libonnxruntime.so", 0) != 0) continue;
          auto v = VersionOf(name);
          if (best.empty() || v > best_version) {
            best = name;
            best_version = v;
          }
        }
        ::closedir(d);
      }
      if (!best.empty()) return capi + "/" + best;
    }
    if (dir == "/") break;
    dir = Dirname(dir);
  }
  return "";
}

struct LibraryLoader {
  // Opens `path` and binds the API; on failure returns nullptr and fills `why`.
  static std::unique_ptr<Library> Open(const std::string& path, const std::string& how, std::string* why) {
    ::dlerror();
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* err = ::dlerror();
      *why = err ? err : "dlopen failed";
      return nullptr;
    }
    auto get_base = reinterpret_cast<c::OrtGetApiBaseFn>(::dlsym(handle, "OrtGetApiBase"));
    if (!get_base) {
      ::dlclose(handle);
      Fail(ErrorCode::kOrt, "'", path, "' (", how, ") is not an ONNX Runtime library: no OrtGetApiBase symbol");
    }
    const c::OrtApiBase* base = get_base();
    const char* ver = base && base->GetVersionString ? base->GetVersionString() : nullptr;
    std::string version = ver ? ver : "unknown";
    const c::OrtApi* api = base ? base->GetApi(c::kOrtApiVersion) : nullptr;
    if (!api) {
      ::dlclose(handle);
      Fail(ErrorCode::kOrt, "ONNX Runtime at '", path, "' is version ", version,
           ", which does not offer C API version ", c::kOrtApiVersion, " (echoic needs ONNX Runtime >= 1.3)");
    }
    std::unique_ptr<Library> lib(new Library());
    lib->handle_ = handle;
    lib->api_ = api;
    lib->path_ = path;
    lib->version_ = version;
    lib->api_version_ = static_cast<int>(c::kOrtApiVersion);
    lib->resolved_by_ = how;
    return lib;
  }

  // Path dlopen actually used for a bare soname (for reporting).
  static std::string RealPathOf(void* sym, const std::string& fallback) {
    Dl_info info{};
    if (sym && ::dladdr(sym, &info) != 0 && info.dli_fname) return info.dli_fname;
    return fallback;
  }

  static std::unique_ptr<Library> Resolve(const std::string& explicit_path) {
    std::string why;
    if (!explicit_path.empty()) {
      auto lib = Open(explicit_path, "explicit", &why);
      if (!lib) Fail(ErrorCode::kOrt, "cannot load ONNX Runtime from explicit path '", explicit_path, "': ", why);
      return lib;
    }
    if (const char* env = std::getenv("ECHOIC_ORT_LIBRARY"); env && *env) {
      auto lib = Open(env, "env", &why);
      if (!lib) Fail(ErrorCode::kOrt, "cannot load ONNX Runtime from ECHOIC_ORT_LIBRARY='", env, "': ", why);
      return lib;
    }
    std::vector<std::string> tried;
    std::string own = OwnBinaryPath();
    if (!own.empty()) {
      std::string pkg = FindPythonPackageOrt(Dirname(own));
      if (!pkg.empty()) {
        auto lib = Open(pkg, "python-package", &why);
        if (lib) return lib;
        tried.push_back("'" + pkg + "': " + why);
      } else {
        tried.push_back("no onnxruntime/capi/ above '" + own + "'");
      }
    }
    for (const char* soname : {"libonnxruntime.so", "libonnxruntime.so.1"}) {
      auto lib = Open(soname, "system", &why);
      if (lib) {
        lib->path_ = RealPathOf(::dlsym(lib->handle_, "OrtGetApiBase"), soname);
        return lib;
      }
      tried.push_back(std::string("'") + soname + "': " + why);
    }
    std::string all;
    for (auto& t : tried) all += "\n  " + t;
    Fail(ErrorCode::kOrt,
         "ONNX Runtime library not found. Install the onnxruntime Python package, or set ECHOIC_ORT_LIBRARY "
         "to the path of libonnxruntime.so. Tried:",
         all);
  }
};

const Library& Library::Get(const std::string& explicit_path) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_library) {
    if (!explicit_path.empty() && explicit_path != g_library->path_) {
      char a[4096], b[4096];
      bool same = ::realpath(explicit_path.c_str(), a) && ::realpath(g_library->path_.c_str(), b) &&
                  std::string(a) == std::string(b);
      if (!same)
        Fail(ErrorCode::kState, "ONNX Runtime is already loaded from '", g_library->path_, "' (",
             g_library->resolved_by_, "); cannot load a second one from '", explicit_path, "' in the same process");
    }
    return *g_library;
  }
  g_library = LibraryLoader::Resolve(explicit_path).release();
  return *g_library;
}

const Library* Library::Loaded() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_library;
}

}  // namespace echoic::ort
