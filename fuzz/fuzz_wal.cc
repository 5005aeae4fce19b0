// Index log replay: a valid small main file (fuzz/data/wal_main.idx, flat, dim 8, made by
// make_seeds.py) beside the input as <path>.wal, opened strictly and with recover=true.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "echoic/index/index.h"
#include "fuzz_common.h"

using namespace echoic;

namespace {

const std::string& MainFile() {
  static const std::string bytes = [] {
    std::ifstream in(ECHOIC_FUZZ_DATA_DIR "/wal_main.idx", std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "fuzz_wal: cannot read %s\n", ECHOIC_FUZZ_DATA_DIR "/wal_main.idx");
      std::abort();
    }
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  return bytes;
}

void Write(const std::string& path, const void* data, size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
}

void RemoveIndexFiles(const std::string& path) {
  for (const char* suffix : {"", ".wal", ".lock", ".damaged", ".tmp", ".wal.tmp"}) std::remove((path + suffix).c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::ScratchDir() + "/index";
  for (bool recover : {false, true}) {
    RemoveIndexFiles(path);
    Write(path, MainFile().data(), MainFile().size());
    Write(path + ".wal", data, size);
    // A read-only snapshot first: it replays the same log without writing anything.
    fuzz::ExpectTypedErrors([&] {
      index::OpenOptions o;
      o.recover = recover;
      o.read_only = true;
      auto snapshot = index::Index::Open(path, o);
      (void)snapshot->Entries("");
    });
    fuzz::ExpectTypedErrors([&] {
      index::OpenOptions o;
      o.recover = recover;
      auto idx = index::Index::Open(path, o);
      (void)idx->size();
      std::vector<float> q(idx->options().dim, 0.5f);
      for (const std::string& ns : idx->namespaces()) {
        index::SearchParams p;
        p.k = 4;
        p.ns = ns;
        (void)idx->Search(q.data(), 1, p);
      }
      // The replayed state must survive a save and a reopen.
      idx->Save();
      idx.reset();
      auto again = index::Index::Open(path);
      (void)again->size();
    });
  }
  RemoveIndexFiles(path);
  return 0;
}
