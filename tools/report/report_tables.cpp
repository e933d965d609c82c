// Report tables.
#include "tools/report/report_tables.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tools/report/svg_chart.h"

namespace capflow::report {

namespace {

std::string num(double v, int decimals) { return format_number(v, decimals); }
std::string usd(double v) { return v > 0 ? "$" + format_number(v, v < 10 ? 2 : 0) : "–"; }
std::string pct(double v) { return format_number(100 * v, 1) + " %"; }
std::string signed_pct(double v) { return (v >= 0 ? "+" : "") + format_number(100 * v, 1) + " %"; }
std::string opt(const std::optional<double>& v, int decimals) {
  return v ? num(*v, decimals) : "–";
}

// Which clock a run's evaluation times are on: "training", "wall", or "training, wall from step N".
std::string clock_of(const std::vector<EvalPoint>& curve) {
  const auto wall =
      std::find_if(curve.begin(), curve.end(), [](const EvalPoint& p) { return !p.train_seconds; });
  if (wall == curve.end()) return "training";
  if (wall == curve.begin() &&
      std::none_of(curve.begin(), curve.end(), [](const EvalPoint& p) { return p.train_seconds; }))
    return "wall";
  return "training, wall from step " + num(wall->step, 0);
}

}  // namespace

Table runs_table(const Report& report) {
  Table t;
  t.header = {"run",          "pipeline",          "shape",       "images",         "seconds",
              "images/s",     "GFLOP/s",           "% of peak",   "epoch (2.42 M)", "cost/epoch",
              "scaling eff.", "loss first → last", "Levenshtein", "bottleneck"};
  for (std::size_t i = 0; i < report.runs.size(); ++i) {
    const RunRecord& run = report.runs[i];
    const RunFigures& f = report.figures[i];
    t.rows.push_back(
        {run.dir, run.pipeline.empty() ? "–" : run.pipeline, run.shape(), num(run.images, 0),
         num(run.seconds, 1), num(f.images_per_second, 2), opt(run.gflops_per_second, 1),
         run.peak_fraction ? pct(*run.peak_fraction) : "–", format_duration(f.epoch_seconds),
         usd(f.cost_per_epoch), f.scaling_efficiency ? pct(*f.scaling_efficiency) : "–",
         opt(run.loss_first, 3) + " → " + opt(run.loss_last, 3), opt(run.levenshtein, 2),
         run.bottleneck.empty() ? "–" : run.bottleneck});
  }
  return t;
}

Table study_table(const Report& report) {
  Table t;
  t.header = {"setup", "images/s", "epoch (2.42 M images)", "cost per epoch", "shape", "from"};
  for (const StudyRow& row : report.study) {
    if (row.from.empty()) {
      t.rows.push_back(
          {row.setup, "–", "–", "–", row.shape, "no measured run, no model calibration"});
      continue;
    }
    t.rows.push_back({row.setup, num(row.images_per_second, 2), format_duration(row.epoch_seconds),
                      usd(row.cost_per_epoch), row.shape,
                      row.measured ? "measured: " + row.from : "predicted: " + row.from});
  }
  return t;
}

Table node_table(const RunRecord& run) {
  Table t;
  t.header = {"node",   "kind",    "device", "items",   "busy s",
              "busy %", "items/s", "wait s", "GFLOP/s", "% of peak"};
  for (const NodeRecord& n : run.nodes)
    t.rows.push_back({n.name + (n.name == run.bottleneck ? " (bottleneck)" : ""), n.kind, n.device,
                      num(n.items, 0), num(n.busy_seconds, 2), pct(n.busy_fraction),
                      num(run.seconds > 0 ? n.items / run.seconds : 0, 2), num(n.wait_seconds, 2),
                      opt(n.gflops_per_second, 1), n.peak_fraction ? pct(*n.peak_fraction) : "–"});
  return t;
}

Table calibration_table(const Calibration& c) {
  Table t;
  t.header = {"input", "value"};
  t.rows.push_back({"source", c.source});
  t.rows.push_back({"threads of the figures", std::to_string(c.threads)});
  t.rows.push_back({"batch per rank", std::to_string(c.batch)});
  t.rows.push_back({"model span (encode … optimize, forward + backward)",
                    num(c.model_seconds_per_image * 1e3, 1) + " ms/image"});
  t.rows.push_back({"data nodes (decode, augment, collate)",
                    num(c.data_seconds_per_image * 1e3, 2) + " ms/image (1 thread)"});
  t.rows.push_back({"optimizer step", c.optimizer_seconds_per_step > 0
                                          ? num(c.optimizer_seconds_per_step * 1e3, 1) + " ms/step"
                                          : "in the model span, or not measured"});
  t.rows.push_back({"Amdahl serial fraction", pct(c.serial_fraction)});
  t.rows.push_back(
      {"GPU model span", c.gpu_model_seconds_per_image > 0
                             ? num(c.gpu_model_seconds_per_image * 1e3, 2) + " ms/image (measured)"
                             : "not measured"});
  return t;
}

Table checks_table(const Report& report) {
  Table t;
  t.header = {"run", "shape", "measured images/s", "predicted images/s", "error"};
  for (const ModelCheck& c : report.checks)
    t.rows.push_back({c.run, c.shape, num(c.measured_images_per_second, 2),
                      num(c.predicted_images_per_second, 2), signed_pct(c.relative_error)});
  return t;
}

Table predictions_table(const Report& report) {
  Table t;
  t.header = {"shape",          "ranks × threads", "images/s", "step s", "of which allreduce s",
              "epoch (2.42 M)", "cost per epoch"};
  for (const ShapePrediction& p : report.predictions)
    t.rows.push_back(
        {p.shape.label() + (p.prediction.gpu_assumed ? " (GPU speed-up assumed)" : ""),
         std::to_string(p.prediction.ranks) + " × " + std::to_string(p.prediction.threads_per_rank),
         num(p.prediction.images_per_second, 2), num(p.prediction.step_seconds, 3),
         num(p.prediction.communication_seconds, 3), format_duration(p.prediction.epoch_seconds),
         usd(p.cost_per_epoch)});
  return t;
}

Table time_to_quality_table(const Report& report) {
  Table t;
  t.header = {"run"};
  for (double target : kQualityTargets) t.header.push_back("Levenshtein ≤ " + num(target, 0));
  for (const char* h :
       {"final Levenshtein", "final exact %", "final valid %", "evaluations", "clock"})
    t.header.push_back(h);
  for (std::size_t i = 0; i < report.runs.size(); ++i) {
    const TimeToQuality& q = report.figures[i].quality;
    if (!q.last) continue;
    std::vector<std::string> row = {report.runs[i].dir};
    for (const TargetTime& target : q.targets) row.push_back(describe_target(target, q));
    row.push_back(num(q.last->levenshtein, 2));
    row.push_back(q.last->exact ? pct(*q.last->exact) : "–");
    row.push_back(q.last->valid ? pct(*q.last->valid) : "–");
    row.push_back(std::to_string(report.runs[i].evaluations.size()));
    row.push_back(clock_of(report.runs[i].evaluations));
    t.rows.push_back(std::move(row));
  }
  return t;
}

}  // namespace capflow::report
