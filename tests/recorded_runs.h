// Small recorded run folders and capflow-bench JSON for the report tests, written by the tests
// themselves: summary.json, metrics.jsonl and config.yaml in the formats `capflow run` writes.
// The figures of the default run are those of a real 1-rank run of pipelines/train-cpu.yaml on
// this project's 2-core machine (see docs/benchmarks.md), the bench figures those of
// capflow-bench on the same machine.
#pragma once

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace capflow::testing {

struct RecordedRun {
  int world_size = 1;
  int threads_per_rank = 2;
  double images = 1280;
  double seconds = 100;
  bool gpu = false;
  bool with_scaling = false;
  bool with_mfu = false;  // summary.json's "mfu" and the model nodes' GFLOP/s
  // busy seconds of the nodes (1-rank figures scaled by images)
  double encode = 0, lstm = 0, backward = 0, optimize = 0, decode = 0, augment = 0, batch = 0,
         reduce = 0;
};

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

inline nlohmann::json recorded_node(const std::string& kind, double items, double busy,
                                    double seconds, int conc) {
  return {{"kind", kind},
          {"device", "cpu"},
          {"role", "transform"},
          {"concurrency", conc},
          {"items", items},
          {"busy_seconds", busy},
          {"busy_fraction", busy / (seconds * conc)},
          {"wait_seconds", 0.5},
          {"queue_mean", 1.0},
          {"queue_max", 2},
          {"skipped", 0},
          {"sequenced", false},
          {"counters", nlohmann::json::object()}};
}

// Writes DIR/summary.json, DIR/metrics.jsonl and DIR/config.yaml.
inline void write_recorded_run(const std::string& dir, const RecordedRun& r) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  const double steps = r.images / 32 / r.world_size;
  nlohmann::json nodes = nlohmann::json::object();
  const double per_rank = r.images / r.world_size;
  nodes["read"] = recorded_node("read_files", per_rank, 0.01, r.seconds, 1);
  nodes["decode"] = recorded_node("decode_image", per_rank, r.decode, r.seconds, 2);
  nodes["augment"] = recorded_node("bms_augment", per_rank, r.augment, r.seconds, 2);
  nodes["batch"] = recorded_node("batch", steps, r.batch, r.seconds, 1);
  nodes["encode"] = recorded_node("resnet_encoder", steps, r.encode, r.seconds, 1);
  nodes["lstm"] = recorded_node("attention_lstm", steps, r.lstm, r.seconds, 1);
  nodes["backward"] = recorded_node("backward", steps, r.backward, r.seconds, 1);
  nodes["reduce"] = recorded_node("allreduce", steps, r.reduce, r.seconds, 1);
  nodes["optimize"] = recorded_node("adamw", steps, r.optimize, r.seconds, 1);
  if (r.gpu) nodes["encode"]["device"] = "cuda";
  nlohmann::json summary = {{"images", r.images},
                            {"seconds", r.seconds},
                            {"images_per_second", r.images / r.seconds},
                            {"world_size", r.world_size},
                            {"rank", 0},
                            {"threads_per_rank", r.threads_per_rank},
                            {"group_size", 32},
                            {"steps", steps},
                            {"loss_first", 5.01},
                            {"loss_last", 3.2},
                            {"bottleneck", "backward"},
                            {"pipeline", "pipelines/train-cpu.yaml"},
                            {"eval",
                             {{"levenshtein_mean", 80.5},
                              {"exact_match", 0.0},
                              {"valid_inchi_fraction", 0.0},
                              {"images", 32.0}}},
                            {"nodes", nodes},
                            {"topology", {{"available_threads", 2}, {"cpu_model", "test CPU"}}}};
  if (r.with_mfu) {
    summary["mfu"] = {{"model_flops", 4.0e12},     {"model_flops_per_image", 3.125e9},
                      {"gflops_per_second", 40.0}, {"precision", "bf16"},
                      {"peak_gflops", 800.0},      {"peak_fraction", 0.05},
                      {"peak_threads", 2},         {"peak_source", "cached"}};
    summary["nodes"]["encode"]["gflops_per_second"] = 100.0;
    summary["nodes"]["encode"]["peak_fraction"] = 0.125;
  }
  if (r.with_scaling)
    summary["scaling"] = {{"communication_seconds", r.reduce},
                          {"images_per_second_per_rank", r.images / r.seconds / r.world_size}};
  write_text(fs::path(dir) / "summary.json", summary.dump(2));
  std::string metrics;
  for (int s = 1; s <= 10; ++s) {
    const double t = r.seconds * s / 10;
    metrics += nlohmann::json({{"seconds", t},
                               {"images", r.images * s / 10},
                               {"images_per_second", r.images / r.seconds},
                               {"epoch", 0}})
                   .dump() +
               "\n";
    metrics += nlohmann::json(
                   {{"step", s}, {"node", "optimize"}, {"loss", 5.0 - 0.18 * s}, {"seconds", t}})
                   .dump() +
               "\n";
  }
  metrics += nlohmann::json({{"step", 10},
                             {"node", "optimize"},
                             {"eval.levenshtein_mean", 80.5},
                             {"seconds", r.seconds}})
                 .dump() +
             "\n";
  metrics += "{\"seconds\": 12, \"ima";  // a run killed mid-write leaves half a line
  write_text(fs::path(dir) / "metrics.jsonl", metrics);
  write_text(
      fs::path(dir) / "config.yaml",
      std::string("seed: 42\nnodes:\n  read:\n    kind: read_files\n    device: cpu\n  encode:\n   "
                  " kind: resnet_encoder\n") +
          "    device: " + (r.gpu ? "cuda" : "cpu") + "\n" +
          "edges: [read, decode, augment, batch, encode, lstm, backward, reduce, optimize]\n");
}

inline nlohmann::json bench_entry(const std::string& name, double real_time,
                                  const std::string& unit, double items_per_second,
                                  double bytes_per_second = 0) {
  nlohmann::json e = {{"name", name},     {"run_name", name},       {"run_type", "iteration"},
                      {"iterations", 3},  {"real_time", real_time}, {"cpu_time", real_time},
                      {"time_unit", unit}};
  if (items_per_second > 0) e["items_per_second"] = items_per_second;
  if (bytes_per_second > 0) e["bytes_per_second"] = bytes_per_second;
  return e;
}

}  // namespace capflow::testing
