// SMILES tokens, their exact inverse, the repair of a model's SMILES, and a SMILES vocabulary.
#include <gtest/gtest.h>

#include "nodes/text/notation.h"
#include "nodes/text/smiles_tokenizer.h"
#include "nodes/text/vocabulary.h"

namespace capflow::text {
namespace {

using Tokens = std::vector<std::string>;

TEST(SmilesTokenizer, SplitsAtomByAtom) {
  EXPECT_EQ(tokenize_smiles("C[C@@H](Cl)c1ccc(Br)cc1"),
            (Tokens{"C", "[C@@H]", "(", "Cl", ")", "c", "1", "c", "c", "c", "(", "Br", ")", "c",
                    "c", "1"}));
  EXPECT_EQ(
      tokenize_smiles("[nH]1cc%12C=C/N#N.[Na+]"),
      (Tokens{"[nH]", "1", "c", "c", "%12", "C", "=", "C", "/", "N", "#", "N", ".", "[Na+]"}));
  // "Cl" and "Br" only: "Cc" is two atoms, "B" alone is boron.
  EXPECT_EQ(tokenize_smiles("CcB"), (Tokens{"C", "c", "B"}));
}

TEST(SmilesTokenizer, DetokenizeIsTheExactInverse) {
  for (const std::string s :
       {"OC(=O)COc1ccccc1C(=O)O", "C[C@@H](C(=O)NN=Cc1cccnc1)Oc1ccccc1Br",
        "S=C(NCc1ccco1)N/N=C(/c1ccc(cc1)F)\\C", "[2H]C([2H])([2H])[N+](=O)[O-]"})
    EXPECT_EQ(detokenize_smiles(tokenize_smiles(s)), s);
}

TEST(SmilesTokenizer, RefusesMalformedText) {
  EXPECT_THROW(tokenize_smiles(""), std::invalid_argument);
  EXPECT_THROW(tokenize_smiles("CC[C@H"), std::invalid_argument);
  EXPECT_THROW(tokenize_smiles("C%1CC"), std::invalid_argument);
}

TEST(SmilesRepair, ClosesBranchesAndDropsWhatDangles) {
  EXPECT_EQ(repair_smiles("CC(C"), "CC(C)");
  EXPECT_EQ(repair_smiles("CC(C(O"), "CC(C(O))");
  EXPECT_EQ(repair_smiles("CC)C"), "CCC");
  EXPECT_EQ(repair_smiles("CC()C"), "CCC");
  EXPECT_EQ(repair_smiles("CC(=)C"), "CCC");
  EXPECT_EQ(repair_smiles("CC="), "CC");
  EXPECT_EQ(repair_smiles("CC(="), "CC");
  EXPECT_EQ(repair_smiles("=CC"), "CC");
  EXPECT_EQ(repair_smiles("CC[N+"), "CC");  // an unterminated bracket atom is cut
}

TEST(SmilesRepair, DropsRingLabelsLeftOpen) {
  EXPECT_EQ(repair_smiles("c1ccccc1"), "c1ccccc1");      // closed: kept
  EXPECT_EQ(repair_smiles("C1CC1C1CC1"), "C1CC1C1CC1");  // a label used twice
  EXPECT_EQ(repair_smiles("C1CCC2CC1"), "C1CCCCC1");     // 2 never closes
  EXPECT_EQ(repair_smiles("C1CC=2CC1"), "C1CCCC1");      // with its bond
  EXPECT_EQ(repair_smiles("C1CC1C1CC"), "C1CC1CCC");     // the second opening of 1
}

TEST(SmilesRepair, LeavesAValidSmilesAlone) {
  for (const std::string s : {"OC(=O)COc1ccccc1C(=O)O", "C[C@@H](C(=O)NN=Cc1cccnc1)Oc1ccccc1Br",
                              "CC(C)(C)c1ccc(cc1)C(=O)Nc1cccc(c1Cl)Cl"})
    EXPECT_EQ(repair_smiles(s), s);
}

TEST(Notation, NamesRoundTrip) {
  EXPECT_EQ(parse_notation(notation_name(Notation::kSmiles)), Notation::kSmiles);
  EXPECT_EQ(parse_notation(notation_name(Notation::kInchi)), Notation::kInchi);
  EXPECT_THROW(parse_notation("selfies"), std::invalid_argument);
}

TEST(SmilesVocabulary, EncodesAndDecodesInItsNotation) {
  const auto v =
      Vocabulary::from_texts({"CC(=O)O", "c1ccccc1Cl", "C[C@@H](N)C(=O)O"}, Notation::kSmiles);
  EXPECT_EQ(v.notation(), Notation::kSmiles);
  EXPECT_NE(v.id("Cl"), Vocabulary::kUnk);
  EXPECT_NE(v.id("[C@@H]"), Vocabulary::kUnk);
  const auto ids = v.encode("CC(Cl)=O");
  EXPECT_EQ(ids.front(), Vocabulary::kSos);
  EXPECT_EQ(ids.back(), Vocabulary::kEos);
  EXPECT_EQ(ids.size(), 9u);  // <sos> C C ( Cl ) = O <eos>
  EXPECT_EQ(v.decode(ids), "CC(Cl)=O");
  // An InChI vocabulary from the same tokens still reads InChI.
  EXPECT_EQ(Vocabulary::from_tokens(v.tokens(), "test").notation(), Notation::kInchi);
  EXPECT_EQ(Vocabulary::from_tokens(v.tokens(), "test", Notation::kSmiles).decode(ids), "CC(Cl)=O");
}

}  // namespace
}  // namespace capflow::text
