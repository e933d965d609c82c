// Chrome trace (Trace Event Format) writer: complete events ("ph": "X") in microseconds, one
// track per thread, thread-name metadata so Perfetto labels the tracks.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "graph/errors.h"
#include "graph/instrumentation.h"

namespace capflow::graph {

void write_chrome_trace(const std::string& path, const TraceRecorder& recorder,
                        const std::vector<std::string>& node_names) {
  nlohmann::json events = nlohmann::json::array();
  events.push_back(
      {{"name", "process_name"}, {"ph", "M"}, {"pid", 1}, {"args", {{"name", "capflow"}}}});
  for (const TraceRecorder::ThreadTrack* track : recorder.tracks()) {
    events.push_back({{"name", "thread_name"},
                      {"ph", "M"},
                      {"pid", 1},
                      {"tid", track->tid},
                      {"args", {{"name", "thread " + std::to_string(track->tid)}}}});
    for (const auto& slice : track->slices) {
      const std::string& name =
          slice.node >= 0 && static_cast<std::size_t>(slice.node) < node_names.size()
              ? node_names[static_cast<std::size_t>(slice.node)]
              : std::string("?");
      events.push_back({{"name", name},
                        {"cat", "node"},
                        {"ph", "X"},
                        {"pid", 1},
                        {"tid", track->tid},
                        {"ts", static_cast<double>(slice.start_ns) / 1000.0},
                        {"dur", static_cast<double>(slice.duration_ns) / 1000.0},
                        {"args", {{"item", slice.item}}}});
    }
  }
  const nlohmann::json trace = {{"traceEvents", events}, {"displayTimeUnit", "ms"}};
  const std::string tmp = path + ".partial";
  {
    std::ofstream out(tmp);
    if (!out) throw Error("cannot write trace file '" + path + "'");
    out << trace.dump() << '\n';
    if (!out.flush()) throw Error("cannot write trace file '" + path + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw Error("cannot write trace file '" + path + "'");
}

}  // namespace capflow::graph
