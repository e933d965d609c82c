// The throughput model: calibration from benchmarks or runs, the link, the prediction.
#include "tools/report/throughput_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "graph/errors.h"

namespace capflow::report {

using nlohmann::json;

namespace {

struct BenchEntry {
  std::string name;
  double seconds_per_call = 0;  // real time
  double items_per_second = 0;
  double bytes_per_second = 0;
};

double unit_seconds(const std::string& unit) {
  if (unit == "ns") return 1e-9;
  if (unit == "us") return 1e-6;
  if (unit == "ms") return 1e-3;
  return 1.0;
}

// Per-iteration entries (or the "mean" aggregates when repetitions were asked for), averaged
// by name.
std::vector<BenchEntry> read_bench(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": missing or unreadable capflow-bench JSON");
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::exception& e) {
    throw ConfigError(path + ": not valid JSON: " + e.what());
  }
  if (!doc.is_object() || !doc.contains("benchmarks") || !doc["benchmarks"].is_array())
    throw ConfigError(path + ": no 'benchmarks' array (write it with --benchmark_format=json)");
  std::map<std::string, std::pair<BenchEntry, int>> by_name;
  std::vector<std::string> order;
  for (const json& b : doc["benchmarks"]) {
    if (!b.is_object() || !b.contains("name") || !b["name"].is_string()) continue;
    const std::string run_type = b.value("run_type", std::string("iteration"));
    if (run_type == "aggregate" && b.value("aggregate_name", std::string()) != "mean") continue;
    if (b.contains("error_occurred") && b["error_occurred"].is_boolean() &&
        b["error_occurred"].get<bool>())
      continue;
    std::string name = b.value("run_name", b["name"].get<std::string>());
    if (run_type == "aggregate") {
      // with repetitions, skip the single iterations and keep the mean
      by_name.erase(name);
    } else if (by_name.count(name) && by_name[name].second < 0) {
      continue;  // a mean was already taken
    }
    BenchEntry e;
    e.name = name;
    e.seconds_per_call =
        b.value("real_time", 0.0) * unit_seconds(b.value("time_unit", std::string("ns")));
    e.items_per_second = b.value("items_per_second", 0.0);
    e.bytes_per_second = b.value("bytes_per_second", 0.0);
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      order.push_back(name);
      by_name[name] = {e, run_type == "aggregate" ? -1 : 1};
    } else {
      auto& [sum, n] = it->second;
      sum.seconds_per_call = (sum.seconds_per_call * n + e.seconds_per_call) / (n + 1);
      sum.items_per_second = (sum.items_per_second * n + e.items_per_second) / (n + 1);
      sum.bytes_per_second = (sum.bytes_per_second * n + e.bytes_per_second) / (n + 1);
      ++n;
    }
  }
  std::vector<BenchEntry> out;
  for (const std::string& name : order)
    if (by_name.count(name)) out.push_back(by_name[name].first);
  return out;
}

// The entries of several files; a name in more than one keeps its fastest measurement.
std::vector<BenchEntry> read_benches(const std::vector<std::string>& paths) {
  std::vector<BenchEntry> out;
  for (const std::string& path : paths) {
    for (const BenchEntry& e : read_bench(path)) {
      auto it = std::find_if(out.begin(), out.end(),
                             [&](const BenchEntry& o) { return o.name == e.name; });
      if (it == out.end())
        out.push_back(e);
      else if (e.seconds_per_call > 0 &&
               (it->seconds_per_call <= 0 || e.seconds_per_call < it->seconds_per_call))
        *it = e;
    }
  }
  return out;
}

std::string joined(const std::vector<std::string>& paths) {
  std::string s;
  for (const std::string& p : paths) s += (s.empty() ? "" : ", ") + p;
  return s;
}

// "name/key:value/..." → value of key, or -1.
long arg_of(const std::string& name, const std::string& key) {
  const std::string k = "/" + key + ":";
  const auto at = name.find(k);
  if (at == std::string::npos) return -1;
  return std::strtol(name.c_str() + at + k.size(), nullptr, 10);
}

bool has_prefix(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// The entry of `family` with batch 32 and the wanted precision (falling back to the other),
// with the given thread count (or the most threads when threads < 0).
const BenchEntry* pick(const std::vector<BenchEntry>& entries, const std::string& family, bool bf16,
                       long threads = -1) {
  for (const bool want : {bf16, !bf16}) {
    const BenchEntry* best = nullptr;
    for (const BenchEntry& e : entries) {
      if (!has_prefix(e.name, family + "/") || e.items_per_second <= 0) continue;
      if (arg_of(e.name, "batch") != 32 || arg_of(e.name, "bf16") != (want ? 1 : 0)) continue;
      if (arg_of(e.name, "cl") == 0) continue;  // channels-last is the fast path the nodes take
      const long t = arg_of(e.name, "threads");
      if (threads >= 0 ? t != threads : (best != nullptr && t <= arg_of(best->name, "threads")))
        continue;
      best = &e;
    }
    if (best != nullptr) return best;
  }
  return nullptr;
}

const BenchEntry* named(const std::vector<BenchEntry>& entries, const std::string& name) {
  for (const BenchEntry& e : entries)
    if (e.name == name || has_prefix(e.name, name + "/")) return &e;
  return nullptr;
}

std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", 100 * v);
  return buf;
}

}  // namespace

std::string ClusterShape::label() const {
  std::ostringstream s;
  s << hosts << (hosts == 1 ? " host" : " hosts") << " × " << cores
    << (cores == 1 ? " core" : " cores");
  if (ranks_per_host > 1) s << ", " << ranks_per_host << " ranks/host";
  if (gpu) s << ", 1 GPU/rank";
  if (hosts > 1) {
    if (link_bits_per_second > 0)
      s << ", " << link_bits_per_second / 1e9 << " Gbit/s";
    else
      s << ", measured link";
  }
  return s.str();
}

Calibration calibration_from_bench(const std::string& path, bool bf16) {
  return calibration_from_bench(std::vector<std::string>{path}, bf16);
}

Calibration calibration_from_bench(const std::vector<std::string>& paths, bool bf16) {
  const std::vector<BenchEntry> entries = read_benches(paths);
  const std::string path = joined(paths);
  const BenchEntry* encoder = pick(entries, "BM_encoder_forward_backward", bf16);
  const BenchEntry* decoder = pick(entries, "BM_decoder_forward_backward", bf16);
  // The whole training step through the real nodes (encode → … → optimize), when measured:
  // it holds what the kernels leave out (real captions, dropout, the loss, the optimizer).
  const BenchEntry* step = pick(entries, "BM_node_train_step", bf16);
  if (step == nullptr && (encoder == nullptr || decoder == nullptr))
    throw ConfigError(path +
                      ": needs BM_node_train_step, or BM_encoder_forward_backward and "
                      "BM_decoder_forward_backward, entries with batch:32 (run capflow-bench "
                      "--benchmark_filter='node_train_step|forward_backward')");
  Calibration c;
  c.source = "capflow-bench " + path;
  c.batch = 32;
  if (step != nullptr) {
    c.threads = static_cast<int>(std::max(1L, arg_of(step->name, "threads")));
    c.model_seconds_per_image = 1 / step->items_per_second;  // optimizer step included
    c.source += " (BM_node_train_step)";
  } else {
    c.threads = static_cast<int>(std::max(1L, arg_of(encoder->name, "threads")));
    const BenchEntry* decoder_same = pick(entries, "BM_decoder_forward_backward", bf16, c.threads);
    if (decoder_same != nullptr) decoder = decoder_same;
    c.model_seconds_per_image = 1 / encoder->items_per_second + 1 / decoder->items_per_second;
    c.source += " (encoder + decoder kernels)";
    c.notes.push_back(
        "model span from the encoder and decoder kernels (no BM_node_train_step entry): "
        "expect it to be optimistic");
  }
  // Amdahl's serial fraction from the decoder at 1 and at 2+ threads: t_T / t_1 = f + (1-f)/T.
  const BenchEntry* one = pick(entries, "BM_decoder_forward_backward", bf16, 1);
  if (decoder == nullptr || decoder == one)
    decoder = pick(entries, "BM_decoder_forward_backward", bf16, c.threads);
  const long many_threads = decoder != nullptr ? arg_of(decoder->name, "threads") : 0;
  if (one != nullptr && decoder != nullptr && many_threads > 1) {
    const double ratio = one->items_per_second / decoder->items_per_second;  // t_T / t_1
    const double T = static_cast<double>(many_threads);
    const double f = (ratio - 1 / T) / (1 - 1 / T);
    c.serial_fraction = std::clamp(f, 0.0, 0.95);
    if (f > 0.95)
      c.notes.push_back(
          "the decoder ran no faster on " + std::to_string(many_threads) +
          " threads than on 1 (a disturbed measurement?): serial fraction capped at 95%");
  } else {
    c.notes.push_back("serial fraction assumed " + percent(c.serial_fraction) +
                      " (no 1-thread decoder entry)");
  }
  double data = 0;
  for (const char* name : {"BM_decode_fit_224", "BM_augment_224", "BM_collate_32"}) {
    const BenchEntry* e = named(entries, name);
    if (e != nullptr && e->items_per_second > 0)
      data += 1 / e->items_per_second;
    else
      c.notes.push_back(std::string("no ") + name + " entry: its cost left out");
  }
  c.data_seconds_per_image = data;
  if (step != nullptr) {
    // in BM_node_train_step already
  } else if (const BenchEntry* adamw = named(entries, "BM_adamw_step")) {
    c.optimizer_seconds_per_step = adamw->seconds_per_call;
  } else {
    c.notes.push_back("no BM_adamw_step entry: optimizer step left out");
  }
  return c;
}

Calibration calibration_from_run(const RunRecord& run) {
  if (run.world_size != 1 || run.gpu)
    throw ConfigError(run.dir + "/summary.json: calibration needs a 1-rank CPU run (this one: " +
                      run.shape() + ")");
  if (run.images <= 0) throw ConfigError(run.dir + "/summary.json: no images were processed");
  Calibration c;
  c.source = "run " + run.name;
  c.threads = std::max(1, run.threads_per_rank);
  c.batch = run.batch_size > 0 ? run.batch_size : 32;
  double model = 0, data = 0, optimizer = 0;
  for (const NodeRecord& n : run.nodes) {
    if (n.stage == "reduce") continue;  // communication, modelled apart
    if (n.stage == "optimizer")
      optimizer += n.busy_seconds;
    else if (n.stage == "data")
      data += n.busy_seconds;
    else
      model += n.busy_seconds;
  }
  c.model_seconds_per_image = model / run.images;
  c.data_seconds_per_image = data / run.images;
  const double steps = run.steps > 0 ? run.steps : run.images / c.batch;
  c.optimizer_seconds_per_step = steps > 0 ? optimizer / steps : 0;
  if (model <= 0)
    throw ConfigError(run.dir + "/summary.json: no model node busy time to calibrate from");
  c.notes.push_back("serial fraction assumed " + percent(c.serial_fraction) +
                    " (calibrated from one run)");
  return c;
}

void add_gpu_run(Calibration& c, const RunRecord& run) {
  if (!run.gpu || run.images <= 0) return;
  double model = 0;
  for (const NodeRecord& n : run.nodes)
    if (n.stage != "data" && n.stage != "reduce") model += n.busy_seconds;
  if (model <= 0) model = run.seconds;  // no node figures: the whole run
  c.gpu_model_seconds_per_image = model / (run.images / run.world_size);
}

std::optional<LinkCost> link_from_bench(const std::string& path) {
  return link_from_bench(std::vector<std::string>{path});
}

std::optional<LinkCost> link_from_bench(const std::vector<std::string>& paths) {
  const std::vector<BenchEntry> entries = read_benches(paths);
  const std::string path = joined(paths);
  std::vector<std::pair<double, double>> points;  // bytes, seconds
  for (const BenchEntry& e : entries) {
    if (!has_prefix(e.name, "BM_allreduce/") || e.seconds_per_call <= 0) continue;
    const double bytes = std::strtod(e.name.c_str() + std::string("BM_allreduce/").size(), nullptr);
    if (bytes > 0) points.emplace_back(bytes, e.seconds_per_call);
  }
  if (points.empty()) return std::nullopt;
  LinkCost link;
  link.source = "BM_allreduce in " + path + " (" + std::to_string(points.size()) + " sizes)";
  if (points.size() == 1) {
    link.bytes_per_second = points[0].first / points[0].second;
    return link;
  }
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& [x, y] : points) sx += x, sy += y, sxx += x * x, sxy += x * y;
  const double n = static_cast<double>(points.size());
  const double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  const double intercept = (sy - slope * sx) / n;
  if (slope <= 0) {  // noise: fall back to the largest message's rate
    const auto& big = *std::max_element(points.begin(), points.end());
    link.bytes_per_second = big.first / big.second;
    return link;
  }
  link.bytes_per_second = 1 / slope;
  link.latency_seconds = std::max(0.0, intercept / 2);
  return link;
}

double parse_link_rate(const std::string& text) {
  std::string t;
  for (char ch : text) t += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  const std::string unit = end ? std::string(end) : std::string();
  double scale = 0;
  if (unit.empty() || unit == "bit" || unit == "bps")
    scale = 1;
  else if (unit == "kbit" || unit == "kbps")
    scale = 1e3;
  else if (unit == "mbit" || unit == "mbps")
    scale = 1e6;
  else if (unit == "gbit" || unit == "gbps")
    scale = 1e9;
  if (end == t.c_str() || !(v > 0) || scale == 0)
    throw ConfigError("link rate '" + text + "': expected a rate such as 1gbit, 10gbit or 100mbit");
  return v * scale;
}

ClusterShape parse_shape(const std::string& text) {
  ClusterShape s;
  std::stringstream in(text);
  std::string part;
  auto count = [&](const std::string& key, const std::string& value) {
    char* end = nullptr;
    const long n = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || n < 1)
      throw ConfigError("--predict '" + text + "': " + key + "=" + value +
                        " is not a positive count");
    return static_cast<int>(n);
  };
  while (std::getline(in, part, ',')) {
    if (part.empty()) continue;
    const auto eq = part.find('=');
    const std::string key = part.substr(0, eq);
    const std::string value = eq == std::string::npos ? std::string() : part.substr(eq + 1);
    if (key == "gpu" && (eq == std::string::npos || value == "1" || value == "true"))
      s.gpu = true;
    else if (key == "gpu" && (value == "0" || value == "false"))
      s.gpu = false;
    else if (key == "hosts")
      s.hosts = count(key, value);
    else if (key == "cores")
      s.cores = count(key, value);
    else if (key == "ranks_per_host")
      s.ranks_per_host = count(key, value);
    else if (key == "link")
      s.link_bits_per_second = parse_link_rate(value);
    else if (key == "latency_us")
      s.link_latency_seconds = std::strtod(value.c_str(), nullptr) * 1e-6;
    else
      throw ConfigError("--predict '" + text + "': unknown key '" + key +
                        "' (expected hosts, cores, ranks_per_host, link, latency_us, gpu)");
  }
  if (s.ranks_per_host > s.cores && !s.gpu)
    throw ConfigError("--predict '" + text + "': more ranks per host than cores");
  return s;
}

Prediction predict(const Calibration& c, const LinkCost& link, const ClusterShape& shape,
                   const ModelOptions& options) {
  Prediction p;
  p.ranks = shape.hosts * shape.ranks_per_host;
  p.threads_per_rank = std::max(1, shape.cores / shape.ranks_per_host);
  const double T = p.threads_per_rank;
  const double f = c.serial_fraction;
  const double amdahl_cal = f + (1 - f) / std::max(1, c.threads);
  const double amdahl = f + (1 - f) / T;
  const double model_cpu = c.model_seconds_per_image / amdahl_cal * amdahl;
  const double optimizer = c.optimizer_seconds_per_step / amdahl_cal * amdahl;
  const double B = c.batch;
  if (shape.gpu) {
    double model_gpu = c.gpu_model_seconds_per_image;
    if (model_gpu <= 0) {
      model_gpu = (c.model_seconds_per_image + c.optimizer_seconds_per_step / B) /
                  options.assumed_gpu_speedup;
      p.gpu_assumed = true;
    }
    p.compute_seconds = std::max(B * model_gpu, B * c.data_seconds_per_image / T);
  } else {
    p.compute_seconds = B * (model_cpu + c.data_seconds_per_image / T) + optimizer;
    if (shape.ranks_per_host > 1) {
      // Ranks sharing a host share its cores, caches and memory bandwidth: together they get at
      // most what one rank with all the host's cores gets (R ranks' steps take at least R of
      // that rank's steps).
      const double C = std::max(1, shape.cores);
      const double amdahl_host = f + (1 - f) / C;
      const double one_rank_step = B * (c.model_seconds_per_image / amdahl_cal * amdahl_host +
                                        c.data_seconds_per_image / C) +
                                   c.optimizer_seconds_per_step / amdahl_cal * amdahl_host;
      p.compute_seconds = std::max(p.compute_seconds, shape.ranks_per_host * one_rank_step);
    }
  }
  const double N = p.ranks;
  if (p.ranks > 1) {
    double rate = link.bytes_per_second, latency = link.latency_seconds;
    if (shape.hosts > 1 && shape.link_bits_per_second > 0) {
      rate = shape.link_bits_per_second / 8;
      latency = shape.link_latency_seconds;
    }
    if (rate <= 0)
      throw ConfigError("the model needs an allreduce measurement or a link rate for " +
                        std::to_string(p.ranks) +
                        " ranks (--bench FILE with BM_allreduce, or --link)");
    // The 2-rank measurement is time = 2α + G/β; a ring over N ranks moves 2(N-1)/N of G.
    // (For 2 ranks 2(N-1)/N = 1: the benchmark's effective rate is used as measured.)
    p.communication_seconds =
        2 * (N - 1) / N * options.gradient_bytes / rate + 2 * (N - 1) * latency;
  }
  p.step_seconds = p.compute_seconds + p.communication_seconds;
  p.images_per_second = p.step_seconds > 0 ? N * B / p.step_seconds : 0;
  p.epoch_seconds = p.images_per_second > 0 ? options.epoch_images / p.images_per_second : 0;
  return p;
}

ClusterShape shape_of(const RunRecord& run) {
  ClusterShape s;
  s.hosts = 1;
  s.ranks_per_host = run.world_size;
  const int threads =
      run.threads_per_rank > 0 ? run.threads_per_rank : std::max(1, run.available_threads);
  s.cores = std::max(1, threads) * run.world_size;
  s.gpu = run.gpu;
  return s;
}

ModelCheck check_against(const Calibration& c, const LinkCost& link, const RunRecord& run,
                         const ModelOptions& options) {
  ModelCheck m;
  m.run = run.name;
  m.shape = run.shape();
  m.measured_images_per_second = run.images_per_second;
  m.predicted_images_per_second = predict(c, link, shape_of(run), options).images_per_second;
  m.relative_error =
      run.images_per_second > 0
          ? (m.predicted_images_per_second - run.images_per_second) / run.images_per_second
          : 0;
  return m;
}

}  // namespace capflow::report
