// Run statistics as a table and as JSON.
#include "graph/run_stats.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

namespace capflow::graph {

namespace {
std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}
std::string pad(const std::string& s, std::size_t width, bool right) {
  if (s.size() >= width) return s;
  return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}
}  // namespace

bool counts_flops(const RunStats& stats) {
  for (const NodeStats& n : stats.nodes)
    if (n.flops() > 0) return true;
  return false;
}

// "GFLOP/s" and "% peak" cells of a node ("-" when it counts no FLOPs or the peak is unknown).
std::vector<std::string> flops_cells(const NodeStats& n) {
  if (n.flops() <= 0) return {"-", "-"};
  const double rate = n.gflops_per_second();
  return {fixed(rate, 1), n.peak_gflops > 0 ? fixed(100.0 * rate / n.peak_gflops, 1) : "-"};
}

std::string format_node_table(const RunStats& stats) {
  std::vector<std::string> header = {"node",   "kind",   "conc",    "items",  "skipped",
                                     "busy s", "busy %", "items/s", "wait s", "queue max"};
  const bool flops = counts_flops(stats);
  if (flops) header.insert(header.end(), {"GFLOP/s", "% peak"});
  std::vector<std::vector<std::string>> rows;
  for (const NodeStats& n : stats.nodes) {
    const double rate = stats.seconds > 0 ? static_cast<double>(n.items) / stats.seconds : 0.0;
    rows.push_back({n.name + (n.name == stats.bottleneck ? " *" : ""), n.kind,
                    (n.sequenced ? "seq " : "") + std::to_string(n.concurrency),
                    std::to_string(n.items), std::to_string(n.skipped), fixed(n.busy_seconds, 2),
                    fixed(100.0 * n.busy_fraction, 1), fixed(rate, 1), fixed(n.wait_seconds, 2),
                    std::to_string(n.queue_max)});
    if (flops) {
      const auto cells = flops_cells(n);
      rows.back().insert(rows.back().end(), cells.begin(), cells.end());
    }
  }
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& r : rows) width[c] = std::max(width[c], r[c].size());
  }
  std::ostringstream out;
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t c = 0; c < cells.size(); ++c)
      out << (c ? "  " : "") << pad(cells[c], width[c], c >= 2);
    out << '\n';
  };
  line(header);
  for (const auto& r : rows) line(r);
  if (!stats.bottleneck.empty())
    out << "* bottleneck: " << stats.bottleneck << " (highest busy %)\n";
  for (const NodeStats& n : stats.nodes)
    for (const auto& [name, count] : n.counters)
      if (name != "flops") out << "  " << n.name << ": " << name << " " << count << '\n';
  return out.str();
}

nlohmann::json run_stats_json(const RunStats& stats) {
  nlohmann::json nodes = nlohmann::json::object();
  for (const NodeStats& n : stats.nodes) {
    nodes[n.name] = {{"kind", n.kind},
                     {"device", n.device},
                     {"role", n.role},
                     {"stage", n.stage},
                     {"concurrency", n.concurrency},
                     {"sequenced", n.sequenced},
                     {"items", n.items},
                     {"skipped", n.skipped},
                     {"busy_seconds", n.busy_seconds},
                     {"busy_fraction", n.busy_fraction},
                     {"wait_seconds", n.wait_seconds},
                     {"queue_mean", n.queue_mean},
                     {"queue_max", n.queue_max},
                     {"counters", n.counters}};
    if (n.flops() > 0) {
      nodes[n.name]["gflops_per_second"] = n.gflops_per_second();
      nodes[n.name]["peak_fraction"] = n.peak_gflops > 0
                                           ? nlohmann::json(n.gflops_per_second() / n.peak_gflops)
                                           : nlohmann::json(nullptr);
    }
  }
  nlohmann::json numa = nlohmann::json::array();
  for (const NumaNode& node : stats.topology.numa_nodes)
    numa.push_back({{"id", node.id}, {"concurrency", node.concurrency}});
  return {{"images", stats.images},
          {"seconds", stats.seconds},
          {"images_per_second", stats.images_per_second()},
          {"world_size", stats.world_size},
          {"rank", stats.rank},
          {"threads_per_rank", stats.topology.threads},
          {"replicas", stats.replicas},
          {"source_items", stats.source_items},
          {"epochs_completed", stats.epochs_completed},
          {"stopped_early", stats.stopped_early},
          {"max_in_flight", stats.max_in_flight},
          {"group_size", stats.group_size},
          {"peak_live_groups", stats.peak_live_groups},
          {"bottleneck", stats.bottleneck},
          {"nodes", nodes},
          {"topology",
           {{"available_threads", stats.topology.available_threads},
            {"numa_nodes", numa},
            {"arena_numa_node", stats.topology.arena_numa_node},
            {"cpu_model", stats.topology.cpu_model}}}};
}

}  // namespace capflow::graph
