// Levenshtein distance (unit costs), the metric of the BMS competition, computed with
// Myers' bit-parallel algorithm (64 cells per machine word, blocks for longer strings):
// O(ceil(m/64) * n) for strings of length m <= n.
#pragma once

#include <string_view>

namespace capflow::text {

int levenshtein(std::string_view a, std::string_view b);

}  // namespace capflow::text
