// The cache of measured peaks (nodes/model/peak_cache.h) and the precision choice it feeds
// (precision_choice.h): planted entries are read back without measuring, a missing entry is
// measured once and written, and processes (here threads) that look up together agree.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "nodes/model/peak_cache.h"
#include "nodes/model/precision_choice.h"
#include "tests/test_support.h"

namespace {

namespace fs = std::filesystem;
using capflow::model::any_peak_for;
using capflow::model::MachinePeak;
using capflow::model::peak_for;
using capflow::model::PeakLookup;

class PeakCache : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = capflow::testing::make_temp_dir("peakcache");
    file_ = dir_ + "/peak.json";
    const char* before = std::getenv("CAPFLOW_PEAK_FILE");
    saved_ = before ? before : "";
    had_ = before != nullptr;
    ::setenv("CAPFLOW_PEAK_FILE", file_.c_str(), 1);
  }
  void TearDown() override {
    if (had_) {
      ::setenv("CAPFLOW_PEAK_FILE", saved_.c_str(), 1);
    } else {
      ::unsetenv("CAPFLOW_PEAK_FILE");
    }
    fs::remove_all(dir_);
  }

  static nlohmann::json entry(const std::string& cpu, int threads, double fp32, double bf16) {
    return {{"cpu_model", cpu},
            {"threads", threads},
            {"fp32_gflops", fp32},
            {"bf16_gflops", bf16},
            {"probes", {{{"name", "conv"}, {"precision", "fp32"}, {"gflops", fp32}}}},
            {"measured", "2026-12-01T00:00:00Z"}};
  }
  void plant(const nlohmann::json& entries) const {
    std::ofstream(file_) << nlohmann::json{{"entries", entries}}.dump();
  }
  nlohmann::json entries() const {
    return nlohmann::json::parse(std::ifstream(file_)).at("entries");
  }

  std::string dir_, file_, saved_;
  bool had_ = false;
};

TEST_F(PeakCache, PlantedEntriesAreReadBackWithoutMeasuring) {
  plant({entry("cpu A", 2, 312, 164), entry("cpu A", 1, 160, 80), entry("cpu B", 1, 50, 700)});
  const auto before = fs::last_write_time(file_);
  const PeakLookup two = peak_for(2, "cpu A");
  EXPECT_EQ(two.peak.threads, 2);
  EXPECT_DOUBLE_EQ(two.peak.fp32_gflops, 312);
  EXPECT_DOUBLE_EQ(two.peak.bf16_gflops, 164);
  ASSERT_EQ(two.peak.probes.size(), 1u);
  EXPECT_EQ(two.peak.probes[0].name, "conv");
  EXPECT_EQ(two.source.find("cached ("), 0u) << two.source;  // a planted entry names no one
  EXPECT_EQ(two.source.find("measured by"), std::string::npos) << two.source;
  EXPECT_NE(two.source.find("2026-12-01"), std::string::npos) << two.source;
  // Any thread count: the entry with the fewest threads.
  const PeakLookup any = any_peak_for("cpu A", 16);
  EXPECT_EQ(any.peak.threads, 1);
  EXPECT_DOUBLE_EQ(any.peak.fp32_gflops, 160);
  EXPECT_DOUBLE_EQ(any_peak_for("cpu B", 16).peak.bf16_gflops, 700);
  EXPECT_EQ(fs::last_write_time(file_), before);
  EXPECT_EQ(entries().size(), 3u);
}

TEST_F(PeakCache, AMissingEntryIsMeasuredOnceAndKeptBesideTheOthers) {
  plant(nlohmann::json::array({entry("cpu A", 1, 160, 80)}));
  const PeakLookup first = any_peak_for("cpu C", 1);
  EXPECT_EQ(first.source, "measured by this run");
  EXPECT_EQ(first.peak.threads, 1);
  EXPECT_GT(first.peak.fp32_gflops, 0.0);
  EXPECT_GT(first.peak.bf16_gflops, 0.0);
  EXPECT_EQ(entries().size(), 2u);
  const PeakLookup again = any_peak_for("cpu C", 1);
  EXPECT_NE(again.source.find("cached (measured by a run, 0.2 s probes, "), std::string::npos)
      << again.source;
  EXPECT_DOUBLE_EQ(again.peak.fp32_gflops, first.peak.fp32_gflops);
  EXPECT_DOUBLE_EQ(again.peak.bf16_gflops, first.peak.bf16_gflops);
}

TEST_F(PeakCache, LookupsThatStartTogetherMeasureOnceAndAgree) {
  PeakLookup a, b;
  std::thread t([&] { a = any_peak_for("cpu D", 1); });
  b = any_peak_for("cpu D", 1);
  t.join();
  EXPECT_DOUBLE_EQ(a.peak.fp32_gflops, b.peak.fp32_gflops);
  EXPECT_DOUBLE_EQ(a.peak.bf16_gflops, b.peak.bf16_gflops);
  EXPECT_NE((a.source + b.source).find("cached"), std::string::npos)
      << "one of them should have read the other's measurement";
  EXPECT_EQ(entries().size(), 1u);
}

TEST(Bf16Speed, Bf16IsChosenOnlyWhereItsMeasuredPeakIsAboveFp32s) {
  // An Intel Xeon with AVX512-BF16 and no AMX (2026-12-01): fp32 faster.
  MachinePeak xeon;
  xeon.fp32_gflops = 311.6;
  xeon.bf16_gflops = 164.3;
  EXPECT_FALSE(capflow::model::bf16_beats_fp32(xeon));
  // An AMD EPYC with AVX512-BF16 (2026-11-30): bf16 faster.
  MachinePeak epyc;
  epyc.fp32_gflops = 146.8;
  epyc.bf16_gflops = 759.1;
  EXPECT_TRUE(capflow::model::bf16_beats_fp32(epyc));
  MachinePeak tie;
  tie.fp32_gflops = tie.bf16_gflops = 100;
  EXPECT_FALSE(capflow::model::bf16_beats_fp32(tie));
}

}  // namespace
