// The atom-positions side file: classes, text form, mapping and the file reader.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "graph/errors.h"
#include "nodes/io/atom_positions.h"
#include "tests/test_support.h"

using namespace capflow::io;

TEST(AtomPositions, ClassesPutCarbonLowestAndKeepOtherElementsApart) {
  EXPECT_EQ(atom_class("C"), kCarbon);
  EXPECT_EQ(atom_class("Cl"), kChlorine);
  EXPECT_EQ(atom_class("Br"), kBromine);
  EXPECT_EQ(atom_class("H"), kHydrogen);
  EXPECT_EQ(atom_class("Si"), kOtherElement);
  EXPECT_EQ(atom_class("c"), kOtherElement);  // symbols, not SMILES aromatic atoms
  for (int c = kNitrogen; c < kAtomClasses; ++c) EXPECT_GT(c, kCarbon);
  EXPECT_STREQ(atom_class_symbol(kOxygen), "O");
}

TEST(AtomPositions, TextRoundTripsAndBadEntriesAreNamed) {
  const std::vector<AtomPoint> atoms = {
      {kCarbon, 12.5f, 40.25f}, {kChlorine, 3, 4}, {kOtherElement, 0, 7}};
  const std::string text = format_atoms(atoms);
  EXPECT_EQ(text, "C 12.50 40.25;Cl 3.00 4.00;* 0.00 7.00");
  const auto back = parse_atoms(text);
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[1].cls, kChlorine);
  EXPECT_FLOAT_EQ(back[0].y, 40.25f);
  EXPECT_TRUE(parse_atoms("").empty());
  // 1e39 is a finite double but no float: it was stored as an infinite position (fuzzing).
  for (const char* bad : {"C 1", "C 1 2 3", "C x 2", "C nan 2", "C 1e39 2", "C 2 -1e39"}) {
    try {
      parse_atoms(std::string("N 1 1;") + bad);
      ADD_FAILURE() << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

TEST(AtomPositions, MappingMovesPointsAndDropsThoseOutside) {
  const std::vector<AtomPoint> atoms = {{kCarbon, 10, 10}, {kNitrogen, 90, 10}};
  const auto moved =
      map_atoms(atoms, PixelMap::shift(-5, 0).then(PixelMap::scale(0.5, 2)), 40, 100);
  ASSERT_EQ(moved.size(), 1u);  // the nitrogen lands at x = 42.5, outside 40
  EXPECT_FLOAT_EQ(moved[0].x, 2.5f);
  EXPECT_FLOAT_EQ(moved[0].y, 20.0f);
}

TEST(AtomPositions, FileReaderNamesTheBadLine) {
  const std::string dir = capflow::testing::make_temp_dir("atoms");
  const std::string path = dir + "/train_atoms.csv";
  std::ofstream(path) << "image_id,atoms\nabc,\"C 1 2;O 3 4\"\nempty,\"\"\nbad,\"C 1\"\n";
  try {
    read_atoms_file(path);
    ADD_FAILURE() << "a bad row was read";
  } catch (const capflow::DataError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":4"), std::string::npos) << e.what();
  }
  std::ofstream(path) << "image_id,atoms\nabc,\"C 1 2;O 3 4\"\nempty,\"\"\n";
  const auto table = read_atoms_file(path);
  ASSERT_EQ(table.size(), 2u);
  EXPECT_EQ(table.at("abc").size(), 2u);
  EXPECT_TRUE(table.at("empty").empty());
  std::ofstream(path) << "image_id,InChI\n";
  EXPECT_THROW(read_atoms_file(path), capflow::ConfigError);
  std::filesystem::remove_all(dir);
}
