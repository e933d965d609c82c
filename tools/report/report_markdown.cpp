// The report as Markdown (report.md).
#include <algorithm>
#include <cmath>
#include <sstream>

#include "tools/report/report_content.h"
#include "tools/report/report_tables.h"
#include "tools/report/svg_chart.h"

namespace capflow::report {

namespace {

std::string cell(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '|')
      out += "\\|";
    else if (ch == '\n')
      out += ' ';
    else
      out += ch;
  }
  return out;
}

void write_table(std::ostringstream& out, const Table& t) {
  out << '|';
  for (const auto& h : t.header) out << ' ' << cell(h) << " |";
  out << "\n|";
  for (std::size_t i = 0; i < t.header.size(); ++i) out << " --- |";
  out << '\n';
  for (const auto& row : t.rows) {
    out << '|';
    for (const auto& c : row) out << ' ' << cell(c) << " |";
    out << '\n';
  }
  out << '\n';
}

}  // namespace

std::string render_markdown(const Report& r) {
  std::ostringstream out;
  out << "# capflow report\n\n";
  out << "Epoch time is extrapolated to the 2.42 M training images of BMS Molecular Translation at "
         "the "
         "measured (or predicted) images/s; cost per epoch = epoch hours × cores × USD per "
         "core-hour on "
         "CPUs, × GPUs × USD per GPU-hour with a GPU ("
      << format_number(r.prices.cpu_core_per_hour, 3) << " and "
      << format_number(r.prices.gpu_per_hour, 2) << " USD/h"
      << (r.prices.given ? "" : ", placeholders") << ").\n\n";

  out << "## The study: single CPU box, CPU cluster, single GPU\n\n";
  write_table(out, study_table(r));
  out << "Each row says where it comes from: a measured run folder, or the throughput model when "
         "no run "
         "of that kind was given.\n\n";

  out << "## Runs\n\n";
  write_table(out, runs_table(r));

  out << "## Time to quality\n\n";
  if (!has_evaluations(r)) {
    out << kNoEvaluations << "\n\n";
  } else {
    out << kTimeToQualityNote << "\n\n![Held-out Levenshtein against training time]("
        << kTimeToQualitySvg << ")\n\n";
    write_table(out, time_to_quality_table(r));
  }

  out << "## Per-node utilisation\n\n";
  for (const RunRecord& run : r.runs) {
    out << "### " << cell(run.dir) << "\n\n";
    if (run.nodes.empty()) {
      out << "No per-node figures in its summary.json.\n\n";
      continue;
    }
    write_table(out, node_table(run));
    if (!run.bottleneck.empty())
      out << "Bottleneck: **" << cell(run.bottleneck) << "** (highest busy %).\n\n";
  }

  out << "## Throughput model\n\n";
  if (!r.calibration) {
    out << "Not calibrated (give `--bench FILE` from capflow-bench, or a 1-rank CPU run).\n\n";
  } else {
    out << "Per rank, a step of B images takes B × (m(T) + d/T) + o(T) + allreduce on CPUs, "
           "max(B × m_gpu, B × d/T) + allreduce with a GPU; m(T) scales by Amdahl's law; a ring "
           "allreduce of "
        << format_number(r.model.gradient_bytes / 1e6, 0)
        << " MB of gradients over N ranks moves 2(N−1)/N of them. See docs/report.md.\n\n";
    write_table(out, calibration_table(*r.calibration));
    out << "Allreduce: " << cell(r.link.source) << " → "
        << format_number(r.link.bytes_per_second / 1e6, 0) << " MB/s effective, "
        << format_number(r.link.latency_seconds * 1e6, 0) << " µs latency.\n\n";
    for (const auto& note : r.calibration->notes) out << "- " << cell(note) << '\n';
    if (!r.calibration->notes.empty()) out << '\n';
    if (!r.checks.empty()) {
      out << "### Checked against the measured runs\n\n";
      write_table(out, checks_table(r));
      double worst = 0;
      for (const auto& c : r.checks) worst = std::max(worst, std::fabs(c.relative_error));
      out << "Largest error: " << format_number(100 * worst, 1) << " % (stated bound ±"
          << format_number(100 * kStatedRelativeError, 0) << " %)"
          << (worst <= kStatedRelativeError ? "." : ": **outside the stated bound**.") << "\n\n";
    }
    out << "### Predicted cluster shapes\n\n";
    write_table(out, predictions_table(r));
    out << "Predicted scaling efficiency against hosts (one rank per host): ";
    for (std::size_t i = 0; i < r.model_scaling.size(); ++i)
      out << (i ? ", " : "") << r.model_scaling[i].first << ": "
          << format_number(100 * r.model_scaling[i].second, 0) << " %";
    out << ".\n\n";
  }
  if (!r.notes.empty()) {
    out << "## Notes\n\n";
    for (const auto& note : r.notes) out << "- " << cell(note) << '\n';
    out << '\n';
  }
  return out.str();
}

}  // namespace capflow::report
