// Python access to the memory monitor and the memory-pressure fallback
// (AdaptiveRecognizer). Switch events are queued in C++ and handed to Python
// by pop_events(): no Python callback ever runs on the monitor thread.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <chrono>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "bind.h"
#include "echoic/adaptive/adaptive_recognizer.h"
#include "echoic/runtime/error.h"
#include "echoic/runtime/memory_monitor.h"

namespace echoic::python {

namespace {

py::dict StateDict(const MemoryState& s) {
  py::dict d;
  d["available_bytes"] = s.available_bytes;
  d["used_bytes"] = s.used_bytes;
  d["limit_bytes"] = s.limit_bytes;
  d["pressure_level"] = PressureLevelName(s.pressure_level);
  d["source"] = s.source;
  return d;
}

py::dict CountersDict(const asr::AdaptiveCounters& c) {
  py::dict d;
  d["switches_down"] = c.switches_down;
  d["switches_up"] = c.switches_up;
  d["failed_loads"] = c.failed_loads;
  d["streams_moved"] = c.streams_moved;
  d["redecoded_seconds"] = c.redecoded_seconds;
  d["overflow_finalizations"] = c.overflow_finalizations;
  d["oom_decodes"] = c.oom_decodes;
  return d;
}

py::dict TierStatsDict(const asr::ModelTier& t, const asr::TierStats& s) {
  py::dict d;
  d["name"] = t.name;
  d["model"] = t.model;
  d["loaded"] = s.loaded;
  d["loads"] = s.loads;
  d["unloads"] = s.unloads;
  d["failed_loads"] = s.failed_loads;
  d["failed_loads_oom"] = s.failed_loads_oom;
  d["resident_bytes"] = s.resident_bytes;
  d["estimated_bytes"] = s.estimated_bytes;
  d["load_seconds"] = s.load_seconds;
  d["released_bytes"] = s.released_bytes;
  d["last_error"] = s.last_error;
  return d;
}

PressureLevel LevelFrom(const py::object& level) {
  if (py::isinstance<py::str>(level)) return PressureLevelFromName(level.cast<std::string>());
  int v = level.cast<int>();
  ECHOIC_CHECK(v >= 0 && v <= 3, ErrorCode::kInvalidArgument, "memory pressure level must be 0..3, got ", v);
  return static_cast<PressureLevel>(v);
}

using Tier = std::tuple<std::string, std::string, std::string>;  // name, model, tokens

std::unique_ptr<asr::AdaptiveRecognizer> MakeAdaptive(const std::vector<Tier>& tiers, const asr::RecognizerConfig& base,
                                                      int64_t budget, int64_t low, int64_t high, double upgrade_after,
                                                      double down_interval, double poll_interval, bool system_probes,
                                                      double max_buffer_seconds, bool preload_fallback) {
  asr::AdaptiveRecognizerConfig c;
  for (const auto& [name, model, tokens] : tiers) c.tiers.push_back({name, model, tokens});
  c.base = base;
  c.policy.low_watermark_bytes = low;
  c.policy.high_watermark_bytes = high;
  c.policy.upgrade_after_s = upgrade_after;
  c.policy.down_interval_s = down_interval;
  ECHOIC_CHECK(poll_interval >= 0, ErrorCode::kInvalidArgument, "poll_interval must be >= 0 seconds");
  c.monitor.poll_interval = std::chrono::milliseconds(static_cast<int64_t>(poll_interval * 1000));
  c.monitor.system_probes = system_probes;
  ECHOIC_CHECK(budget >= 0, ErrorCode::kInvalidArgument, "memory_budget must be >= 0 bytes");
  c.monitor.budget_bytes = budget;
  c.max_buffer_seconds = max_buffer_seconds;
  c.preload_fallback = preload_fallback;
  return std::make_unique<asr::AdaptiveRecognizer>(c);
}

}  // namespace

void BindAdaptive(py::module_& m) {
  m.def("parse_byte_size", &ParseByteSize, py::arg("text"), "'300MB' / '1.5G' / '65536' -> bytes.");
  m.def("process_rss", &ProcessRssBytes, "Resident set size of this process in bytes.");
  m.def(
      "read_memory",
      [](int64_t budget) {
        MemoryMonitorOptions o;
        o.poll_interval = std::chrono::milliseconds(0);
        o.budget_bytes = budget;
        MemoryMonitor mon(o);
        return StateDict(mon.Poll());
      },
      py::arg("budget") = 0, "One reading of cgroup / meminfo / budget: the tightest source wins.");

  py::class_<asr::AdaptiveStream>(m, "AdaptiveStream")
      .def_property_readonly("id", &asr::AdaptiveStream::id)
      .def_property_readonly("tier", &asr::AdaptiveStream::tier_name)
      .def_property_readonly("buffered_seconds", &asr::AdaptiveStream::buffered_seconds)
      .def_property_readonly("seconds_received", &asr::AdaptiveStream::seconds_received)
      .def_property_readonly("input_is_finished", &asr::AdaptiveStream::input_finished)
      .def("accept_waveform",
           [](asr::AdaptiveStream& s, int32_t sample_rate,
              py::array_t<float, py::array::c_style | py::array::forcecast> x) {
             ECHOIC_CHECK(x.ndim() == 1, ErrorCode::kInvalidArgument, "adaptive stream ", s.id(),
                          ": accept_waveform takes a 1-D array");
             s.AcceptWaveform(sample_rate, x.data(), static_cast<size_t>(x.size()));
           })
      .def("input_finished", &asr::AdaptiveStream::InputFinished)
      .def("pop_final_results", &asr::AdaptiveStream::PopFinalResults);

  py::class_<asr::AdaptiveRecognizer>(m, "AdaptiveRecognizer")
      .def(py::init(&MakeAdaptive), py::arg("tiers"), py::arg("config"), py::arg("memory_budget") = 0,
           py::arg("low_watermark") = int64_t{64} << 20, py::arg("high_watermark") = int64_t{128} << 20,
           py::arg("upgrade_after") = 10.0, py::arg("down_interval") = 1.0, py::arg("poll_interval") = 0.5,
           py::arg("system_probes") = true, py::arg("max_buffer_seconds") = 30.0, py::arg("preload_fallback") = false,
           py::call_guard<py::gil_scoped_release>())
      .def(
          "create_stream",
          [](asr::AdaptiveRecognizer& r, const std::vector<std::pair<std::string, float>>& hotwords) {
            std::vector<decoding::Hotword> hw;
            for (const auto& [phrase, score] : hotwords) hw.push_back({phrase, score});
            py::gil_scoped_release release;
            return r.CreateStream(hw);
          },
          py::arg("hotwords") = std::vector<std::pair<std::string, float>>{}, py::keep_alive<0, 1>())
      .def("is_ready", &asr::AdaptiveRecognizer::IsReady)
      .def("is_done", &asr::AdaptiveRecognizer::IsDone)
      .def("decode", &asr::AdaptiveRecognizer::Decode, py::call_guard<py::gil_scoped_release>())
      .def("decode_available", &asr::AdaptiveRecognizer::DecodeAvailable, py::call_guard<py::gil_scoped_release>())
      .def("partial", &asr::AdaptiveRecognizer::GetPartial, py::call_guard<py::gil_scoped_release>())
      .def("evaluate", &asr::AdaptiveRecognizer::Evaluate, py::call_guard<py::gil_scoped_release>())
      .def(
          "signal_memory_pressure",
          [](asr::AdaptiveRecognizer& r, const py::object& level) {
            PressureLevel l = LevelFrom(level);
            py::gil_scoped_release release;
            r.SignalPressure(l);
          },
          py::arg("level"))
      .def("set_budget", &asr::AdaptiveRecognizer::SetBudget, py::arg("bytes"),
           py::call_guard<py::gil_scoped_release>())
      .def("switch_to", &asr::AdaptiveRecognizer::SwitchTo, py::arg("tier"), py::arg("reason") = "requested",
           py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("current_tier", &asr::AdaptiveRecognizer::current_tier)
      .def_property_readonly(
          "sample_rate",
          [](asr::AdaptiveRecognizer& r) { return r.pool().Get(r.current_tier())->model_info().sample_rate; })
      .def_property_readonly("current_tier_name", &asr::AdaptiveRecognizer::current_tier_name)
      .def_property_readonly("tier_names",
                             [](asr::AdaptiveRecognizer& r) {
                               std::vector<std::string> out;
                               for (size_t i = 0; i < r.pool().size(); ++i) out.push_back(r.pool().name(i));
                               return out;
                             })
      .def_property_readonly("counters", [](const asr::AdaptiveRecognizer& r) { return CountersDict(r.counters()); })
      .def_property_readonly("memory_state",
                             [](const asr::AdaptiveRecognizer& r) { return StateDict(r.memory_state()); })
      .def("pop_events",
           [](asr::AdaptiveRecognizer& r) {
             std::vector<std::tuple<std::string, std::string, std::string>> out;
             for (const auto& e : r.PopEvents()) out.emplace_back(e.from, e.to, e.reason);
             return out;
           })
      .def(
          "tier_stats",
          [](asr::AdaptiveRecognizer& r, size_t i) { return TierStatsDict(r.pool().tier(i), r.pool().stats(i)); },
          py::arg("tier"))
      .def(
          "profile_tier",
          [](asr::AdaptiveRecognizer& r, size_t i) {
            asr::TierProfile p;
            {
              py::gil_scoped_release release;
              p = r.pool().Profile(i);
            }
            py::dict d;
            d["load_bytes_arena"] = p.load_bytes_arena;
            d["run_bytes_arena"] = p.run_bytes_arena;
            d["load_bytes_no_arena"] = p.load_bytes_no_arena;
            d["run_bytes_no_arena"] = p.run_bytes_no_arena;
            return d;
          },
          py::arg("tier"), "RSS cost of a tier (not loaded now) with the ORT arena on and off.");
}

}  // namespace echoic::python
