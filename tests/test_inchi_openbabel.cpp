#include <gtest/gtest.h>

#include <thread>

#include "nodes/chem/inchi_isolated.h"
#include "nodes/chem/inchi_openbabel.h"

using namespace capflow::chem;

namespace {

// Ethanol, as an MDL V2000 molblock with 2D coordinates.
const char* kEthanol =
    "\n  capflow\n\n  3  2  0  0  0  0  0  0  0  0999 V2000\n"
    "    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\n"
    "    1.2990    0.7500    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\n"
    "    2.5981   -0.0000    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0\n"
    "  1  2  1  0\n  2  3  1  0\nM  END\n";

TEST(InchiOpenBabel, MolblockToStandardInchi) {
  const auto inchi = inchi_from_molblock(kEthanol);
  ASSERT_TRUE(inchi.has_value());
  EXPECT_EQ(*inchi, "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3");
  EXPECT_FALSE(inchi_from_molblock("garbage").has_value());
}

TEST(InchiOpenBabel, ValidityCheck) {
  const auto ok = check_inchi("InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3");
  EXPECT_TRUE(ok.valid);
  EXPECT_TRUE(ok.canonical);
  EXPECT_FALSE(check_inchi("InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3/zz").canonical);
  EXPECT_FALSE(check_inchi("not an inchi").valid);
  EXPECT_FALSE(check_inchi("InChI=1S/").valid);
  EXPECT_FALSE(check_inchi("InChI=1S/C2H6O/c1-2-9").valid);
}

TEST(InchiOpenBabel, SafeFromSeveralThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i)
        good += inchi_from_molblock(kEthanol).value_or("") == "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3";
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 200);
}

// A model's prediction that makes the InChI library free an invalid pointer (abort) counts as
// invalid, and the texts after it are still checked, in a new child process.
TEST(InchiOpenBabel, IsolatedChecksSurviveACrashingInput) {
  const std::string crashing =
      "InChI=1S/C5H6N2O3S2.C2H3O2S2.(H3,2)4(3,5)6(7,11)12(13,14)15-1(2,3)4(10,11)12(H,9,13)"
      "(H,3,4,5);/q;;+4/p-2";
  const std::vector<std::string> texts = {"InChI=1S/CH4/h1H4", "InChI=1S/not an inchi", "",
                                          crashing, "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3"};
  const auto checks = check_inchis_isolated(texts);
  EXPECT_EQ(checks.valid, (std::vector<bool>{true, false, false, false, true}));
#ifndef __SANITIZE_ADDRESS__  // under ASan's allocator libinchi's bad read does not crash
  EXPECT_EQ(checks.crashed, (std::vector<std::size_t>{3}));
#endif
  EXPECT_TRUE(check_inchis_isolated({}).valid.empty());
}

TEST(InchiOpenBabel, SmilesAndInchiConvert) {
  EXPECT_EQ(smiles_from_molblock(kEthanol).value_or(""), "CCO");
  EXPECT_EQ(smiles_from_inchi("InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3").value_or(""), "CCO");
  EXPECT_EQ(inchi_from_smiles("OCC").value_or(""), "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3");
  // Stereo survives both ways.
  const std::string alanine = "InChI=1S/C3H7NO2/c1-2(4)3(5)6/h2H,4H2,1H3,(H,5,6)/t2-/m0/s1";
  EXPECT_EQ(inchi_from_smiles(smiles_from_inchi(alanine).value_or("")).value_or(""), alanine);
  EXPECT_FALSE(inchi_from_smiles("C1CC").has_value());  // a ring never closed
  EXPECT_FALSE(inchi_from_smiles("CC)C").has_value());
  EXPECT_FALSE(inchi_from_smiles("").has_value());
  EXPECT_FALSE(smiles_from_inchi("not an InChI").has_value());
}

// A model's SMILES: converted as written, after a repair, or not at all.
TEST(InchiOpenBabel, IsolatedSmilesConversionRepairs) {
  const std::vector<std::string> smiles = {"CCO", "CC)O", "C1CC", ")))", ""};
  std::vector<std::size_t> crashed = {99};
  const auto out = inchis_from_smiles_isolated(smiles, &crashed);
  ASSERT_EQ(out.size(), smiles.size());
  EXPECT_EQ(out[0].inchi, "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3");
  EXPECT_TRUE(out[0].as_written);
  EXPECT_EQ(out[1].inchi, inchi_from_smiles("CCO").value_or("?"));  // the stray ')' dropped
  EXPECT_FALSE(out[1].as_written);
  EXPECT_EQ(out[2].inchi, "InChI=1S/C3H8/c1-3-2/h3H2,1-2H3");  // the open ring dropped
  EXPECT_FALSE(out[2].as_written);
  EXPECT_TRUE(out[3].inchi.empty());
  EXPECT_TRUE(out[4].inchi.empty());
  EXPECT_TRUE(crashed.empty());
  EXPECT_TRUE(inchis_from_smiles_isolated({}).empty());
}

}  // namespace
