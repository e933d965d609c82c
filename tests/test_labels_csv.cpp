#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "graph/errors.h"
#include "nodes/io/labels_csv.h"
#include "tests/test_support.h"

namespace {

TEST(LabelsCsv, QuotedAndUnquotedRowsRoundTrip) {
  const std::string inchi = "InChI=1S/C2H4O2/c1-2(3)4/h1H3,(H,3,4)";
  const auto path = capflow::testing::write_temp_file(
      "labels.csv", std::string(capflow::io::kLabelsHeader) + "\n" +
                        capflow::io::format_label_line("00000000abcd", inchi) + "00000000abce," +
                        inchi + "\r\n");
  const auto rows = capflow::io::read_labels_csv(path);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].image_id, "00000000abcd");
  EXPECT_EQ(rows[0].inchi, inchi);
  EXPECT_EQ(rows[1].inchi, inchi);
  EXPECT_EQ(rows[1].line, 3u);
  std::filesystem::remove(path);
}

TEST(LabelsCsv, ErrorsNameFileAndLine) {
  const auto bad_header = capflow::testing::write_temp_file("bad_header.csv", "id,label\nx,y\n");
  EXPECT_THROW(capflow::io::read_labels_csv(bad_header), capflow::ConfigError);
  const auto bad_row =
      capflow::testing::write_temp_file("bad_row.csv", "image_id,InChI\nabc,\"InChI=1S/CH4\n");
  try {
    capflow::io::read_labels_csv(bad_row);
    FAIL();
  } catch (const capflow::DataError& e) {
    EXPECT_NE(std::string(e.what()).find(bad_row + ":2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(capflow::io::read_labels_csv("/nonexistent/labels.csv"), capflow::ConfigError);
  std::filesystem::remove(bad_header);
  std::filesystem::remove(bad_row);
}

}  // namespace
