// InChI tokenizer in the convention of the BMS Molecular Translation competition:
// the "InChI=1S/" prefix is dropped; the formula splits into element and count tokens
// ("C13H20OS" -> C 13 H 20 O S); the other layers into layer prefixes ("/c", "/h", "/b",
// "/t", "/m", "/s", "/i", ...), whole numbers, atom symbols (H, D, T) and single
// punctuation characters. detokenize_inchi is the exact inverse.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace capflow::text {

inline constexpr std::string_view kStandardInchiPrefix = "InChI=1S/";

// Splits a standard InChI into tokens. Throws std::invalid_argument when the text does not
// start with "InChI=1S/" or is empty after it.
std::vector<std::string> tokenize_inchi(std::string_view inchi);

// Tokenizes the part after the prefix (no prefix check).
std::vector<std::string> tokenize_inchi_body(std::string_view body);

// The same tokens as views into the text, appended to `out` (no string made per token).
void tokenize_inchi_views(std::string_view inchi, std::vector<std::string_view>& out);
void tokenize_inchi_body_views(std::string_view body, std::vector<std::string_view>& out);

// The exact inverse of tokenize_inchi: the prefix followed by the tokens.
std::string detokenize_inchi(const std::vector<std::string>& tokens);

}  // namespace capflow::text
