#include "nodes/text/notation.h"

#include <stdexcept>

namespace capflow::text {

std::string notation_name(Notation notation) {
  return notation == Notation::kSmiles ? "smiles" : "inchi";
}

Notation parse_notation(std::string_view name) {
  if (name == "inchi") return Notation::kInchi;
  if (name == "smiles") return Notation::kSmiles;
  throw std::invalid_argument("unknown notation '" + std::string(name) +
                              "' (expected inchi or smiles)");
}

}  // namespace capflow::text
