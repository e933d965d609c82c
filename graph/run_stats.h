// What a run reports: per-node accounting, totals, the machine; as a table for people and
// as JSON for summary.json and the report.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "graph/topology.h"

namespace capflow::graph {

struct NodeStats {
  std::string name;
  std::string kind;
  std::string device;
  std::string role;         // source, transform, collect, sink
  std::string stage;        // what its schema declares: data, model, reduce, optimizer, other
  int concurrency = 1;      // the limit the node ran with
  bool sequenced = false;   // a sequencer restored stream order before it
  std::uint64_t items = 0;  // calls that produced something
  std::uint64_t skipped = 0;
  double busy_seconds = 0;  // summed over threads
  // busy_seconds / (seconds × min(concurrency, threads)): the share of what the node could
  // have done; the highest one is the bottleneck.
  double busy_fraction = 0;
  double wait_seconds = 0;  // summed time items waited in front of the node
  double queue_mean = 0;    // mean items waiting when it took one
  std::int64_t queue_max = 0;
  std::map<std::string, std::uint64_t> counters;  // the node's own (corrupt, missing, ...)
  // The machine's measured peak for this node's arithmetic, GFLOP/s (0: unknown); set by the
  // caller for nodes that count "flops" (model FLOPs) before the table and JSON are made.
  double peak_gflops = 0;

  double flops() const {
    return counters.count("flops") ? static_cast<double>(counters.at("flops")) : 0.0;
  }
  // Model FLOPs per busy second, in GFLOP/s (0 when the node counts none).
  double gflops_per_second() const {
    return busy_seconds > 0 ? flops() / busy_seconds * 1e-9 : 0.0;
  }
};

struct RunStats {
  double seconds = 0;
  std::uint64_t images = 0;        // samples that reached a sink inside a non-skipped item
  std::uint64_t source_items = 0;  // samples the source produced
  std::uint64_t epochs_completed = 0;
  bool stopped_early = false;  // a stop was requested (Ctrl-C, max_steps...)
  int world_size = 1;
  int rank = 0;
  int max_in_flight = 0;
  int replicas = 1;  // resources.replicas, auto resolved (one per thread)
  std::size_t group_size = 1;
  std::int64_t peak_live_groups = 0;  // most groups alive at once (never above max_in_flight)
  Topology topology;
  std::vector<NodeStats> nodes;  // in pipeline order
  std::string bottleneck;        // the node with the highest busy fraction

  double images_per_second() const {
    return seconds > 0 ? static_cast<double>(images) / seconds : 0.0;
  }
};

// The per-node table printed at the end of a run, naming the bottleneck; with GFLOP/s and
// % of peak columns when a node counts model FLOPs.
std::string format_node_table(const RunStats& stats);

// summary.json's engine part: images, seconds, images_per_second, world_size,
// threads_per_rank, nodes {name: {items, busy_seconds, busy_fraction, ...}}, topology, ...
nlohmann::json run_stats_json(const RunStats& stats);

}  // namespace capflow::graph
