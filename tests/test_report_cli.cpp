// `capflow report` end to end on two small recorded runs written here: report.md and
// report.html with the study table; bad run folders give exit status 2 naming the file; the
// throughput model answers --predict.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/recorded_runs.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using capflow::testing::read_text;
using capflow::testing::run_command;

namespace {

const std::string kBin = CAPFLOW_BINARY;

class ReportCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = capflow::testing::make_temp_dir("reportcli");
    capflow::testing::RecordedRun one;
    one.seconds = 106.2;
    one.encode = 26.5, one.lstm = 27.4, one.backward = 45.3, one.optimize = 3.9, one.decode = 1.3,
    one.augment = 0.5;
    capflow::testing::write_recorded_run(dir_ + "/one-rank", one);
    capflow::testing::RecordedRun two = one;
    two.world_size = 2;
    two.threads_per_rank = 1;
    two.seconds = 120;
    two.with_scaling = true;
    two.reduce = 6;
    capflow::testing::write_recorded_run(dir_ + "/two-ranks", two);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static inline std::string dir_;
};

TEST_F(ReportCli, WritesMarkdownAndHtmlWithTheStudyTable) {
  const auto r = run_command(kBin + " report " + dir_ + "/one-rank " + dir_ + "/two-ranks --out " +
                             dir_ + "/report --price cpu=0.05,gpu=2.5");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("single CPU box"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("largest error"), std::string::npos) << r.output;
  const std::string md = read_text(dir_ + "/report/report.md");
  EXPECT_NE(md.find("| single CPU box |"), std::string::npos);
  EXPECT_NE(md.find("measured: " + dir_ + "/two-ranks"), std::string::npos) << md;
  EXPECT_NE(md.find("| single GPU |"), std::string::npos);
  EXPECT_NE(md.find("## Time to quality"), std::string::npos) << md;
  EXPECT_NE(r.output.find("time to quality"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(dir_ + "/report/time_to_quality.svg"));  // report.md links to it
  const std::string html = read_text(dir_ + "/report/report.html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST_F(ReportCli, BadRunFoldersExitTwoNamingTheFile) {
  auto r = run_command(kBin + " report " + dir_ + "/nowhere --out " + dir_ + "/r2");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find(dir_ + "/nowhere"), std::string::npos) << r.output;
  fs::create_directories(dir_ + "/broken");
  capflow::testing::write_text(dir_ + "/broken/summary.json", "{ not json");
  r = run_command(kBin + " report " + dir_ + "/broken --out " + dir_ + "/r2");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("broken/summary.json"), std::string::npos) << r.output;
  r = run_command(kBin + " report " + dir_ + "/one-rank --price cpu=cheap --out " + dir_ + "/r2");
  EXPECT_EQ(r.status, 2) << r.output;
}

TEST_F(ReportCli, PredictsAClusterShape) {
  const auto r =
      run_command(kBin + " report " + dir_ + "/one-rank --out " + dir_ +
                  "/r3 --predict hosts=4,cores=2,link=1gbit --predict hosts=1,cores=2,gpu");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("4 hosts × 2 cores, 1 Gbit/s"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("GPU speed-up assumed"), std::string::npos) << r.output;
}

}  // namespace
