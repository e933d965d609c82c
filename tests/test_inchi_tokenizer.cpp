#include <gtest/gtest.h>

#include "nodes/text/inchi_tokenizer.h"

using capflow::text::detokenize_inchi;
using capflow::text::tokenize_inchi;

namespace {

std::vector<std::string> T(std::initializer_list<const char*> l) { return {l.begin(), l.end()}; }

TEST(InchiTokenizer, SplitsFormulaIntoElementsAndCounts) {
  EXPECT_EQ(tokenize_inchi("InChI=1S/C13H20OS/c1"), T({"C", "13", "H", "20", "O", "S", "/c", "1"}));
  EXPECT_EQ(tokenize_inchi("InChI=1S/C6H5ClBr2/c7"),
            T({"C", "6", "H", "5", "Cl", "Br", "2", "/c", "7"}));
}

TEST(InchiTokenizer, SplitsLayersIntoPrefixesNumbersAndPunctuation) {
  const std::string inchi =
      "InChI=1S/C13H20OS/c1-9(2)8-15-13-6-5-10(3)7-12(13)11(4)14/h5-7,9,11,14H,8H2,1-4H3/t11-/m1/"
      "s1";
  const auto tokens = tokenize_inchi(inchi);
  const auto expected_start =
      T({"C", "13", "H", "20", "O", "S", "/c", "1", "-", "9", "(", "2", ")", "8", "-", "15"});
  ASSERT_GE(tokens.size(), expected_start.size());
  EXPECT_TRUE(std::equal(expected_start.begin(), expected_start.end(), tokens.begin()));
  const auto expected_end = T({"/t", "11", "-", "/m", "1", "/s", "1"});
  EXPECT_TRUE(std::equal(expected_end.rbegin(), expected_end.rend(), tokens.rbegin()));
  // "/h5-7,9,11,14H,8H2" keeps H as an atom token and 14 as one number.
  const auto h = std::find(tokens.begin(), tokens.end(), "/h");
  ASSERT_NE(h, tokens.end());
  EXPECT_EQ(std::vector<std::string>(h, h + 12),
            T({"/h", "5", "-", "7", ",", "9", ",", "11", ",", "14", "H", ","}));
}

TEST(InchiTokenizer, HandlesMixturesChargesIsotopesAndUndefinedStereo) {
  for (const char* inchi :
       {"InChI=1S/C2H4O2.Na/c1-2(3)4;/h1H3,(H,3,4);/q;+1/p-1", "InChI=1S/CH4/h1H4/i1D",
        "InChI=1S/C4H10O/c1-3-4(2)5/h4-5H,3H2,1-2H3/t4?/b2-1+"}) {
    const auto tokens = tokenize_inchi(inchi);
    EXPECT_EQ(detokenize_inchi(tokens), inchi);
    for (const auto& t : tokens) {
      EXPECT_FALSE(t.empty());
      if (t.size() > 1 && t[0] == '/') {
        EXPECT_EQ(t.size(), 2u) << t;
      }
    }
  }
  EXPECT_EQ(tokenize_inchi("InChI=1S/CH4/h1H4/i1D").back(), "D");
  EXPECT_EQ(tokenize_inchi("InChI=1S/C2H4O2.Na/c1-2(3)4;/h1H3,(H,3,4);/q;+1/p-1")[6], ".");
}

TEST(InchiTokenizer, RejectsNonStandardOrEmpty) {
  EXPECT_THROW(tokenize_inchi("InChI=1/CH4/h1H4"), std::invalid_argument);
  EXPECT_THROW(tokenize_inchi("CH4"), std::invalid_argument);
  EXPECT_THROW(tokenize_inchi("InChI=1S/"), std::invalid_argument);
}

}  // namespace
