// The report as one self-contained HTML page (report.html): the Markdown's tables plus inline
// SVG charts; no scripts, no fonts or styles from the network.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "tools/report/report_content.h"
#include "tools/report/report_tables.h"
#include "tools/report/svg_chart.h"

namespace capflow::report {

namespace {

void write_table(std::ostringstream& out, const Table& t) {
  out << "<table>\n<tr>";
  for (const auto& h : t.header) out << "<th>" << escape_xml(h) << "</th>";
  out << "</tr>\n";
  for (const auto& row : t.rows) {
    out << "<tr>";
    for (const auto& c : row) out << "<td>" << escape_xml(c) << "</td>";
    out << "</tr>\n";
  }
  out << "</table>\n";
}

const char* kStyle =
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:0.6em 0 1.2em}th,td{border:1px solid #ccc;padding:3px "
    "8px;"
    "font-size:13px;text-align:left}th{background:#f3f3f3}svg{display:block;margin:0.8em 0}"
    ".note{color:#555;font-size:13px}";

void write_time_to_quality(std::ostringstream& out, const Report& r) {
  out << "<h2>Time to quality</h2>\n";
  if (!has_evaluations(r)) {
    out << "<p>" << escape_xml(kNoEvaluations) << "</p>\n";
    return;
  }
  out << "<p class=\"note\">" << escape_xml(kTimeToQualityNote) << "</p>\n";
  out << time_to_quality_chart(r);
  write_table(out, time_to_quality_table(r));
}

}  // namespace

bool has_evaluations(const Report& report) {
  for (const RunRecord& run : report.runs)
    if (!run.evaluations.empty()) return true;
  return false;
}

std::string time_to_quality_chart(const Report& report) {
  std::vector<Series> series;
  for (const RunRecord& run : report.runs) {
    if (run.evaluations.empty()) continue;
    Series s{run.name, {}, false, false};
    for (const EvalPoint& p : run.evaluations) s.points.emplace_back(p.seconds / 60, p.levenshtein);
    series.push_back(std::move(s));
  }
  return line_chart_svg("Held-out Levenshtein against training time", series, "training minutes",
                        "mean Levenshtein", true, kQualityTargets);
}

namespace {

void write_study(std::ostringstream& out, const Report& r) {
  out << "<h2>The study: single CPU box, CPU cluster, single GPU</h2>\n";
  write_table(out, study_table(r));
  std::vector<Bar> ips, epoch, cost;
  for (const StudyRow& row : r.study) {
    if (row.from.empty()) continue;
    const std::string note = row.measured ? "measured" : "model";
    ips.push_back({row.setup, row.images_per_second, note});
    epoch.push_back({row.setup, row.epoch_seconds / 3600, note});
    cost.push_back({row.setup, row.cost_per_epoch, note});
  }
  out << bar_chart_svg("Images per second", ips, "images/s", 1)
      << bar_chart_svg("Epoch time, 2.42 M images", epoch, "h", 1)
      << bar_chart_svg("Cost per epoch", cost, "USD", 2);
}

void write_runs(std::ostringstream& out, const Report& r) {
  out << "<h2>Runs</h2>\n";
  write_table(out, runs_table(r));
  std::vector<Bar> ips, epoch, cost;
  for (std::size_t i = 0; i < r.runs.size(); ++i) {
    ips.push_back({r.runs[i].name, r.figures[i].images_per_second, r.runs[i].shape()});
    epoch.push_back({r.runs[i].name, r.figures[i].epoch_seconds / 3600, ""});
    cost.push_back({r.runs[i].name, r.figures[i].cost_per_epoch, ""});
  }
  out << bar_chart_svg("Images per second by run", ips, "images/s", 2)
      << bar_chart_svg("Epoch time by run (2.42 M images)", epoch, "h", 1)
      << bar_chart_svg("Cost per epoch by run", cost, "USD", 2);
  std::vector<Series> rate, loss, lev;
  for (const RunRecord& run : r.runs) {
    Series s{run.name, {}, false, false};
    const double window = std::max(15.0, run.seconds / 60);  // several steps per point
    for (const Point& p : rate_over_time(run.images_over_time, window))
      s.points.emplace_back(p.x / 60, p.y);
    rate.push_back(s);
    Series l{run.name, {}, false, false};
    for (const Point& p : run.loss_over_time) l.points.emplace_back(p.x / 60, p.y);
    loss.push_back(l);
    Series v{run.name, {}, true, false};
    for (const Point& p : run.levenshtein_over_time) v.points.emplace_back(p.x / 60, p.y);
    lev.push_back(v);
  }
  out << line_chart_svg("Images per second over time", rate, "minutes", "images/s")
      << line_chart_svg("Training loss over time", loss, "minutes", "loss")
      << line_chart_svg("Held-out Levenshtein over time", lev, "minutes", "mean Levenshtein");
}

void write_scaling(std::ostringstream& out, const Report& r) {
  out << "<h2>Scaling efficiency against ranks</h2>\n";
  std::vector<Series> series;
  Series measured{"measured", {}, true, false};
  for (std::size_t i = 0; i < r.runs.size(); ++i) {
    if (r.runs[i].world_size == 1 && !r.runs[i].gpu)
      measured.points.emplace_back(1, 100);
    else if (r.figures[i].scaling_efficiency)
      measured.points.emplace_back(r.runs[i].world_size, 100 * *r.figures[i].scaling_efficiency);
  }
  series.push_back(measured);
  Series model{"model (hosts, link)", {}, false, true};
  for (const auto& [n, e] : r.model_scaling) model.points.emplace_back(n, 100 * e);
  series.push_back(model);
  out << line_chart_svg("Scaling efficiency: throughput(N) / (N × throughput(1))", series, "ranks",
                        "efficiency %");
}

void write_nodes(std::ostringstream& out, const Report& r) {
  out << "<h2>Per-node utilisation</h2>\n";
  for (const RunRecord& run : r.runs) {
    if (run.nodes.empty()) continue;
    std::vector<Bar> bars;
    for (const NodeRecord& n : run.nodes)
      bars.push_back({n.name, 100 * n.busy_fraction, n.name == run.bottleneck ? "bottleneck" : ""});
    out << bar_chart_svg("Busy % per node: " + run.name, bars, "%", 1);
    write_table(out, node_table(run));
  }
}

void write_list(std::ostringstream& out, const std::vector<std::string>& items) {
  out << "<ul>";
  for (const auto& item : items) out << "<li>" << escape_xml(item) << "</li>";
  out << "</ul>\n";
}

void write_throughput_model(std::ostringstream& out, const Report& r) {
  out << "<h2>Throughput model</h2>\n";
  if (!r.calibration) {
    out << "<p>Not calibrated (give <code>--bench FILE</code> from capflow-bench, or a 1-rank CPU "
           "run).</p>\n";
    return;
  }
  write_table(out, calibration_table(*r.calibration));
  out << "<p>Allreduce: " << escape_xml(r.link.source) << " → "
      << escape_xml(format_number(r.link.bytes_per_second / 1e6, 0)) << " MB/s effective, "
      << escape_xml(format_number(r.link.latency_seconds * 1e6, 0)) << " µs latency.</p>\n";
  if (!r.calibration->notes.empty()) write_list(out, r.calibration->notes);
  if (!r.checks.empty()) {
    out << "<h3>Checked against the measured runs</h3>\n";
    write_table(out, checks_table(r));
    double worst = 0;
    for (const auto& c : r.checks) worst = std::max(worst, std::fabs(c.relative_error));
    out << "<p>Largest error: " << escape_xml(format_number(100 * worst, 1)) << " % (stated bound ±"
        << escape_xml(format_number(100 * kStatedRelativeError, 0)) << " %)</p>\n";
  }
  out << "<h3>Predicted cluster shapes</h3>\n";
  write_table(out, predictions_table(r));
}

}  // namespace

std::string render_html(const Report& r) {
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>capflow "
         "report</title>\n"
      << "<style>" << kStyle << "</style>\n</head>\n<body>\n<h1>capflow report</h1>\n";
  out << "<p class=\"note\">Epoch time extrapolated to the 2.42 M BMS training images; cost per "
         "epoch at "
      << escape_xml(format_number(r.prices.cpu_core_per_hour, 3)) << " USD per core-hour (CPU) and "
      << escape_xml(format_number(r.prices.gpu_per_hour, 2)) << " USD per GPU-hour"
      << (r.prices.given ? "" : " (placeholders: set --price)") << ".</p>\n";
  write_study(out, r);
  write_runs(out, r);
  write_time_to_quality(out, r);
  write_scaling(out, r);
  write_nodes(out, r);
  write_throughput_model(out, r);
  if (!r.notes.empty()) {
    out << "<h2>Notes</h2>\n";
    write_list(out, r.notes);
  }
  out << "</body>\n</html>\n";
  return out.str();
}

}  // namespace capflow::report
