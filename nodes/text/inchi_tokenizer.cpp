#include "nodes/text/inchi_tokenizer.h"

#include <stdexcept>

namespace capflow::text {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }

}  // namespace

namespace {

// Calls emit(token) for every token of `s`, a view into it.
template <typename Emit>
void for_each_body_token(std::string_view s, Emit emit) {
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    std::size_t j = i + 1;
    if (c == '/' && j < s.size() && is_lower(s[j])) {
      ++j;  // layer prefix: "/c", "/h", "/t", ...
    } else if (is_digit(c)) {
      while (j < s.size() && is_digit(s[j])) ++j;  // whole number
    } else if (is_upper(c)) {
      while (j < s.size() && is_lower(s[j])) ++j;  // element or atom symbol: "Cl", "H"
    }
    emit(s.substr(i, j - i));  // otherwise one punctuation character
    i = j;
  }
}

// The part after the prefix, after checking the prefix and that something follows it.
std::string_view inchi_body(std::string_view inchi) {
  if (inchi.substr(0, kStandardInchiPrefix.size()) != kStandardInchiPrefix) {
    throw std::invalid_argument("not a standard InChI (expected the prefix InChI=1S/): '" +
                                std::string(inchi.substr(0, 40)) + "'");
  }
  const std::string_view body = inchi.substr(kStandardInchiPrefix.size());
  if (body.empty()) throw std::invalid_argument("empty InChI after the prefix InChI=1S/");
  return body;
}

}  // namespace

void tokenize_inchi_body_views(std::string_view body, std::vector<std::string_view>& out) {
  for_each_body_token(body, [&out](std::string_view t) { out.push_back(t); });
}

void tokenize_inchi_views(std::string_view inchi, std::vector<std::string_view>& out) {
  tokenize_inchi_body_views(inchi_body(inchi), out);
}

std::vector<std::string> tokenize_inchi_body(std::string_view body) {
  std::vector<std::string> tokens;
  tokens.reserve(body.size() / 2 + 1);
  for_each_body_token(body, [&tokens](std::string_view t) { tokens.emplace_back(t); });
  return tokens;
}

std::vector<std::string> tokenize_inchi(std::string_view inchi) {
  return tokenize_inchi_body(inchi_body(inchi));
}

std::string detokenize_inchi(const std::vector<std::string>& tokens) {
  std::string out(kStandardInchiPrefix);
  for (const auto& t : tokens) out += t;
  return out;
}

}  // namespace capflow::text
