// _echoic.Index: the embedding index (csrc/echoic/index). numpy in and out; the
// GIL is released while the core trains, adds and searches.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "bind.h"
#include "echoic/index/index.h"
#include "echoic/runtime/error.h"

namespace echoic::python {

namespace {

using echoic::index::Index;
using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using IdArray = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

// Checks a (n, dim) float32 matrix and returns n.
size_t Rows(const FloatArray& a, size_t dim, const char* what) {
  if (a.ndim() != 2 || static_cast<size_t>(a.shape(1)) != dim)
    Fail(ErrorCode::kInvalidArgument, what, " must have shape (n, ", dim, "), got ndim=", a.ndim(),
         a.ndim() >= 2 ? " shape[1]=" + std::to_string(a.shape(1)) : std::string());
  return static_cast<size_t>(a.shape(0));
}

}  // namespace

void BindIndex(py::module_& m) {
  py::class_<Index>(m, "Index", "Persistent compressed embedding index (see echoic.EmbeddingIndex).")
      .def_static(
          "create",
          [](const std::string& path, size_t dim, const std::string& metric, const std::string& encoding, size_t pq_m,
             size_t refine_m, bool opq, size_t ivf_lists, bool keep_fp16, const std::string& encoder_id,
             int train_iterations, uint64_t seed, size_t max_train_points) {
            index::IndexOptions o;
            o.dim = dim;
            o.metric = index::ParseMetric(metric);
            o.encoding = index::ParseEncoding(encoding);
            o.pq_m = pq_m;
            o.refine_m = refine_m;
            o.opq = opq;
            o.ivf_lists = ivf_lists;
            o.keep_fp16 = keep_fp16;
            o.encoder_id = encoder_id;
            o.train_iterations = train_iterations;
            o.seed = seed;
            o.max_train_points = max_train_points;
            return Index::Create(path, o);
          },
          py::arg("path"), py::arg("dim"), py::arg("metric") = "cosine", py::arg("encoding") = "pq", py::arg("m") = 32,
          py::arg("refine_m") = 0, py::arg("opq") = false, py::arg("ivf_lists") = 0, py::arg("keep_fp16") = true,
          py::arg("encoder_id") = "", py::arg("train_iterations") = 10, py::arg("seed") = 0x5eed,
          py::arg("max_train_points") = 32768)
      .def_static(
          "open",
          [](const std::string& path, bool recover, bool read_only) {
            index::OpenOptions o;
            o.recover = recover;
            o.read_only = read_only;
            return Index::Open(path, o);
          },
          py::arg("path"), py::arg("recover") = false, py::arg("read_only") = false)
      .def(
          "train",
          [](Index& self, const FloatArray& x) {
            size_t n = Rows(x, self.options().dim, "training vectors");
            py::gil_scoped_release release;
            self.Train(x.data(), n);
          },
          py::arg("x"))
      .def(
          "retrain",
          [](Index& self, std::optional<FloatArray> x) {
            size_t n = x ? Rows(*x, self.options().dim, "training vectors") : 0;
            const float* p = x ? x->data() : nullptr;
            py::gil_scoped_release release;
            self.Retrain(p, n);
          },
          py::arg("x") = py::none())
      .def(
          "add",
          [](Index& self, const FloatArray& x, std::optional<IdArray> ids,
             std::optional<std::vector<std::string>> labels, const std::string& ns, const std::string& encoder_id) {
            size_t n = Rows(x, self.options().dim, "vectors");
            if (ids && (ids->ndim() != 1 || static_cast<size_t>(ids->shape(0)) != n))
              Fail(ErrorCode::kInvalidArgument, "ids must be a 1-d array of ", n, " ids");
            const int64_t* idp = ids ? ids->data() : nullptr;
            std::vector<int64_t> out;
            {
              py::gil_scoped_release release;
              out = self.Add(x.data(), n, idp, labels ? &*labels : nullptr, ns, encoder_id);
            }
            return py::array_t<int64_t>(static_cast<py::ssize_t>(out.size()), out.data());
          },
          py::arg("x"), py::arg("ids") = py::none(), py::arg("labels") = py::none(), py::arg("namespace") = "default",
          py::arg("encoder_id") = "")
      .def(
          "remove",
          [](Index& self, const IdArray& ids) {
            if (ids.ndim() != 1) Fail(ErrorCode::kInvalidArgument, "ids must be a 1-d array");
            py::gil_scoped_release release;
            self.Remove(ids.data(), static_cast<size_t>(ids.shape(0)));
          },
          py::arg("ids"))
      .def(
          "search",
          [](const Index& self, const FloatArray& q, size_t k, const std::string& ns, size_t nprobe, size_t rerank,
             size_t refine_factor, size_t exhaustive_below, const std::string& encoder_id) {
            size_t nq = Rows(q, self.options().dim, "queries");
            index::SearchParams p;
            p.k = k;
            p.ns = ns;
            p.nprobe = nprobe;
            p.rerank = rerank;
            p.refine_factor = refine_factor;
            p.exhaustive_below = exhaustive_below;
            p.encoder_id = encoder_id;
            index::SearchResult r;
            {
              py::gil_scoped_release release;
              r = self.Search(q.data(), nq, p);
            }
            py::array_t<float> scores({static_cast<py::ssize_t>(nq), static_cast<py::ssize_t>(k)});
            py::array_t<int64_t> ids({static_cast<py::ssize_t>(nq), static_cast<py::ssize_t>(k)});
            std::copy(r.scores.begin(), r.scores.end(), scores.mutable_data());
            std::copy(r.ids.begin(), r.ids.end(), ids.mutable_data());
            py::list labels;
            for (size_t i = 0; i < nq; ++i) {
              py::list row;
              for (size_t j = 0; j < k; ++j) row.append(r.labels[i * k + j]);
              labels.append(row);
            }
            return py::make_tuple(scores, ids, labels);
          },
          py::arg("q"), py::arg("k") = 10, py::arg("namespace") = "default", py::arg("nprobe") = 8,
          py::arg("rerank") = 0, py::arg("refine_factor") = 4, py::arg("exhaustive_below") = 4096,
          py::arg("encoder_id") = "")
      .def("save", &Index::Save, py::call_guard<py::gil_scoped_release>())
      .def("compact", &Index::Compact, py::call_guard<py::gil_scoped_release>())
      .def("close", &Index::Close)
      .def("__len__", &Index::size)
      .def("contains", &Index::Contains)
      .def("label", &Index::Label)
      .def("namespaces", &Index::namespaces)
      .def(
          "entries",
          [](const Index& self, const std::string& ns) {
            std::vector<index::Entry> entries = self.Entries(ns);
            py::array_t<int64_t> ids(static_cast<py::ssize_t>(entries.size()));
            py::list labels;
            auto w = ids.mutable_unchecked<1>();
            for (size_t i = 0; i < entries.size(); ++i) {
              w(static_cast<py::ssize_t>(i)) = entries[i].id;
              labels.append(py::str(entries[i].label));
            }
            return py::make_tuple(ids, labels);
          },
          py::arg("namespace") = "default")
      .def_property_readonly("read_only", &Index::read_only)
      .def_property_readonly("bytes_per_vector", &Index::bytes_per_vector)
      .def_property_readonly("stored_bytes_per_vector", &Index::stored_bytes_per_vector)
      .def_property_readonly("trained", &Index::trained)
      .def_property_readonly("open_issues", &Index::open_issues)
      .def_property_readonly("path", &Index::path)
      .def_property_readonly("dim", [](const Index& s) { return s.options().dim; })
      .def_property_readonly("metric",
                             [](const Index& s) { return std::string(index::MetricName(s.options().metric)); })
      .def_property_readonly("encoding",
                             [](const Index& s) { return std::string(index::EncodingName(s.options().encoding)); })
      .def_property_readonly("encoder_id", [](const Index& s) { return s.options().encoder_id; })
      .def_property_readonly("keep_fp16", [](const Index& s) { return s.options().keep_fp16; })
      .def_property_readonly("ivf_lists", [](const Index& s) { return s.options().ivf_lists; });
}

}  // namespace echoic::python
