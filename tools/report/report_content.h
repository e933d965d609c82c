// What `capflow report` shows, computed once from run folders, prices and the throughput model;
// rendered as Markdown (report_markdown.cpp) and as a self-contained HTML page with SVG charts
// (report_html.cpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tools/report/run_record.h"
#include "tools/report/throughput_model.h"
#include "tools/report/time_to_quality.h"

namespace capflow::report {

// USD per hour: `cpu` for one CPU core (vCPU), `gpu` for one GPU with its host.
struct Prices {
  double cpu_core_per_hour = 0.05;
  double gpu_per_hour = 2.50;
  bool given = false;  // false: the defaults above (placeholders, said so in the report)
};
// "cpu=0.05,gpu=2.5" (either may be left out); ConfigError on anything else.
Prices parse_prices(const std::string& text);

struct RunFigures {
  double images_per_second = 0;
  double epoch_seconds = 0;   // 2.42 M images at this rate
  double cost_per_epoch = 0;  // USD
  double cores = 0;           // ranks × threads per rank (CPU runs)
  std::optional<double>
      scaling_efficiency;  // recorded, or against a 1-rank run of the same threads
  TimeToQuality quality;   // the held-out evaluations against kQualityTargets
};

struct StudyRow {
  std::string setup;  // "single CPU box", "CPU cluster", "single GPU"
  bool measured = false;
  std::string from;  // the run's folder, or "throughput model (…)", or "" when nothing fills it
  std::string shape;
  double images_per_second = 0;
  double epoch_seconds = 0;
  double cost_per_epoch = 0;
};

struct ShapePrediction {
  ClusterShape shape;
  Prediction prediction;
  double cost_per_epoch = 0;
};

struct ReportOptions {
  Prices prices;
  std::vector<std::string> bench_json;  // capflow-bench JSON files: calibration and allreduce
  double link_bits_per_second = 0;      // --link for multi-host predictions (0 = 10 Gbit/s)
  double link_latency_seconds = 50e-6;
  std::vector<ClusterShape> predict;  // extra shapes asked for
  ModelOptions model;
};

struct Report {
  std::vector<RunRecord> runs;
  std::vector<RunFigures> figures;  // one per run
  Prices prices;
  std::vector<StudyRow> study;  // single CPU box, CPU cluster, single GPU
  std::optional<Calibration> calibration;
  LinkCost link;
  std::vector<ModelCheck> checks;  // the model against each measured run
  std::vector<ShapePrediction> predictions;
  std::vector<std::pair<int, double>>
      model_scaling;               // ranks → predicted efficiency (hosts = ranks)
  std::vector<std::string> notes;  // what could not be computed, and why
  ModelOptions model;
};

double cost_of(const Prices& prices, double epoch_seconds, double cores, int gpus);

// Builds the report. ConfigError for a bad bench file; a model that cannot be calibrated
// (no bench file and no 1-rank CPU run) leaves calibration empty and says so in notes.
Report build_report(std::vector<RunRecord> runs, const ReportOptions& options);

// Held-out Levenshtein against training minutes, every run with evaluations on one chart, the
// targets as guide lines: the SVG of the "Time to quality" section (report.html inline;
// time_to_quality.svg beside report.md).
std::string time_to_quality_chart(const Report& report);
bool has_evaluations(const Report& report);
// The chart's file beside report.md (report.md links to it).
inline const char* const kTimeToQualitySvg = "time_to_quality.svg";
// The section's explanation, and its text when no run evaluated on held-out data.
inline const char* const kTimeToQualityNote =
    "Held-out mean Levenshtein against training minutes (evaluation time left out where the run "
    "recorded eval.train_seconds, else wall time since the run started); a target's time is the "
    "first evaluation at or below it.";
inline const char* const kNoEvaluations =
    "No held-out evaluations in these runs (set data.val_root, and nodes.optimize.eval_every or "
    "eval_every_seconds for a curve).";

std::string render_markdown(const Report& report);
std::string render_html(const Report& report);
// Human-readable duration: "3.2 h", "41 min", "12 s", "2.1 days".
std::string format_duration(double seconds);

}  // namespace capflow::report
