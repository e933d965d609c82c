#include <GraphMol/GraphMol.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <gtest/gtest.h>

#include <set>

#include "tools/data/fragment_library.h"
#include "tools/data/molecule_sources.h"

using namespace capflow::data;

namespace {

const FragmentLibrary& library() {
  static const FragmentLibrary lib = [] {
    std::vector<std::string> smiles;
    for (const auto& r : read_molecule_file(default_molecule_files().front()))
      smiles.push_back(r.text);
    smiles.resize(1500);
    return FragmentLibrary::from_smiles(smiles);
  }();
  return lib;
}

TEST(FragmentLibrary, BuildsFromRealMolecules) {
  EXPECT_GT(library().size(), 300u);
  EXPECT_GE(library().attachment_points(), library().size());
}

TEST(FragmentLibrary, GeneratesValidDistinctDrugSizedMoleculesDeterministically) {
  std::set<std::string> distinct;
  int made = 0;
  for (std::uint64_t i = 0; i < 150; ++i) {
    const auto s = library().generate(5, i);
    if (!s) continue;
    ++made;
    EXPECT_EQ(library().generate(5, i), s) << "not deterministic at " << i;
    std::unique_ptr<RDKit::RWMol> m(RDKit::SmilesToMol(*s));
    ASSERT_TRUE(m) << *s;
    int heavy = 0;
    for (const auto* a : m->atoms()) {
      heavy += a->getAtomicNum() > 1;
      EXPECT_NE(a->getAtomicNum(), 0) << "dummy atom left in " << *s;
    }
    EXPECT_GE(heavy, 10) << *s;
    EXPECT_LE(heavy, 50) << *s;
    distinct.insert(*s);
  }
  EXPECT_GT(made, 140);
  EXPECT_GT(distinct.size(), static_cast<std::size_t>(made * 95 / 100));
  EXPECT_NE(library().generate(5, 0), library().generate(6, 0));
}

}  // namespace
