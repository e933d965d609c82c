// capflow report RUN_DIR... [--out DIR] [--price cpu=USD/h,gpu=USD/h] [--bench FILE.json]
//                [--link RATE] [--latency-us N] [--predict SHAPE]... [--gpu-speedup X]
//
// Reads the run folders, writes DIR/report.md, DIR/report.html (self-contained, SVG
// charts) and DIR/time_to_quality.svg, and prints the study table, the time to quality and the
// throughput model's error. With --predict (and --bench or a 1-rank run to calibrate from) it
// also prints the model's figures for the shapes.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "graph/errors.h"
#include "tools/cli/commands.h"
#include "tools/report/report_content.h"
#include "tools/report/report_tables.h"
#include "tools/report/svg_chart.h"

namespace capflow::cli {

namespace {

namespace fs = std::filesystem;

struct ReportRequest {
  std::vector<std::string> runs;
  std::string out = "runs/report";  // runs/ is where run folders live (and git ignores)
  std::string price;
  std::vector<std::string> bench;
  std::string link;
  double latency_us = 50;
  std::vector<std::string> predict;
  double gpu_speedup = 20;
  double gradient_mb = 60;
};

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw Error("cannot write " + path.string());
}

void print_table(const report::Table& t) {
  std::vector<std::size_t> width(t.header.size());
  for (std::size_t c = 0; c < t.header.size(); ++c) {
    width[c] = t.header[c].size();
    for (const auto& row : t.rows) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t c = 0; c < cells.size(); ++c)
      s += (c ? "  " : "") + cells[c] +
           std::string(width[c] - std::min(width[c], cells[c].size()), ' ');
    while (!s.empty() && s.back() == ' ') s.pop_back();
    std::printf("%s\n", s.c_str());
  };
  line(t.header);
  for (const auto& row : t.rows) line(row);
}

void run_report(const ReportRequest& o) {
  if (o.runs.empty() && o.predict.empty())
    throw ConfigError("report: give run folders (RUN_DIR...) or --predict SHAPE");
  report::ReportOptions options;
  if (!o.price.empty()) options.prices = report::parse_prices(o.price);
  options.bench_json = o.bench;
  if (!o.link.empty()) options.link_bits_per_second = report::parse_link_rate(o.link);
  options.link_latency_seconds = o.latency_us * 1e-6;
  for (const std::string& s : o.predict) {
    report::ClusterShape shape = report::parse_shape(s);
    if (shape.hosts > 1 && shape.link_bits_per_second <= 0 && options.link_bits_per_second > 0)
      shape.link_bits_per_second = options.link_bits_per_second;
    options.predict.push_back(shape);
  }
  if (!(o.gpu_speedup > 0)) throw ConfigError("--gpu-speedup must be positive");
  if (!(o.gradient_mb > 0)) throw ConfigError("--gradient-mb must be positive");
  options.model.assumed_gpu_speedup = o.gpu_speedup;
  options.model.gradient_bytes = o.gradient_mb * 1e6;

  std::vector<report::RunRecord> runs;
  for (const std::string& dir : o.runs) runs.push_back(report::read_run(dir));
  const report::Report r = report::build_report(std::move(runs), options);

  if (!r.runs.empty()) {
    std::printf("The study (epoch = 2.42 M images):\n");
    print_table(report::study_table(r));
  }
  if (r.calibration) {
    std::printf("%sthroughput model: calibrated from %s; allreduce: %s\n",
                r.runs.empty() ? "" : "\n", r.calibration->source.c_str(), r.link.source.c_str());
    double worst = 0;
    for (const auto& c : r.checks) {
      std::printf("  %s (%s): measured %.2f images/s, predicted %.2f, error %+.1f %%\n",
                  c.run.c_str(), c.shape.c_str(), c.measured_images_per_second,
                  c.predicted_images_per_second, 100 * c.relative_error);
      worst = std::max(worst, std::fabs(c.relative_error));
    }
    if (!r.checks.empty())
      std::printf("  largest error %.1f %% (stated bound ±%.0f %%)\n", 100 * worst,
                  100 * report::kStatedRelativeError);
    if (!o.predict.empty()) {
      std::printf("\npredictions:\n");
      print_table(report::predictions_table(r));
    }
  } else if (!o.predict.empty()) {
    throw ConfigError(
        "--predict needs a calibration: --bench FILE (capflow-bench JSON) or a 1-rank CPU run "
        "folder");
  }
  if (report::has_evaluations(r)) {
    std::printf("\ntime to quality (held-out Levenshtein):\n");
    print_table(report::time_to_quality_table(r));
  }
  for (const auto& note : r.notes) std::printf("note: %s\n", note.c_str());

  if (!r.runs.empty()) {
    std::error_code ec;
    fs::create_directories(o.out, ec);
    if (ec) throw Error("cannot create " + o.out + ": " + ec.message());
    write_file(fs::path(o.out) / "report.md", report::render_markdown(r));
    write_file(fs::path(o.out) / "report.html", report::render_html(r));
    std::printf("\nwrote %s and %s\n", (fs::path(o.out) / "report.md").c_str(),
                (fs::path(o.out) / "report.html").c_str());
    if (report::has_evaluations(r)) {  // report.md links to the time-to-quality chart
      const fs::path chart = fs::path(o.out) / report::kTimeToQualitySvg;
      write_file(chart, report::time_to_quality_chart(r));
      std::printf("wrote %s\n", chart.c_str());
    }
  }
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto o = std::make_shared<ReportRequest>();
  auto* cmd =
      app.add_subcommand("report", "Report on run folders: study table, charts, throughput model");
  cmd->add_option("runs", o->runs, "Run folders (RUN_DIR with summary.json)");
  cmd->add_option("--out", o->out, "Folder for report.md, report.html and time_to_quality.svg")
      ->capture_default_str();
  cmd->add_option("--price", o->price,
                  "USD per hour: cpu=PER_CORE,gpu=PER_GPU (default cpu=0.05,gpu=2.5)");
  cmd->add_option(
         "--bench", o->bench,
         "capflow-bench JSON (--benchmark_out) to calibrate the model and its allreduce from "
         "(repeatable: each entry's fastest figure counts)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--link", o->link,
                  "Link between hosts for the model: 1gbit, 10gbit, 100mbit... (default 10gbit)");
  cmd->add_option("--latency-us", o->latency_us, "Link latency for the model, microseconds")
      ->capture_default_str();
  cmd->add_option("--predict", o->predict,
                  "A cluster shape for the model: "
                  "hosts=4,cores=2[,link=1gbit][,ranks_per_host=1][,latency_us=50][,gpu] "
                  "(repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--gpu-speedup", o->gpu_speedup,
                  "Model span speed-up of a GPU over this CPU, when no GPU run is given")
      ->capture_default_str();
  cmd->add_option("--gradient-mb", o->gradient_mb, "Gradient bytes per allreduce, MB")
      ->capture_default_str();
  cmd->callback([o] { run_report(*o); });
}

}  // namespace capflow::cli
