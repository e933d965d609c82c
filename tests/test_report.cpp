// The report kernels: reading run folders (and refusing broken ones, naming the file), time to
// quality (crossings, not reached, training seconds before wall seconds, no evaluations), the
// throughput model (calibration, link fit, shapes; its prediction for a measured run within its
// stated error), and the Markdown and HTML renderings of a small recorded run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>

#include "graph/errors.h"
#include "tests/recorded_runs.h"
#include "tests/test_support.h"
#include "tools/report/report_content.h"
#include "tools/report/report_tables.h"
#include "tools/report/run_record.h"
#include "tools/report/svg_chart.h"
#include "tools/report/throughput_model.h"
#include "tools/report/time_to_quality.h"

namespace fs = std::filesystem;
using namespace capflow::report;
using capflow::testing::bench_entry;
using capflow::testing::RecordedRun;
using capflow::testing::write_recorded_run;
using capflow::testing::write_text;

namespace {

// A real 1-rank run of pipelines/train-cpu.yaml on data/demo (2 threads, bf16, batch 32, 20
// steps: runs/report-1rank-2t of docs/benchmarks.md) on this project's 2-core machine...
RecordedRun measured_one_rank() {
  RecordedRun r;
  r.images = 640;
  r.seconds = 49.41;
  r.encode = 8.09;
  r.lstm = 9.70;
  r.backward = 28.32;
  r.optimize = 3.25;
  r.decode = 0.27;
  r.augment = 0.13;
  r.batch = 0.01;
  r.reduce = 0.0;
  return r;
}

// ...and capflow-bench on the same machine just before it (CAPFLOW_BENCH_DATA=data/demo):
// the training step through the nodes and the data kernels. `kernels_only` leaves out the
// node step (the calibration then sums the encoder and decoder kernels).
std::string write_bench(const std::string& dir, bool with_allreduce, bool kernels_only = true) {
  nlohmann::json benchmarks = nlohmann::json::array();
  benchmarks.push_back(bench_entry("BM_decode_fit_224", 247, "us", 4106.53));
  benchmarks.push_back(bench_entry("BM_augment_224", 80.0, "us", 12643.5));
  benchmarks.push_back(bench_entry("BM_collate_32", 58.2, "us", 563546));
  if (!kernels_only)
    benchmarks.push_back(
        bench_entry("BM_node_train_step/batch:32/bf16:1/threads:2/real_time", 2157, "ms", 14.8321));
  benchmarks.push_back(bench_entry(
      "BM_encoder_forward_backward/batch:32/bf16:1/cl:1/threads:2/real_time", 1179, "ms", 27.14));
  benchmarks.push_back(bench_entry(
      "BM_encoder_forward_backward/batch:32/bf16:0/cl:1/threads:2/real_time", 2513, "ms", 12.73));
  benchmarks.push_back(bench_entry(
      "BM_decoder_forward_backward/batch:32/bf16:1/threads:1/real_time", 1372, "ms", 23.31));
  benchmarks.push_back(bench_entry(
      "BM_decoder_forward_backward/batch:32/bf16:1/threads:2/real_time", 882, "ms", 36.28));
  benchmarks.push_back(bench_entry("BM_adamw_step/threads:2/real_time", 90, "ms", 0));
  if (with_allreduce) {
    benchmarks.push_back(bench_entry("BM_allreduce/1000000/real_time", 1.2, "ms", 0, 1e6 / 1.2e-3));
    benchmarks.push_back(bench_entry("BM_allreduce/44000000/real_time", 36, "ms", 0, 44e6 / 36e-3));
  }
  const std::string path = dir + "/bench.json";
  write_text(path,
             nlohmann::json({{"context", {{"num_cpus", 2}}}, {"benchmarks", benchmarks}}).dump(2));
  return path;
}

class Report : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = capflow::testing::make_temp_dir("report"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(Report, ReadsARecordedRun) {
  write_recorded_run(dir_ + "/one", measured_one_rank());
  const RunRecord run = read_run(dir_ + "/one");
  EXPECT_EQ(run.name, "one");
  EXPECT_EQ(run.world_size, 1);
  EXPECT_EQ(run.threads_per_rank, 2);
  EXPECT_DOUBLE_EQ(run.images, 640);
  EXPECT_FALSE(run.gpu);
  EXPECT_EQ(run.nodes.size(), 9u);
  EXPECT_EQ(run.nodes.front().name, "read");  // pipeline order, from config.yaml's edges
  EXPECT_EQ(run.nodes.back().name, "optimize");
  ASSERT_NE(run.node("backward"), nullptr);
  EXPECT_EQ(run.node("backward")->kind, "backward");
  EXPECT_EQ(run.images_over_time.size(), 10u);  // the half line at the end is skipped
  EXPECT_EQ(run.loss_over_time.size(), 10u);
  EXPECT_EQ(run.levenshtein_over_time.size(), 1u);
  ASSERT_TRUE(run.levenshtein.has_value());
  EXPECT_DOUBLE_EQ(*run.levenshtein, 80.5);
  EXPECT_EQ(run.shape(), "1 rank × 2 threads");
  EXPECT_FALSE(rate_over_time(run.images_over_time, 10).empty());
}

TEST_F(Report, CudaInConfigMakesAGpuRun) {
  RecordedRun r = measured_one_rank();
  r.gpu = true;
  write_recorded_run(dir_ + "/gpu", r);
  EXPECT_TRUE(read_run(dir_ + "/gpu").gpu);
}

TEST_F(Report, OptionalScalingFieldsAreRead) {
  RecordedRun r = measured_one_rank();
  r.world_size = 2;
  r.threads_per_rank = 1;
  r.with_scaling = true;
  r.reduce = 4;
  write_recorded_run(dir_ + "/two", r);
  const RunRecord run = read_run(dir_ + "/two");
  EXPECT_EQ(run.world_size, 2);
  EXPECT_FALSE(run.scaling_efficiency.has_value());
  ASSERT_TRUE(run.communication_seconds.has_value());
  EXPECT_DOUBLE_EQ(*run.communication_seconds, 4);
}

TEST_F(Report, ModelFlopUtilisationIsReadAndTabled) {
  RecordedRun r = measured_one_rank();
  r.with_mfu = true;
  write_recorded_run(dir_ + "/mfu", r);
  const RunRecord run = read_run(dir_ + "/mfu");
  ASSERT_TRUE(run.gflops_per_second.has_value());
  EXPECT_DOUBLE_EQ(*run.gflops_per_second, 40.0);
  ASSERT_TRUE(run.peak_fraction.has_value());
  EXPECT_DOUBLE_EQ(*run.peak_fraction, 0.05);
  const NodeRecord* encode = run.node("encode");
  ASSERT_NE(encode, nullptr);
  EXPECT_DOUBLE_EQ(encode->gflops_per_second.value_or(0), 100.0);
  const Table nodes = node_table(run);
  const auto column =
      std::find(nodes.header.begin(), nodes.header.end(), "% of peak") - nodes.header.begin();
  ASSERT_LT(static_cast<std::size_t>(column), nodes.header.size());
  bool found = false;
  for (const auto& row : nodes.rows)
    if (row[0] == "encode") found = row[static_cast<std::size_t>(column)] == "12.5 %";
  EXPECT_TRUE(found);
  // A run without the figures (older, or no model) reads as absent.
  write_recorded_run(dir_ + "/plain", measured_one_rank());
  EXPECT_FALSE(read_run(dir_ + "/plain").peak_fraction.has_value());
}

TEST_F(Report, BadRunFoldersNameTheFile) {
  try {
    read_run(dir_ + "/absent");
    FAIL() << "no error";
  } catch (const capflow::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("absent"), std::string::npos) << e.what();
  }
  fs::create_directories(dir_ + "/broken");
  write_text(dir_ + "/broken/summary.json", "{\"images\": 12, ");
  try {
    read_run(dir_ + "/broken");
    FAIL() << "no error";
  } catch (const capflow::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("broken/summary.json"), std::string::npos) << e.what();
  }
  write_text(dir_ + "/broken/summary.json", "{\"images\": 12, \"seconds\": 3}");
  try {
    read_run(dir_ + "/broken");
    FAIL() << "no error";
  } catch (const capflow::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("images_per_second"), std::string::npos) << e.what();
  }
}

TEST(ThroughputModel, ParsesShapesRatesAndPrices) {
  const ClusterShape s = parse_shape("hosts=4,cores=8,link=1gbit,gpu");
  EXPECT_EQ(s.hosts, 4);
  EXPECT_EQ(s.cores, 8);
  EXPECT_DOUBLE_EQ(s.link_bits_per_second, 1e9);
  EXPECT_TRUE(s.gpu);
  EXPECT_DOUBLE_EQ(parse_link_rate("100mbit"), 1e8);
  EXPECT_DOUBLE_EQ(parse_link_rate("25Gbit"), 25e9);
  EXPECT_THROW(parse_shape("hosts=0"), capflow::ConfigError);
  EXPECT_THROW(parse_shape("nodes=3"), capflow::ConfigError);
  EXPECT_THROW(parse_link_rate("fast"), capflow::ConfigError);
  const Prices p = parse_prices("cpu=0.04,gpu=3");
  EXPECT_DOUBLE_EQ(p.cpu_core_per_hour, 0.04);
  EXPECT_DOUBLE_EQ(p.gpu_per_hour, 3);
  EXPECT_THROW(parse_prices("tpu=1"), capflow::ConfigError);
}

TEST_F(Report, CalibratesFromBenchAndFitsTheAllreduce) {
  const std::string bench = write_bench(dir_, true);
  const Calibration c = calibration_from_bench(bench);
  EXPECT_EQ(c.threads, 2);
  EXPECT_NEAR(c.model_seconds_per_image, 1 / 27.14 + 1 / 36.28, 1e-9);
  EXPECT_GT(c.serial_fraction, 0.0);
  EXPECT_LT(c.serial_fraction, 1.0);
  EXPECT_NEAR(c.optimizer_seconds_per_step, 0.090, 1e-9);
  const auto link = link_from_bench(bench);
  ASSERT_TRUE(link.has_value());
  EXPECT_NEAR(link->bytes_per_second, 43e6 / 34.8e-3, 0.01 * 43e6 / 34.8e-3);
  EXPECT_FALSE(link_from_bench(write_bench(dir_, false)).has_value());
  write_text(dir_ + "/empty.json", "{\"benchmarks\": []}");
  EXPECT_THROW(calibration_from_bench(dir_ + "/empty.json"), capflow::ConfigError);
}

TEST_F(Report, PredictionForTheMeasuredRunIsWithinItsStatedError) {
  write_recorded_run(dir_ + "/one", measured_one_rank());
  const RunRecord run = read_run(dir_ + "/one");
  const std::string bench = write_bench(dir_, true, /*kernels_only=*/false);
  const Calibration c = calibration_from_bench(bench);
  EXPECT_NEAR(c.model_seconds_per_image, 1 / 14.8321, 1e-9);  // from the node step
  const LinkCost link = *link_from_bench(bench);
  const ModelCheck check = check_against(c, link, run);
  EXPECT_LE(std::fabs(check.relative_error), kStatedRelativeError)
      << "measured " << check.measured_images_per_second << ", predicted "
      << check.predicted_images_per_second;
}

TEST(ThroughputModel, MoreRanksMoreThroughputLessEfficiency) {
  Calibration c;
  c.model_seconds_per_image = 0.06;
  c.data_seconds_per_image = 0.0003;
  c.optimizer_seconds_per_step = 0.09;
  LinkCost link{1.25e9, 50e-6, "test"};
  ClusterShape one;
  one.cores = 2;
  ClusterShape four = one;
  four.hosts = 4;
  four.link_bits_per_second = 1e9;
  const Prediction p1 = predict(c, link, one), p4 = predict(c, link, four);
  EXPECT_EQ(p4.ranks, 4);
  EXPECT_GT(p4.images_per_second, p1.images_per_second);
  EXPECT_LT(p4.images_per_second, 4 * p1.images_per_second);
  EXPECT_GT(p4.communication_seconds, 0);
  EXPECT_NEAR(p1.epoch_seconds, kBmsTrainImages / p1.images_per_second, 1e-6);
  ClusterShape shared = one;  // two ranks on the same 2 cores: no more than one rank with both
  shared.ranks_per_host = 2;
  const Prediction ps = predict(c, link, shared);
  EXPECT_EQ(ps.threads_per_rank, 1);
  EXPECT_LE(ps.images_per_second, p1.images_per_second);
  ClusterShape gpu = one;
  gpu.gpu = true;
  const Prediction pg = predict(c, link, gpu);
  EXPECT_TRUE(pg.gpu_assumed);
  EXPECT_GT(pg.images_per_second, p1.images_per_second);
}

TEST_F(Report, RendersTheStudyFromRecordedRuns) {
  write_recorded_run(dir_ + "/one", measured_one_rank());
  RecordedRun two = measured_one_rank();
  two.world_size = 2;
  two.threads_per_rank = 1;
  two.seconds = 90;
  write_recorded_run(dir_ + "/two", two);
  std::vector<RunRecord> runs = {read_run(dir_ + "/one"), read_run(dir_ + "/two")};
  ReportOptions options;
  options.prices = parse_prices("cpu=0.05,gpu=2.5");
  const capflow::report::Report r = build_report(runs, options);
  ASSERT_EQ(r.study.size(), 3u);
  EXPECT_TRUE(r.study[0].measured);
  EXPECT_EQ(r.study[0].from, dir_ + "/one");
  EXPECT_TRUE(r.study[1].measured);
  EXPECT_EQ(r.study[1].from, dir_ + "/two");
  EXPECT_FALSE(r.study[2].measured);  // no GPU run: the model fills it
  EXPECT_NE(r.study[2].from.find("model"), std::string::npos);
  ASSERT_TRUE(r.figures[1].scaling_efficiency.has_value());
  EXPECT_NEAR(*r.figures[1].scaling_efficiency, (640 / 90.0) / (2 * 640 / 49.41), 1e-9);
  EXPECT_EQ(r.checks.size(), 2u);

  const std::string md = render_markdown(r);
  EXPECT_NE(md.find("| single CPU box |"), std::string::npos) << md;
  EXPECT_NE(md.find("| CPU cluster |"), std::string::npos);
  EXPECT_NE(md.find("| single GPU |"), std::string::npos);
  EXPECT_NE(md.find("measured: " + dir_ + "/one"), std::string::npos);
  EXPECT_NE(md.find("Largest error"), std::string::npos);

  const std::string html = render_html(r);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("Scaling efficiency"), std::string::npos);
  EXPECT_NE(html.find("Training loss over time"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);  // self-contained: no scripts
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("href=\"http"), std::string::npos);
}

// A metrics.jsonl node row as `capflow run` writes it: one metric per row.
std::string metric_row(int step, double seconds, const std::string& name, double value) {
  return nlohmann::json({{"step", step}, {"node", "optimize"}, {name, value}, {"seconds", seconds}})
             .dump() +
         "\n";
}

// An evaluation at `step`: its rows at wall `seconds`, eval.train_seconds when given.
std::string eval_rows(int step, double seconds, double levenshtein, std::optional<double> train) {
  std::string rows = metric_row(step, seconds, "eval.levenshtein_mean", levenshtein) +
                     metric_row(step, seconds, "eval.exact_match", 0.1) +
                     metric_row(step, seconds, "eval.valid_inchi_fraction", 0.5);
  if (train) rows += metric_row(step, seconds, "eval.train_seconds", *train);
  return rows;
}

std::vector<MetricRow> rows_of(const std::vector<std::pair<double, double>>& seconds_lev) {
  std::vector<MetricRow> rows;
  double step = 0;
  for (const auto& [seconds, lev] : seconds_lev)
    rows.push_back({step += 100, seconds, "eval.levenshtein_mean", lev});
  return rows;
}

TEST(TimeToQuality, CrossingIsTheFirstEvaluationAtOrBelowTheTarget) {
  const auto curve = eval_curve(rows_of({{60, 95}, {120, 60}, {180, 45}, {240, 38}, {300, 19.5}}));
  ASSERT_EQ(curve.size(), 5u);
  const TimeToQuality q = time_to_quality(curve);
  ASSERT_EQ(q.targets.size(), 4u);
  EXPECT_DOUBLE_EQ(*q.targets[0].seconds, 120);  // exactly 60 reaches 60
  EXPECT_DOUBLE_EQ(*q.targets[0].step, 200);
  EXPECT_DOUBLE_EQ(*q.targets[1].seconds, 240);
  EXPECT_DOUBLE_EQ(*q.targets[2].seconds, 300);
  EXPECT_FALSE(q.targets[3].seconds.has_value());
  EXPECT_EQ(describe_target(q.targets[1], q), "4.0 min");
  EXPECT_DOUBLE_EQ(q.last->levenshtein, 19.5);
}

TEST(TimeToQuality, NotReachedNamesTheBest) {
  const auto curve = eval_curve(rows_of({{600, 80}, {1200, 62.14}, {1800, 66}}));
  const TimeToQuality q = time_to_quality(curve, {60});
  EXPECT_FALSE(q.targets[0].seconds.has_value());
  ASSERT_TRUE(q.best.has_value());
  EXPECT_DOUBLE_EQ(q.best->levenshtein, 62.14);
  EXPECT_DOUBLE_EQ(q.last->levenshtein, 66);  // a later, worse evaluation does not undo a crossing
  EXPECT_EQ(describe_target(q.targets[0], q), "not reached, best 62.1 at 20.0 min");
  const TimeToQuality later = time_to_quality(eval_curve(rows_of({{60, 59}, {120, 70}})), {60});
  EXPECT_DOUBLE_EQ(*later.targets[0].seconds, 60);
}

TEST(TimeToQuality, TrainSecondsArePreferredOverWallSeconds) {
  std::vector<MetricRow> rows = {{100, 130, "eval.levenshtein_mean", 70},
                                 {100, 130, "eval.train_seconds", 100},
                                 {100, 130, "eval.exact_match", 0.02},
                                 {200, 260, "eval.levenshtein_mean", 55},
                                 {200, 90, "loss", 1.2}};
  const auto curve = eval_curve(rows);
  ASSERT_EQ(curve.size(), 2u);
  EXPECT_DOUBLE_EQ(curve[0].seconds, 100);
  EXPECT_TRUE(curve[0].train_seconds);
  EXPECT_DOUBLE_EQ(*curve[0].exact, 0.02);
  EXPECT_FALSE(curve[0].valid.has_value());
  EXPECT_DOUBLE_EQ(curve[1].seconds, 260);  // no eval.train_seconds at step 200: the row's seconds
  EXPECT_FALSE(curve[1].train_seconds);
}

TEST(TimeToQuality, EmptyCurveReachesNothing) {
  EXPECT_TRUE(eval_curve({{100, 5, "eval.train_seconds", 4}}).empty());  // no Levenshtein
  const TimeToQuality q = time_to_quality({});
  ASSERT_EQ(q.targets.size(), kQualityTargets.size());
  for (const TargetTime& t : q.targets) EXPECT_FALSE(t.seconds.has_value());
  EXPECT_FALSE(q.best.has_value());
  EXPECT_FALSE(q.last.has_value());
  EXPECT_EQ(describe_target(q.targets[0], q), "not reached, no evaluation");
}

TEST_F(Report, TimeToQualityFromARecordedMetricsFile) {
  write_recorded_run(dir_ + "/ttq", measured_one_rank());
  std::string metrics = metric_row(50, 40, "loss", 2.5) + eval_rows(50, 45, 75, 40.5) +
                        eval_rows(100, 95, 58, 84) + metric_row(150, 120, "loss", 1.9) +
                        eval_rows(150, 150, 39, std::nullopt);
  write_text(dir_ + "/ttq/metrics.jsonl", metrics);
  const RunRecord run = read_run(dir_ + "/ttq");
  ASSERT_EQ(run.evaluations.size(), 3u);
  ASSERT_EQ(run.levenshtein_over_time.size(), 3u);
  EXPECT_DOUBLE_EQ(run.levenshtein_over_time[0].x, 40.5);  // training seconds, not the row's 45
  EXPECT_DOUBLE_EQ(run.levenshtein_over_time[2].x, 150);
  const capflow::report::Report r = build_report({run}, ReportOptions{});
  const TimeToQuality& q = r.figures[0].quality;
  EXPECT_DOUBLE_EQ(*q.targets[0].seconds, 84);
  EXPECT_DOUBLE_EQ(*q.targets[1].seconds, 150);
  const std::string md = render_markdown(r);
  EXPECT_NE(md.find("## Time to quality"), std::string::npos) << md;
  EXPECT_NE(md.find("](time_to_quality.svg)"), std::string::npos) << md;
  EXPECT_NE(md.find("| 1.4 min | 2.5 min | not reached, best 39.0 at 2.5 min |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| 39.00 | 10.0 % | 50.0 % | 3 | training, wall from step 150 |"),
            std::string::npos)
      << md;
  const std::string html = render_html(r);
  EXPECT_NE(html.find("Held-out Levenshtein against training time"), std::string::npos);
  EXPECT_NE(html.find("stroke-dasharray=\"3 3\""), std::string::npos);  // the target lines
  EXPECT_NE(time_to_quality_chart(r).find("<svg"), std::string::npos);
}

TEST_F(Report, NoEvaluationsSaysSo) {
  write_recorded_run(dir_ + "/none", measured_one_rank());
  write_text(dir_ + "/none/metrics.jsonl", metric_row(10, 9, "loss", 3));
  const capflow::report::Report r = build_report({read_run(dir_ + "/none")}, ReportOptions{});
  EXPECT_FALSE(has_evaluations(r));
  EXPECT_NE(render_markdown(r).find("No held-out evaluations"), std::string::npos);
  EXPECT_TRUE(time_to_quality_table(r).rows.empty());
}

TEST(SvgChart, EscapesTextAndHandlesEmptyData) {
  EXPECT_EQ(escape_xml("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
  EXPECT_EQ(format_number(1234567.891, 1), "1,234,567.9");
  EXPECT_NE(bar_chart_svg("t", {}, "x").find("no data"), std::string::npos);
  EXPECT_NE(line_chart_svg("t", {}, "x", "y").find("no data"), std::string::npos);
  const std::string svg = bar_chart_svg("<b>", {{"run <1>", 3, ""}}, "images/s");
  EXPECT_EQ(svg.find("<b>"), std::string::npos);
  EXPECT_NE(svg.find("run &lt;1&gt;"), std::string::npos);
}

}  // namespace
