// C API over echoic::index::Index (section "embedding index" of echoic.h).
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "c_api_util.h"
#include "echoic/index/index.h"

struct echoic_index {
  static constexpr auto kHandleType = echoic::c_api::HandleType::kIndex;
  std::unique_ptr<echoic::index::Index> impl;
};

namespace {
using echoic::ErrorCode;

echoic::index::Index& Impl(const echoic_index* index) {
  ECHOIC_C_HANDLE(index);
  return *index->impl;
}
}  // namespace

extern "C" {

void echoic_index_config_default(echoic_index_config* o, size_t dim) {
  if (!o) return;
  std::memset(o, 0, sizeof(*o));
  o->dim = dim;
  o->metric = "cosine";
  o->encoding = "pq";
  o->m = 32;
  o->keep_fp16 = 1;
  o->encoder_id = "";
}

echoic_status echoic_index_create(const char* path, const echoic_index_config* options, echoic_index** out) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_REQUIRE(path);
    ECHOIC_C_REQUIRE(options);
    ECHOIC_C_REQUIRE(out);
    echoic::index::IndexOptions o;
    o.dim = options->dim;
    o.metric = echoic::index::ParseMetric(options->metric ? options->metric : "cosine");
    o.encoding = echoic::index::ParseEncoding(options->encoding ? options->encoding : "pq");
    ECHOIC_CHECK(options->m >= 0 && options->refine_m >= 0 && options->ivf_lists >= 0, ErrorCode::kInvalidArgument,
                 "echoic_index_create: m, refine_m and ivf_lists must not be negative");
    o.pq_m = options->m ? static_cast<size_t>(options->m) : 32;
    o.refine_m = static_cast<size_t>(options->refine_m);
    o.opq = options->opq != 0;
    o.ivf_lists = static_cast<size_t>(options->ivf_lists);
    o.keep_fp16 = options->keep_fp16 != 0;
    o.encoder_id = options->encoder_id ? options->encoder_id : "";
    auto h = std::make_unique<echoic_index>();
    h->impl = echoic::index::Index::Create(path, o);
    *out = echoic::c_api::Adopt(std::move(h));
  });
}

echoic_status echoic_index_open(const char* path, int32_t flags, echoic_index** out) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_REQUIRE(path);
    ECHOIC_C_REQUIRE(out);
    ECHOIC_CHECK((flags & ~(ECHOIC_INDEX_OPEN_RECOVER | ECHOIC_INDEX_OPEN_READ_ONLY)) == 0, ErrorCode::kInvalidArgument,
                 "echoic_index_open: unknown flags ", flags);
    echoic::index::OpenOptions o;
    o.recover = (flags & ECHOIC_INDEX_OPEN_RECOVER) != 0;
    o.read_only = (flags & ECHOIC_INDEX_OPEN_READ_ONLY) != 0;
    auto h = std::make_unique<echoic_index>();
    h->impl = echoic::index::Index::Open(path, o);
    *out = echoic::c_api::Adopt(std::move(h));
  });
}

echoic_status echoic_index_train(echoic_index* index, const float* vectors, size_t n) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_REQUIRE(vectors);
    Impl(index).Train(vectors, n);
  });
}

echoic_status echoic_index_add(echoic_index* index, const float* vectors, size_t n, const int64_t* ids,
                               const char* const* labels, const char* ns, int64_t* out_ids) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_REQUIRE(vectors);
    std::vector<std::string> lab;
    if (labels) {
      lab.reserve(n);
      for (size_t i = 0; i < n; ++i) lab.emplace_back(labels[i] ? labels[i] : "");
    }
    std::vector<int64_t> got = Impl(index).Add(vectors, n, ids, labels ? &lab : nullptr, ns ? ns : "default");
    if (out_ids && !got.empty()) std::memcpy(out_ids, got.data(), got.size() * sizeof(int64_t));
  });
}

echoic_status echoic_index_remove(echoic_index* index, const int64_t* ids, size_t n) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_REQUIRE(ids);
    Impl(index).Remove(ids, n);
  });
}

echoic_status echoic_index_search(const echoic_index* index, const float* queries, size_t nq, size_t k, const char* ns,
                                  size_t nprobe, size_t rerank, float* out_scores, int64_t* out_ids) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_REQUIRE(queries);
    ECHOIC_C_REQUIRE(out_scores);
    ECHOIC_C_REQUIRE(out_ids);
    echoic::index::SearchParams p;
    p.k = k;
    p.ns = ns ? ns : "default";
    p.nprobe = nprobe;
    p.rerank = rerank;
    echoic::index::SearchResult r = Impl(index).Search(queries, nq, p);
    if (!r.ids.empty()) {  // no memcpy(NULL, ..., 0) when nq or k is 0
      std::memcpy(out_scores, r.scores.data(), r.scores.size() * sizeof(float));
      std::memcpy(out_ids, r.ids.data(), r.ids.size() * sizeof(int64_t));
    }
  });
}

echoic_status echoic_index_label(const echoic_index* index, int64_t id, char* buf, size_t capacity,
                                 size_t* out_length) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_REQUIRE(out_length);
    ECHOIC_CHECK(capacity == 0 || buf != nullptr, ErrorCode::kInvalidArgument,
                 "echoic_index_label: buf is NULL but capacity is ", capacity);
    const std::string label = Impl(index).Label(id);
    *out_length = label.size();
    if (capacity == 0) return;
    const size_t n = std::min(label.size(), capacity - 1);
    if (n) std::memcpy(buf, label.data(), n);
    buf[n] = '\0';
  });
}

echoic_status echoic_index_entries(const echoic_index* index, const char* ns, int64_t* out_ids, size_t capacity,
                                   size_t* out_count) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_REQUIRE(out_count);
    ECHOIC_CHECK(capacity == 0 || out_ids != nullptr, ErrorCode::kInvalidArgument,
                 "echoic_index_entries: out_ids is NULL but capacity is ", capacity);
    std::vector<echoic::index::Entry> entries = Impl(index).Entries(ns ? ns : "default");
    for (size_t i = 0; i < std::min(capacity, entries.size()); ++i) out_ids[i] = entries[i].id;
    *out_count = entries.size();
  });
}

echoic_status echoic_index_size(const echoic_index* index, size_t* out) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_REQUIRE(out);
    *out = Impl(index).size();
  });
}

echoic_status echoic_index_bytes_per_vector(const echoic_index* index, size_t* out) {
  return echoic::c_api::Guard([&] {
    ECHOIC_C_REQUIRE(out);
    *out = Impl(index).bytes_per_vector();
  });
}

echoic_status echoic_index_save(echoic_index* index) {
  return echoic::c_api::Guard([&] { Impl(index).Save(); });
}

echoic_status echoic_index_free(echoic_index* index) {
  return echoic::c_api::DestroyHandle(index, "echoic_index_free");
}

}  // extern "C"
