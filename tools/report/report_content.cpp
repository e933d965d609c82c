// Building a report: figures per run, the study table, the throughput model's checks.
#include "tools/report/report_content.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <tuple>

#include "graph/errors.h"

namespace capflow::report {

namespace {

double gpus_of(const RunRecord& run) { return run.gpu ? run.world_size : 0; }
double cores_of(const RunRecord& run) {
  const int threads =
      run.threads_per_rank > 0 ? run.threads_per_rank : std::max(1, run.available_threads);
  return static_cast<double>(threads) * run.world_size;
}

// The fastest run matching `want`, or nullptr.
template <class Want>
const RunRecord* best_run(const std::vector<RunRecord>& runs, Want want) {
  const RunRecord* best = nullptr;
  for (const RunRecord& r : runs)
    if (want(r) && (best == nullptr || r.images_per_second > best->images_per_second)) best = &r;
  return best;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

Prices parse_prices(const std::string& text) {
  Prices p;
  p.given = true;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (part.empty()) continue;
    const auto eq = part.find('=');
    const std::string key = part.substr(0, eq);
    const std::string value = eq == std::string::npos ? std::string() : part.substr(eq + 1);
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0' || v < 0)
      throw ConfigError("--price '" + text + "': '" + part + "' is not key=USD/h");
    if (key == "cpu")
      p.cpu_core_per_hour = v;
    else if (key == "gpu")
      p.gpu_per_hour = v;
    else
      throw ConfigError("--price '" + text + "': unknown key '" + key + "' (expected cpu, gpu)");
  }
  return p;
}

double cost_of(const Prices& prices, double epoch_seconds, double cores, int gpus) {
  const double hours = epoch_seconds / 3600;
  return gpus > 0 ? hours * gpus * prices.gpu_per_hour : hours * cores * prices.cpu_core_per_hour;
}

std::string format_duration(double seconds) {
  if (!(seconds > 0) || !std::isfinite(seconds)) return "–";
  if (seconds < 120) return fixed(seconds, seconds < 10 ? 1 : 0) + " s";
  if (seconds < 2 * 3600) return fixed(seconds / 60, 0) + " min";
  if (seconds < 72 * 3600) return fixed(seconds / 3600, 1) + " h";
  return fixed(seconds / 86400, 1) + " days";
}

namespace {

// Per run: speed, epoch time and cost, scaling efficiency, time to quality.
void add_run_figures(Report& r) {
  const double epoch_images = r.model.epoch_images;
  for (const RunRecord& run : r.runs) {
    RunFigures f;
    f.images_per_second = run.images_per_second;
    f.epoch_seconds = run.images_per_second > 0 ? epoch_images / run.images_per_second : 0;
    f.cores = cores_of(run);
    f.cost_per_epoch = cost_of(r.prices, f.epoch_seconds, f.cores, static_cast<int>(gpus_of(run)));
    f.scaling_efficiency = run.scaling_efficiency;
    if (!f.scaling_efficiency && run.world_size > 1) {
      // against a 1-rank run with as many threads per rank, else any 1-rank run of the kind
      const RunRecord* single = best_run(r.runs, [&](const RunRecord& o) {
        return o.world_size == 1 && o.gpu == run.gpu && o.threads_per_rank == run.threads_per_rank;
      });
      if (single == nullptr)
        single = best_run(
            r.runs, [&](const RunRecord& o) { return o.world_size == 1 && o.gpu == run.gpu; });
      if (single != nullptr && single->images_per_second > 0)
        f.scaling_efficiency = run.images_per_second / (run.world_size * single->images_per_second);
    }
    f.quality = time_to_quality(run.evaluations);
    r.figures.push_back(f);
  }
}

// The throughput model: calibration (capflow-bench JSON, else the largest 1-rank CPU run), the
// link, the GPU run, and the model checked against every run.
void calibrate(Report& r, const ReportOptions& options) {
  if (!options.bench_json.empty()) {  // several files: the fastest figure of each entry
    r.calibration = calibration_from_bench(options.bench_json);
    if (auto link = link_from_bench(options.bench_json)) r.link = *link;
  } else {
    const RunRecord* reference = nullptr;  // the 1-rank CPU run with the most images
    for (const RunRecord& run : r.runs)
      if (run.world_size == 1 && !run.gpu && !run.nodes.empty() &&
          (reference == nullptr || run.images > reference->images))
        reference = &run;
    if (reference != nullptr)
      r.calibration = calibration_from_run(*reference);
    else
      r.notes.push_back(
          "throughput model: no capflow-bench JSON (--bench) and no 1-rank CPU run to calibrate "
          "from");
  }
  if (r.link.bytes_per_second <= 0) {
    const double bits = options.link_bits_per_second > 0 ? options.link_bits_per_second : 10e9;
    r.link.bytes_per_second = bits / 8;
    r.link.latency_seconds = options.link_latency_seconds;
    r.link.source =
        fixed(bits / 1e9, bits < 1e9 ? 2 : 0) + " Gbit/s, " +
        fixed(options.link_latency_seconds * 1e6, 0) + " µs latency (" +
        (options.link_bits_per_second > 0 ? "--link" : "assumed; no BM_allreduce measurement") +
        ")";
  }
  if (!r.calibration) return;
  if (const RunRecord* g =
          best_run(r.runs, [](const RunRecord& o) { return o.gpu && o.world_size == 1; }))
    add_gpu_run(*r.calibration, *g);
  for (const RunRecord& run : r.runs)
    if (!run.gpu || r.calibration->gpu_model_seconds_per_image > 0)
      r.checks.push_back(check_against(*r.calibration, r.link, run, options.model));
}

// The shapes of the study: this box, 4 such boxes on the link, this box with a GPU.
struct StudyShapes {
  ClusterShape box, cluster, gpu;
  double link_bits_per_second = 10e9;
};

StudyShapes study_shapes(const Report& r, const ReportOptions& options) {
  StudyShapes s;
  s.box.cores = 2;
  for (const RunRecord& run : r.runs)
    if (run.available_threads > 0) {
      s.box.cores = run.available_threads;
      break;
    }
  s.link_bits_per_second = options.link_bits_per_second > 0 ? options.link_bits_per_second : 10e9;
  s.cluster = s.box;
  s.cluster.hosts = 4;
  s.cluster.link_bits_per_second = s.link_bits_per_second;
  s.gpu = s.box;
  s.gpu.gpu = true;
  return s;
}

StudyRow measured_row(const Report& r, const std::string& setup, const RunRecord& run) {
  const std::size_t i = static_cast<std::size_t>(&run - r.runs.data());
  StudyRow row;
  row.setup = setup;
  row.measured = true;
  row.from = run.dir;
  row.shape = run.shape();
  row.images_per_second = r.figures[i].images_per_second;
  row.epoch_seconds = r.figures[i].epoch_seconds;
  row.cost_per_epoch = r.figures[i].cost_per_epoch;
  return row;
}

StudyRow model_row(const Report& r, const ReportOptions& options, const std::string& setup,
                   const ClusterShape& shape) {
  StudyRow row;
  row.setup = setup;
  row.shape = shape.label();
  if (!r.calibration) return row;  // nothing fills it
  const Prediction p = predict(*r.calibration, r.link, shape, options.model);
  row.from =
      std::string("throughput model") +
      (p.gpu_assumed ? ", GPU speed-up assumed ×" + fixed(options.model.assumed_gpu_speedup, 0)
                     : std::string());
  row.images_per_second = p.images_per_second;
  row.epoch_seconds = p.epoch_seconds;
  row.cost_per_epoch =
      cost_of(r.prices, p.epoch_seconds, static_cast<double>(shape.hosts) * shape.cores,
              shape.gpu ? p.ranks : 0);
  return row;
}

// The study table: each setup measured when a run has its shape, else modelled.
void add_study(Report& r, const ReportOptions& options, const StudyShapes& shapes) {
  using Pick = bool (*)(const RunRecord&);
  const std::tuple<const char*, Pick, const ClusterShape*> setups[] = {
      {"single CPU box", [](const RunRecord& o) { return o.world_size == 1 && !o.gpu; },
       &shapes.box},
      {"CPU cluster", [](const RunRecord& o) { return o.world_size > 1 && !o.gpu; },
       &shapes.cluster},
      {"single GPU", [](const RunRecord& o) { return o.world_size == 1 && o.gpu; }, &shapes.gpu}};
  for (const auto& [setup, pick, shape] : setups) {
    if (const RunRecord* run = best_run(r.runs, pick))
      r.study.push_back(measured_row(r, setup, *run));
    else
      r.study.push_back(model_row(r, options, setup, *shape));
  }
}

// Predictions: the shapes asked for, else a small ladder of hosts; the model's scaling curve.
void add_predictions(Report& r, const ReportOptions& options, const StudyShapes& shapes) {
  if (!r.calibration) return;
  std::vector<ClusterShape> asked = options.predict;
  if (asked.empty()) {
    for (int hosts : {1, 2, 4, 8}) {
      ClusterShape s = shapes.box;
      s.hosts = hosts;
      s.link_bits_per_second = shapes.link_bits_per_second;
      asked.push_back(s);
    }
    asked.push_back(shapes.gpu);
  }
  for (const ClusterShape& s : asked) {
    ShapePrediction sp;
    sp.shape = s;
    sp.prediction = predict(*r.calibration, r.link, s, options.model);
    sp.cost_per_epoch =
        cost_of(r.prices, sp.prediction.epoch_seconds, static_cast<double>(s.hosts) * s.cores,
                s.gpu ? sp.prediction.ranks : 0);
    r.predictions.push_back(sp);
  }
  ClusterShape one = shapes.box;
  one.link_bits_per_second = shapes.link_bits_per_second;
  const double base = predict(*r.calibration, r.link, one, options.model).images_per_second;
  for (int n : {1, 2, 4, 8, 16}) {
    ClusterShape s = one;
    s.hosts = n;
    const double ips = predict(*r.calibration, r.link, s, options.model).images_per_second;
    r.model_scaling.emplace_back(n, base > 0 ? ips / (n * base) : 0);
  }
}

}  // namespace

Report build_report(std::vector<RunRecord> runs, const ReportOptions& options) {
  Report r;
  r.runs = std::move(runs);
  r.prices = options.prices;
  r.model = options.model;
  add_run_figures(r);
  calibrate(r, options);
  const StudyShapes shapes = study_shapes(r, options);
  add_study(r, options, shapes);
  add_predictions(r, options, shapes);
  if (!r.prices.given)
    r.notes.push_back("prices are placeholders (" + fixed(r.prices.cpu_core_per_hour, 3) +
                      " USD per core-hour, " + fixed(r.prices.gpu_per_hour, 2) +
                      " USD per GPU-hour); set them with --price cpu=…,gpu=…");
  return r;
}

}  // namespace capflow::report
