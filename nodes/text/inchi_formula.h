// Atom counts per element from an InChI's formula layer: what the picture alone determines,
// the target of the encoder's auxiliary formula head. A plain kernel: no torch.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace capflow::text {

// The elements counted, in this order; every other element is summed into the last slot.
inline constexpr std::array<const char*, 12> kFormulaElements = {"C",  "H",  "N", "O", "S", "F",
                                                                 "Cl", "Br", "I", "P", "B", "Si"};
inline constexpr std::size_t kFormulaSlots = kFormulaElements.size() + 1;  // + "other"

using FormulaCounts = std::array<float, kFormulaSlots>;

// Counts of a standard InChI ("InChI=1S/C9H8O4/c..."), or of a formula alone ("C9H8O4").
// Components separated by '.' add up, with their multipliers ("2ClH" counts two Cl, two H).
// Throws std::invalid_argument naming the text when the formula layer is not made of element
// symbols (an upper-case letter, optional lower-case letter) and counts.
FormulaCounts formula_counts(std::string_view inchi_or_formula);

}  // namespace capflow::text
