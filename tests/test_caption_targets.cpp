// What a captioner learns per sample: InChI labels as they are, SMILES from the side file by
// image id, else converted from the InChI.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "graph/errors.h"
#include "nodes/batch/caption_targets.h"
#include "nodes/io/labels_csv.h"
#include "tests/test_support.h"

namespace capflow::batch {
namespace {

const std::string kEthanol = "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3";
const std::string kMethane = "InChI=1S/CH4/h1H4";

io::SampleRef sample(const std::string& id, const std::string& label) {
  io::SampleRef s;
  s.id = id;
  s.path = "/data/" + id + ".png";
  s.label = label;
  return s;
}

std::vector<io::LabelRow> rows() { return {{"aaa", kEthanol, 2}, {"bbb", kMethane, 3}}; }

TEST(CaptionTargets, InchiTargetsAreTheLabels) {
  const CaptionTargets t;
  EXPECT_EQ(t.notation(), text::Notation::kInchi);
  EXPECT_EQ(t.text_of(sample("aaa", kEthanol)), kEthanol);
}

TEST(CaptionTargets, SmilesComeFromTheSideFileElseFromTheInchi) {
  const std::string dir = testing::make_temp_dir("targets");
  const std::string side = dir + "/" + io::kSmilesFile;
  {
    std::ofstream f(side);
    f << io::kSmilesHeader << '\n' << io::format_label_line("aaa", "OCC");  // as drawn
  }
  const CaptionTargets t(rows(), dir + "/train_labels.csv", side);
  EXPECT_EQ(t.notation(), text::Notation::kSmiles);
  EXPECT_EQ(t.texts(), (std::vector<std::string>{"OCC", "C"}));
  EXPECT_EQ(t.from_file(), 1u);
  EXPECT_EQ(t.converted(), 1u);
  EXPECT_EQ(t.text_of(sample("aaa", kEthanol)), "OCC");
  EXPECT_EQ(t.text_of(sample("bbb", kMethane)), "C");
  EXPECT_EQ(t.text_of(sample("zzz", kEthanol)), "CCO");  // not in the labels: converted now
  EXPECT_EQ(t.text_of(sample("zzz", "")), "");           // unlabelled
  // Without a side file every label is converted.
  const CaptionTargets none(rows(), "labels.csv", dir + "/absent.csv");
  EXPECT_EQ(none.texts(), (std::vector<std::string>{"CCO", "C"}));
  // Sample by sample.
  const CaptionTargets lookup(text::Notation::kSmiles, side);
  EXPECT_EQ(lookup.text_of(sample("aaa", kEthanol)), "OCC");
  EXPECT_EQ(lookup.text_of(sample("bbb", kMethane)), "C");
  std::filesystem::remove_all(dir);
}

TEST(CaptionTargets, AnUnconvertibleLabelNamesItsLine) {
  const std::vector<io::LabelRow> bad = {{"aaa", kEthanol, 2}, {"bbb", "InChI=1S/garbage", 3}};
  try {
    CaptionTargets t(bad, "train_labels.csv", "");
    FAIL() << "expected a DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("train_labels.csv:3"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace capflow::batch
