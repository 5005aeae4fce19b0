// Index main file: the input is written as <path> (no log) and opened the way the
// bindings open it, strictly and then with recover=true; a file that opens is searched.
#include <cstdio>
#include <string>
#include <vector>

#include "echoic/index/file_io.h"
#include "echoic/index/index.h"
#include "fuzz_common.h"

using namespace echoic;

namespace {

void RemoveIndexFiles(const std::string& path) {
  for (const char* suffix : {"", ".wal", ".lock", ".damaged", ".tmp", ".wal.tmp"}) std::remove((path + suffix).c_str());
}

void Exercise(const index::Index& idx) {
  (void)idx.size();
  (void)idx.bytes_per_vector();
  (void)idx.stored_bytes_per_vector();
  const size_t dim = idx.options().dim;
  if (dim == 0 || dim > 4096) return;
  std::vector<float> q(3 * dim);
  for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<float>((i * 7919) % 13) - 6.f;
  for (const std::string& ns : idx.namespaces()) {
    index::SearchParams p;
    p.k = 5;
    p.ns = ns;
    p.rerank = 3;
    fuzz::ExpectTypedErrors([&] { (void)idx.Search(q.data(), 3, p); });
  }
  index::SearchParams p;
  p.k = 1;
  fuzz::ExpectTypedErrors([&] { (void)idx.Search(q.data(), 1, p); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::ScratchDir() + "/index";
  for (bool recover : {false, true}) {
    RemoveIndexFiles(path);
    {
      std::FILE* f = std::fopen(path.c_str(), "wb");
      if (!f) std::abort();
      if (size) std::fwrite(data, 1, size, f);
      std::fclose(f);
    }
    fuzz::ExpectTypedErrors([&] {
      index::OpenOptions o;
      o.recover = recover;
      auto idx = index::Index::Open(path, o);
      Exercise(*idx);
      (void)idx->Entries("");
    });
  }
  RemoveIndexFiles(path);
  return 0;
}
