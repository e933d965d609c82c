// Reading a run folder.
#include "tools/report/run_record.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "graph/errors.h"
#include "nodes/metric_names.h"

namespace capflow::report {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The stage of a node in a run recorded before summary.json had one: by the kinds of then.
std::string stage_before_schemas_declared_it(const std::string& kind) {
  if (kind == "read_files" || kind == "decode_image" || kind == "bms_augment" || kind == "batch" ||
      kind == "discard")
    return "data";
  if (kind == "allreduce") return "reduce";
  if (kind == "adam" || kind == "adamw") return "optimizer";
  return "model";
}

std::optional<double> number_at(const json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

double required_number(const json& summary, const char* key, const std::string& file) {
  const auto v = number_at(summary, key);
  if (!v) throw ConfigError(file + ": '" + key + "' is missing or not a number");
  return *v;
}

std::string string_at(const json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

struct ConfigFacts {
  bool gpu = false;                // any node with `device: cuda` (or cuda:N)
  std::vector<std::string> edges;  // the pipeline order
};

ConfigFacts read_config(const fs::path& config) {
  ConfigFacts facts;
  std::error_code ec;
  if (!fs::is_regular_file(config, ec)) return facts;
  YAML::Node root;
  try {
    root = YAML::LoadFile(config.string());
  } catch (const YAML::Exception& e) {
    throw ConfigError(config.string() + ": not YAML: " + e.what());
  }
  const YAML::Node nodes = root["nodes"];
  if (nodes && nodes.IsMap()) {
    for (const auto& entry : nodes) {
      const YAML::Node device = entry.second["device"];
      if (device && device.IsScalar() && device.Scalar().rfind("cuda", 0) == 0) facts.gpu = true;
    }
  }
  const YAML::Node edges = root["edges"];
  if (edges && edges.IsSequence())
    for (const auto& e : edges)
      if (e.IsScalar()) facts.edges.push_back(e.Scalar());
  return facts;
}

// The eval.* metrics of a node row, one MetricRow each.
void add_eval_rows(const json& m, double seconds, std::vector<MetricRow>& rows) {
  const double step = number_at(m, "step").value_or(0);
  for (const auto& [key, value] : m.items())
    if (metrics::is_eval(key) && value.is_number())
      rows.push_back({step, seconds, key, value.get<double>()});
}

void read_metrics(const fs::path& file, RunRecord& run) {
  std::ifstream in(file);
  if (!in) return;
  std::vector<MetricRow> eval_rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const json m = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!m.is_object()) continue;
    const auto seconds = number_at(m, "seconds");
    if (!seconds) continue;
    const bool from_node = m.contains("node");
    if (!from_node) {
      if (const auto images = number_at(m, "images"))
        run.images_over_time.push_back({*seconds, *images});
    } else if (const auto loss = number_at(m, metrics::kLoss)) {
      run.loss_over_time.push_back({*seconds, *loss});
    } else {
      add_eval_rows(m, *seconds, eval_rows);
    }
  }
  run.evaluations = eval_curve(eval_rows);
  for (const EvalPoint& p : run.evaluations)
    run.levenshtein_over_time.push_back({p.seconds, p.levenshtein});
}

}  // namespace

std::string RunRecord::shape() const {
  std::ostringstream s;
  s << world_size << (world_size == 1 ? " rank" : " ranks");
  if (threads_per_rank > 0)
    s << " × " << threads_per_rank << (threads_per_rank == 1 ? " thread" : " threads");
  if (gpu) s << ", GPU";
  return s.str();
}

const NodeRecord* RunRecord::node(const std::string& node_name) const {
  for (const NodeRecord& n : nodes)
    if (n.name == node_name) return &n;
  return nullptr;
}

RunRecord read_run(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw ConfigError(dir + ": no such run folder");
  const fs::path summary_path = fs::path(dir) / "summary.json";
  const std::string file = summary_path.string();
  std::ifstream in(summary_path);
  if (!in)
    throw ConfigError(file + ": missing or unreadable (is '" + dir + "' a finished run folder?)");
  json summary;
  try {
    summary = json::parse(in);
  } catch (const json::exception& e) {
    throw ConfigError(file + ": not valid JSON: " + e.what());
  }
  if (!summary.is_object()) throw ConfigError(file + ": not a JSON object");

  RunRecord run;
  run.dir = dir;
  run.name = fs::path(dir).lexically_normal().filename().string();
  if (run.name.empty())
    run.name = fs::path(dir).lexically_normal().parent_path().filename().string();
  run.images = required_number(summary, "images", file);
  run.seconds = required_number(summary, "seconds", file);
  run.images_per_second = required_number(summary, "images_per_second", file);
  run.pipeline = string_at(summary, "pipeline");
  run.world_size = static_cast<int>(number_at(summary, "world_size").value_or(1));
  if (run.world_size < 1) throw ConfigError(file + ": 'world_size' must be at least 1");
  run.threads_per_rank = static_cast<int>(number_at(summary, "threads_per_rank").value_or(0));
  run.batch_size = static_cast<int>(number_at(summary, "group_size").value_or(0));
  run.steps = number_at(summary, "steps").value_or(0);
  run.loss_first = number_at(summary, "loss_first");
  run.loss_last = number_at(summary, "loss_last");
  run.bottleneck = string_at(summary, "bottleneck");
  if (summary.contains("eval")) run.levenshtein = number_at(summary["eval"], "levenshtein_mean");
  if (summary.contains("mfu") && summary["mfu"].is_object()) {
    run.gflops_per_second = number_at(summary["mfu"], "gflops_per_second");
    run.peak_fraction = number_at(summary["mfu"], "peak_fraction");
  }
  if (summary.contains("topology")) {
    const json& t = summary["topology"];
    run.cpu_model = string_at(t, "cpu_model");
    run.available_threads = static_cast<int>(number_at(t, "available_threads").value_or(0));
  }
  if (summary.contains("scaling")) {
    const json& s = summary["scaling"];
    run.scaling_efficiency = number_at(s, "efficiency");
    run.communication_seconds = number_at(s, "communication_seconds");
    run.images_per_second_per_rank = number_at(s, "images_per_second_per_rank");
  }
  if (summary.contains("nodes") && summary["nodes"].is_object()) {
    for (const auto& [name, n] : summary["nodes"].items()) {
      NodeRecord node;
      node.name = name;
      node.kind = string_at(n, "kind");
      const std::string device = string_at(n, "device");
      if (!device.empty()) node.device = device;
      node.role = string_at(n, "role");
      node.stage = string_at(n, "stage");
      if (node.stage.empty()) node.stage = stage_before_schemas_declared_it(node.kind);
      node.items = number_at(n, "items").value_or(0);
      node.busy_seconds = number_at(n, "busy_seconds").value_or(0);
      node.busy_fraction = number_at(n, "busy_fraction").value_or(0);
      node.wait_seconds = number_at(n, "wait_seconds").value_or(0);
      node.concurrency = static_cast<int>(number_at(n, "concurrency").value_or(1));
      node.gflops_per_second = number_at(n, "gflops_per_second");
      node.peak_fraction = number_at(n, "peak_fraction");
      if (node.device.rfind("cuda", 0) == 0) run.gpu = true;
      run.nodes.push_back(std::move(node));
    }
  }
  const ConfigFacts config = read_config(fs::path(dir) / "config.yaml");
  if (config.gpu) run.gpu = true;
  // Nodes in pipeline order (summary.json's object is sorted by name).
  auto position = [&config](const std::string& node_name) {
    const auto it = std::find(config.edges.begin(), config.edges.end(), node_name);
    return static_cast<std::size_t>(it - config.edges.begin());
  };
  std::stable_sort(run.nodes.begin(), run.nodes.end(),
                   [&](const NodeRecord& a, const NodeRecord& b) {
                     return position(a.name) < position(b.name);
                   });
  read_metrics(fs::path(dir) / "metrics.jsonl", run);
  return run;
}

std::vector<Point> rate_over_time(const std::vector<Point>& images, double window) {
  std::vector<Point> out;
  if (images.empty() || window <= 0) return out;
  Point last = {0, 0};
  for (const Point& p : images) {
    if (p.x - last.x < window) continue;
    out.push_back({p.x, (p.y - last.y) / (p.x - last.x)});
    last = p;
  }
  return out;
}

}  // namespace capflow::report
