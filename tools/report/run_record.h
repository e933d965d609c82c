// A run folder (RUN_DIR/summary.json, metrics.jsonl, config.yaml) read into plain values for
// the report and the throughput model. Only `images`, `seconds` and `images_per_second` of
// summary.json are required; everything else is optional (older runs, other world sizes).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tools/report/time_to_quality.h"

namespace capflow::report {

struct NodeRecord {
  std::string name;
  std::string kind;
  std::string device = "cpu";
  std::string role;  // source, transform, collect, sink ("" when not recorded)
  // data, model, reduce, optimizer, other: as its schema declares (runs recorded before
  // stages were: from the kinds capflow had then).
  std::string stage;
  double items = 0;
  double busy_seconds = 0;
  double busy_fraction = 0;
  double wait_seconds = 0;
  int concurrency = 1;
  std::optional<double> gflops_per_second;  // model FLOPs per busy second (model nodes only)
  std::optional<double> peak_fraction;      // of the machine's measured peak
};

struct Point {
  double x = 0;  // seconds since the run started
  double y = 0;
};

struct RunRecord {
  std::string dir;   // as given
  std::string name;  // the folder's name
  std::string pipeline;
  int world_size = 1;
  int threads_per_rank = 0;  // 0: not recorded
  int available_threads = 0;
  std::string cpu_model;
  double images = 0;  // over all ranks
  double seconds = 0;
  double images_per_second = 0;  // over all ranks
  int batch_size = 0;            // summary's group_size; 0: not recorded
  double steps = 0;
  bool gpu = false;  // a node of config.yaml runs on `device: cuda`
  std::optional<double> scaling_efficiency;
  std::optional<double> communication_seconds;
  std::optional<double> images_per_second_per_rank;
  std::optional<double> loss_first, loss_last;
  std::optional<double> levenshtein;        // eval.levenshtein_mean at the end
  std::optional<double> gflops_per_second;  // summary's mfu: model FLOPs per second of the run
  std::optional<double> peak_fraction;      // ... as a share of the machine's measured peak
  std::string bottleneck;
  std::vector<NodeRecord> nodes;        // in summary order (by name)
  std::vector<Point> images_over_time;  // metrics.jsonl progress lines: images done
  std::vector<Point> loss_over_time;    // metrics.jsonl "loss"
  // metrics.jsonl "eval.levenshtein_mean" against eval.train_seconds of its step when recorded
  // (training time, evaluations left out), else against the row's seconds
  std::vector<Point> levenshtein_over_time;
  std::vector<EvalPoint> evaluations;  // the held-out evaluations, by step

  // "1 rank × 2 threads" style label of the shape it ran with.
  std::string shape() const;
  const NodeRecord* node(const std::string& node_name) const;
};

// Reads RUN_DIR. Throws ConfigError naming the file: a missing folder or summary.json,
// summary.json that is not JSON or lacks images/seconds/images_per_second. A missing
// metrics.jsonl or config.yaml leaves the series empty (resp. gpu false); broken lines in
// metrics.jsonl are skipped (a run killed mid-write leaves half a line).
RunRecord read_run(const std::string& dir);

// Images per second over time from the cumulative images series, averaged over `window`
// seconds (the first point at the end of the first window).
std::vector<Point> rate_over_time(const std::vector<Point>& images, double window);

}  // namespace capflow::report
