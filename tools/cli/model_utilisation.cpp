// Model FLOP utilisation of a run (see model_utilisation.h).
#include "tools/cli/model_utilisation.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "nodes/model/precision_choice.h"

namespace capflow::cli {
namespace {

namespace fs = std::filesystem;

nlohmann::json peak_entry(const model::MachinePeak& p, const std::string& cpu_model) {
  nlohmann::json probes = nlohmann::json::array();
  for (const auto& probe : p.probes)
    probes.push_back(
        {{"name", probe.name}, {"precision", probe.precision}, {"gflops", probe.gflops}});
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return {{"cpu_model", cpu_model},       {"threads", p.threads}, {"fp32_gflops", p.fp32_gflops},
          {"bf16_gflops", p.bf16_gflops}, {"probes", probes},     {"measured", stamp}};
}

nlohmann::json read_cache() {
  std::ifstream in(peak_cache_path());
  if (!in) return nlohmann::json::array();
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  return j.is_object() && j.contains("entries") && j["entries"].is_array()
             ? j["entries"]
             : nlohmann::json::array();
}

void write_cache(const nlohmann::json& entries) {
  const fs::path path = peak_cache_path();
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  const fs::path temp = path.string() + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(temp);
    if (!out || !(out << nlohmann::json{{"entries", entries}}.dump(2) << '\n')) return;
  }
  fs::rename(temp, path, ec);
  if (ec) fs::remove(temp, ec);
}

bool same_machine(const nlohmann::json& e, int threads, const std::string& cpu_model) {
  return e.value("threads", 0) == threads && e.value("cpu_model", std::string()) == cpu_model;
}

// The precision a node computes in: its own `precision` argument (auto resolved as the node
// did, precision_choice.h), else the encoder's.
std::string node_precision(const graph::PipelineSpec& spec, const std::string& name,
                           const std::string& run) {
  const graph::NodeSpec* n = spec.node(name);
  if (n == nullptr || !n->args.contains("precision")) return run;
  return model::choose_precision(n->args.get_string("precision"), n->device != "cpu");
}

// The first model node that has a precision (the encoder in a training pipeline).
const graph::NodeSpec* encoder_node(const graph::PipelineSpec& spec) {
  for (const graph::NodeSpec& n : spec.nodes)
    if (n.schema != nullptr && n.schema->node_stage == graph::NodeStage::kModel &&
        n.args.contains("precision"))
      return &n;
  return nullptr;
}

}  // namespace

std::string peak_cache_path() {
  if (const char* file = std::getenv("CAPFLOW_PEAK_FILE"); file && *file) return file;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/capflow/peak.json";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.cache/capflow/peak.json";
}

model::MachinePeak measure_and_cache_peak(int threads, const std::string& cpu_model,
                                          double seconds_per_probe) {
  const model::MachinePeak peak = model::measure_peak(threads, seconds_per_probe);
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& e : read_cache())
    if (!same_machine(e, peak.threads, cpu_model)) entries.push_back(e);
  entries.push_back(peak_entry(peak, cpu_model));
  write_cache(entries);
  return peak;
}

PeakLookup peak_for(int threads, const std::string& cpu_model) {
  for (const auto& e : read_cache()) {
    if (!same_machine(e, threads, cpu_model)) continue;
    model::MachinePeak p;
    p.threads = threads;
    p.fp32_gflops = e.value("fp32_gflops", 0.0);
    p.bf16_gflops = e.value("bf16_gflops", 0.0);
    return {p, "cached (capflow info --peak, " + e.value("measured", std::string("?")) + ")"};
  }
  return {measure_and_cache_peak(threads, cpu_model, 0.2), "measured at the end of this run"};
}

nlohmann::json apply_model_utilisation(graph::RunStats& stats, const graph::PipelineSpec& spec) {
  double flops = 0;
  for (const graph::NodeStats& n : stats.nodes) flops += n.flops();
  if (flops <= 0) return nullptr;
  const graph::NodeSpec* encoder = encoder_node(spec);
  const bool on_cpu = encoder == nullptr || encoder->device == "cpu";
  const std::string precision =
      encoder != nullptr ? model::choose_precision(encoder->args.get_string("precision"), !on_cpu)
                         : "fp32";
  const double rate = stats.seconds > 0 ? flops / stats.seconds * 1e-9 : 0.0;
  nlohmann::json mfu = {
      {"model_flops", flops},
      {"model_flops_per_image", stats.images > 0 ? flops / static_cast<double>(stats.images) : 0.0},
      {"gflops_per_second", rate},
      {"precision", precision},
      {"peak_gflops", nullptr},
      {"peak_fraction", nullptr},
      {"peak_threads", stats.topology.threads},
      {"peak_source", on_cpu ? "" : "not measured for a GPU"}};
  if (!on_cpu) return mfu;
  const PeakLookup lookup = peak_for(stats.topology.threads, stats.topology.cpu_model);
  for (graph::NodeStats& n : stats.nodes)
    if (n.flops() > 0) n.peak_gflops = lookup.peak.peak(node_precision(spec, n.name, precision));
  const double peak = lookup.peak.peak(precision);
  mfu["peak_gflops"] = peak;
  mfu["peak_fraction"] = peak > 0 ? nlohmann::json(rate / peak) : nlohmann::json(nullptr);
  mfu["peak_source"] = lookup.source;
  return mfu;
}

std::string format_model_utilisation(const nlohmann::json& mfu) {
  if (!mfu.is_object()) return {};
  char line[512];
  const double per_image = mfu["model_flops_per_image"].get<double>() * 1e-9;
  const double rate = mfu["gflops_per_second"].get<double>();
  if (mfu["peak_fraction"].is_null()) {
    std::snprintf(line, sizeof line,
                  "model FLOPs: %.2f GFLOP per image (forward + backward), %.1f GFLOP/s\n",
                  per_image, rate);
    return line;
  }
  std::snprintf(
      line, sizeof line,
      "model FLOPs: %.2f GFLOP per image (forward + backward), %.1f GFLOP/s = %.1f %% of this "
      "machine's %s peak (%.0f GFLOP/s at %d threads, %s)\n",
      per_image, rate, 100 * mfu["peak_fraction"].get<double>(),
      mfu["precision"].get<std::string>().c_str(), mfu["peak_gflops"].get<double>(),
      mfu["peak_threads"].get<int>(), mfu["peak_source"].get<std::string>().c_str());
  return line;
}

}  // namespace capflow::cli
