// Atom counts from InChI formula layers (the formula head's targets).
#include <gtest/gtest.h>

#include <stdexcept>

#include "nodes/text/inchi_formula.h"

namespace capflow::text {
namespace {

float count(const FormulaCounts& c, const char* element) {
  for (std::size_t i = 0; i < kFormulaElements.size(); ++i)
    if (std::string(kFormulaElements[i]) == element) return c[i];
  return c.back();
}

TEST(InchiFormula, CountsElementsOfAStandardInchi) {
  const auto c =
      formula_counts("InChI=1S/C9H8O4/c1-6(10)13-8-5-3-2-4-7(8)9(11)12/h2-5H,1H3,(H,11,12)");
  EXPECT_EQ(count(c, "C"), 9);
  EXPECT_EQ(count(c, "H"), 8);
  EXPECT_EQ(count(c, "O"), 4);
  EXPECT_EQ(count(c, "N"), 0);
  EXPECT_EQ(c.back(), 0);
}

TEST(InchiFormula, TwoLetterSymbolsAreNotSplit) {
  const auto c = formula_counts("C12H10BrClN2OSi");
  EXPECT_EQ(count(c, "Br"), 1);
  EXPECT_EQ(count(c, "Cl"), 1);
  EXPECT_EQ(count(c, "Si"), 1);
  EXPECT_EQ(count(c, "B"), 0);
  EXPECT_EQ(count(c, "C"), 12);
  EXPECT_EQ(count(c, "S"), 0);
  EXPECT_EQ(count(c, "N"), 2);
}

TEST(InchiFormula, ComponentsAddUpWithMultipliers) {
  const auto c = formula_counts("InChI=1S/C6H7N.2ClH/c7-6-4-2-1-3-5-6;;/h1-5H,7H2;2*1H");
  EXPECT_EQ(count(c, "C"), 6);
  EXPECT_EQ(count(c, "H"), 9);
  EXPECT_EQ(count(c, "Cl"), 2);
  EXPECT_EQ(count(c, "N"), 1);
}

TEST(InchiFormula, OtherElementsShareTheLastSlot) {
  const auto c = formula_counts("C2H6Se2Na");
  EXPECT_EQ(c.back(), 3);
}

TEST(InchiFormula, MalformedFormulasAreRefused) {
  EXPECT_THROW(formula_counts("InChI=1S//c1"), std::invalid_argument);
  EXPECT_THROW(formula_counts("c9h8o4"), std::invalid_argument);
  EXPECT_THROW(formula_counts("C9..H8"), std::invalid_argument);
  EXPECT_THROW(formula_counts(""), std::invalid_argument);
}

}  // namespace
}  // namespace capflow::text
