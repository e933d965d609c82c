#include <gtest/gtest.h>

#include "nodes/text/inchi_layers.h"

using capflow::text::inchi_constitution;

TEST(InchiConstitution, DropsTheTetrahedralLayers) {
  // (2R,3R)- and (2R,3S)-butane-2,3-diol: one constitution.
  const std::string rr = "InChI=1S/C4H10O2/c1-3(5)4(2)6/h3-6H,1-2H3/t3-,4-/m1/s1";
  const std::string rs = "InChI=1S/C4H10O2/c1-3(5)4(2)6/h3-6H,1-2H3/t3-,4+";
  EXPECT_EQ(inchi_constitution(rr), "InChI=1S/C4H10O2/c1-3(5)4(2)6/h3-6H,1-2H3");
  EXPECT_EQ(inchi_constitution(rr), inchi_constitution(rs));
}

TEST(InchiConstitution, DropsTheDoubleBondLayer) {
  const std::string trans = "InChI=1S/C4H8/c1-3-4-2/h3-4H,1-2H3/b4-3+";
  const std::string cis = "InChI=1S/C4H8/c1-3-4-2/h3-4H,1-2H3/b4-3-";
  EXPECT_EQ(inchi_constitution(trans), "InChI=1S/C4H8/c1-3-4-2/h3-4H,1-2H3");
  EXPECT_EQ(inchi_constitution(trans), inchi_constitution(cis));
}

TEST(InchiConstitution, KeepsChargeProtonAndIsotopeLayers) {
  const std::string charged = "InChI=1S/C2H7N/c1-3-2/h3H,1-2H3/p+1";
  EXPECT_EQ(inchi_constitution(charged), charged);
  const std::string labelled = "InChI=1S/CH4O/c1-2/h2H,1H3/i1+1";
  EXPECT_EQ(inchi_constitution(labelled), labelled);
  // Stereo sublayers of the isotopic part go too; the isotopic layer itself stays.
  EXPECT_EQ(inchi_constitution("InChI=1S/C2H5D/c1-2/h1-2H3/i1D/t1-/m0/s1"),
            "InChI=1S/C2H5D/c1-2/h1-2H3/i1D");
}

TEST(InchiConstitution, DifferentConstitutionsStayApart) {
  EXPECT_NE(inchi_constitution("InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3"),
            inchi_constitution("InChI=1S/C2H6O/c1-3-2/h1-2H3"));
}

TEST(InchiConstitution, TextWithoutLayersComesBackAsItIs) {
  EXPECT_EQ(inchi_constitution(""), "");
  EXPECT_EQ(inchi_constitution("InChI=1S"), "InChI=1S");
  EXPECT_EQ(inchi_constitution("not an inchi"), "not an inchi");
  // An empty layer (a trailing slash) is kept as it is.
  EXPECT_EQ(inchi_constitution("InChI=1S/CH4/h1H4/"), "InChI=1S/CH4/h1H4/");
}
