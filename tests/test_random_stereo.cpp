#include <GraphMol/GraphMol.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <gtest/gtest.h>

#include "tools/data/random_stereo.h"

using capflow::SeededRng;
using capflow::data::assign_random_stereo;

namespace {

std::string with_stereo(const std::string& smiles, double p, std::uint64_t key) {
  std::unique_ptr<RDKit::RWMol> m(RDKit::SmilesToMol(smiles));
  SeededRng rng({key});
  assign_random_stereo(*m, p, rng);
  return RDKit::MolToSmiles(*m);
}

TEST(RandomStereo, AssignsCentresAndDoubleBondsWhenAsked) {
  const std::string s = with_stereo("CC(N)C(=O)OCC=CC", 1.0, 3);
  EXPECT_NE(s.find('@'), std::string::npos) << s;
  EXPECT_TRUE(s.find('/') != std::string::npos || s.find('\\') != std::string::npos) << s;
  EXPECT_EQ(with_stereo("CC(N)C(=O)OCC=CC", 0.0, 3), "CC=CCOC(=O)C(C)N");
}

TEST(RandomStereo, DeterministicAndLeavesNonStereogenicAtomsAlone) {
  EXPECT_EQ(with_stereo("CC(N)C(=O)OCC=CC", 1.0, 9), with_stereo("CC(N)C(=O)OCC=CC", 1.0, 9));
  const std::string s = with_stereo("CC(C)C(=O)O", 1.0, 1);  // no stereocentre
  EXPECT_EQ(s.find('@'), std::string::npos) << s;
  // Keeps a configuration that is already there.
  EXPECT_EQ(with_stereo("C[C@H](N)C(=O)O", 1.0, 5), "C[C@H](N)C(=O)O");
}

}  // namespace
