// The progress line of `capflow run`: epoch % and the ETA from the nearest limit.
#include <gtest/gtest.h>

#include "tools/cli/progress_line.h"

using capflow::cli::eta_seconds;
using capflow::cli::format_progress;
using capflow::cli::ProgressFigures;

TEST(ProgressLine, ShowsLossEpochPercentAndEta) {
  ProgressFigures f;
  f.seconds = 100;
  f.images = 1000;  // 10 images/s
  f.epoch = 0;
  f.epoch_images = 4000;
  f.epochs = 2;
  f.have_loss = true;
  f.loss = 3.21;
  f.step = 31;
  EXPECT_DOUBLE_EQ(eta_seconds(f), 700);  // 7,000 images left at 10/s
  const std::string line = format_progress(f);
  EXPECT_NE(line.find("10.0 images/s"), std::string::npos) << line;
  EXPECT_NE(line.find("loss 3.2100"), std::string::npos) << line;
  EXPECT_NE(line.find("epoch 0 (25%)"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA 11 min 40 s"), std::string::npos) << line;
}

TEST(ProgressLine, NearestLimitWinsAndUnknownMeansNoEta) {
  ProgressFigures f;
  f.seconds = 10;
  f.images = 100;
  EXPECT_LT(eta_seconds(f), 0);
  EXPECT_EQ(format_progress(f).find("ETA"), std::string::npos);
  f.planned_images = 320;  // 22 s at 10/s
  f.max_seconds = 20;      // 10 s
  EXPECT_DOUBLE_EQ(eta_seconds(f), 10);
  f.max_seconds = 0;
  EXPECT_DOUBLE_EQ(eta_seconds(f), 22);
}
