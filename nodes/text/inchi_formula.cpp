// Formula-layer parsing (see inchi_formula.h).
#include "nodes/text/inchi_formula.h"

#include <cctype>
#include <stdexcept>

#include "nodes/text/inchi_tokenizer.h"

namespace capflow::text {
namespace {

std::size_t slot_of(std::string_view symbol) {
  for (std::size_t i = 0; i < kFormulaElements.size(); ++i)
    if (symbol == kFormulaElements[i]) return i;
  return kFormulaElements.size();
}

bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// Reads a run of digits at `pos` (advancing it); `absent` when there is none.
int read_number(std::string_view s, std::size_t& pos, int absent) {
  if (pos >= s.size() || !is_digit(s[pos])) return absent;
  int n = 0;
  while (pos < s.size() && is_digit(s[pos])) n = n * 10 + (s[pos++] - '0');
  return n;
}

[[noreturn]] void bad(std::string_view text) {
  throw std::invalid_argument("not an InChI formula layer: '" + std::string(text) + "'");
}

void add_component(std::string_view component, std::string_view whole, FormulaCounts& counts) {
  std::size_t pos = 0;
  const int multiplier = read_number(component, pos, 1);
  if (pos >= component.size()) bad(whole);
  while (pos < component.size()) {
    if (!std::isupper(static_cast<unsigned char>(component[pos]))) bad(whole);
    std::size_t end = pos + 1;
    if (end < component.size() && std::islower(static_cast<unsigned char>(component[end]))) ++end;
    const std::string_view symbol = component.substr(pos, end - pos);
    pos = end;
    counts[slot_of(symbol)] += static_cast<float>(multiplier * read_number(component, pos, 1));
  }
}

}  // namespace

FormulaCounts formula_counts(std::string_view text) {
  std::string_view formula = text;
  if (formula.substr(0, kStandardInchiPrefix.size()) == kStandardInchiPrefix)
    formula.remove_prefix(kStandardInchiPrefix.size());
  formula = formula.substr(0, formula.find('/'));
  if (formula.empty()) bad(text);
  FormulaCounts counts{};
  std::size_t begin = 0;
  while (begin <= formula.size()) {
    const std::size_t dot = formula.find('.', begin);
    const std::size_t end = dot == std::string_view::npos ? formula.size() : dot;
    add_component(formula.substr(begin, end - begin), text, counts);
    if (dot == std::string_view::npos) break;
    begin = dot + 1;
  }
  return counts;
}

}  // namespace capflow::text
