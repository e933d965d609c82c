// SMILES tokens, atom by atom (the usual regular expression of reaction and captioning models):
// a bracket atom ("[C@@H]", "[nH]", "[N+]") is one token, so are "Cl" and "Br", a two-digit ring
// label ("%12"), and every other character (organic atoms, bonds, branches, ring digits).
// detokenize_smiles is the exact inverse (the concatenation).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace capflow::text {

// Throws std::invalid_argument on an empty text, an unterminated bracket atom or a '%' without
// two digits after it.
std::vector<std::string> tokenize_smiles(std::string_view smiles);
std::string detokenize_smiles(const std::vector<std::string>& tokens);

// A model's SMILES made parseable where text alone can tell how: unmatched ')' dropped, open
// branches closed, empty branches removed, ring labels left open dropped (their last opening),
// and bonds or branches dangling at the ends removed. Bracket atoms are kept as they are; a
// text that cannot be tokenized is returned with its unterminated tail cut.
std::string repair_smiles(std::string_view smiles);

}  // namespace capflow::text
