// The line notation a captioner writes: InChI (the competition's target, scored as is) or
// SMILES (shorter, read atom by atom along the drawn bonds; predictions are turned into InChI
// by Open Babel before they are scored).
#pragma once

#include <string>
#include <string_view>

namespace capflow::text {

enum class Notation { kInchi, kSmiles };

// "inchi" or "smiles".
std::string notation_name(Notation notation);
// Inverse of notation_name; std::invalid_argument naming the accepted values otherwise.
Notation parse_notation(std::string_view name);

}  // namespace capflow::text
