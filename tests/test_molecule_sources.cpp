#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "graph/errors.h"
#include "tests/test_support.h"
#include "tools/data/molecule_sources.h"

using namespace capflow::data;

namespace {

TEST(MoleculeSources, SmilesFileFirstTokenPerLine) {
  const auto p = capflow::testing::write_temp_file(
      "m.smi", "SMILES Name\nCCO ethanol\n# comment\n\nc1ccccc1\t2\n");
  const auto r = read_molecule_file(p);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].text, "CCO");
  EXPECT_EQ(r[0].origin, p + ":2");
  EXPECT_EQ(r[1].text, "c1ccccc1");
  std::filesystem::remove(p);
}

TEST(MoleculeSources, CsvByHeaderNameOrFirstColumn) {
  const auto named = capflow::testing::write_temp_file(
      "named.csv", "id,Smiles,weight\n1,\"CC(=O)O\",60\n2,CCN,45\n");
  const auto r = read_molecule_file(named);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].text, "CC(=O)O");
  EXPECT_EQ(r[1].origin, named + ":3");
  const auto plain =
      capflow::testing::write_temp_file("plain.csv", "\"N(C)C\",\"X-1\"\n\"CCCl\",\"X-2\"\n");
  const auto q = read_molecule_file(plain);
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[1].text, "CCCl");
  std::filesystem::remove(named);
  std::filesystem::remove(plain);
}

TEST(MoleculeSources, SdfRecordsAreMolblocks) {
  const std::string block =
      "\n  test\n\n  1  0  0  0  0  0  0  0  0  0999 V2000\n"
      "    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\nM  END\n";
  const auto p = capflow::testing::write_temp_file(
      "m.sdf", block + "> <name>\nmethane\n\n$$$$\n" + block + "$$$$\n");
  const auto r = read_molecule_file(p);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].format, MoleculeFormat::kMolblock);
  EXPECT_EQ(r[0].text, block);
  EXPECT_EQ(r[1].origin, p + ":11");
  std::filesystem::remove(p);
}

TEST(MoleculeSources, MissingOrUnknownFilesAreConfigErrorsNamingThem) {
  try {
    read_molecule_file("/nonexistent/molecules.smi");
    FAIL();
  } catch (const capflow::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/molecules.smi"), std::string::npos);
  }
  const auto p = capflow::testing::write_temp_file("m.xyz", "C 0 0 0\n");
  EXPECT_THROW(read_molecule_file(p), capflow::ConfigError);
  std::filesystem::remove(p);
}

TEST(MoleculeSources, DefaultListsExist) {
  for (const auto& f : default_molecule_files()) {
    EXPECT_TRUE(std::filesystem::exists(f)) << f;
    EXPECT_GT(read_molecule_file(f).size(), 4000u) << f;
  }
}

}  // namespace
