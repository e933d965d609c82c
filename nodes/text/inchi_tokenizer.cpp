#include "nodes/text/inchi_tokenizer.h"

#include <stdexcept>

namespace capflow::text {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }

}  // namespace

void tokenize_inchi_body_views(std::string_view s, std::vector<std::string_view>& out) {
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
    out.push_back(s.substr(i, j - i));  // otherwise one punctuation character
    i = j;
  }
}

void tokenize_inchi_views(std::string_view inchi, std::vector<std::string_view>& out) {
  if (inchi.substr(0, kStandardInchiPrefix.size()) != kStandardInchiPrefix) {
    throw std::invalid_argument("not a standard InChI (expected the prefix InChI=1S/): '" +
                                std::string(inchi.substr(0, 40)) + "'");
  }
  const std::string_view body = inchi.substr(kStandardInchiPrefix.size());
  if (body.empty()) throw std::invalid_argument("empty InChI after the prefix InChI=1S/");
  tokenize_inchi_body_views(body, out);
}

namespace {
std::vector<std::string> as_strings(const std::vector<std::string_view>& views) {
  return std::vector<std::string>(views.begin(), views.end());
}
}  // namespace

std::vector<std::string> tokenize_inchi_body(std::string_view body) {
  std::vector<std::string_view> views;
  views.reserve(body.size() / 2 + 1);
  tokenize_inchi_body_views(body, views);
  return as_strings(views);
}

std::vector<std::string> tokenize_inchi(std::string_view inchi) {
  std::vector<std::string_view> views;
  views.reserve(inchi.size() / 2 + 1);
  tokenize_inchi_views(inchi, views);
  return as_strings(views);
}

std::string detokenize_inchi(const std::vector<std::string>& tokens) {
  std::string out(kStandardInchiPrefix);
  for (const auto& t : tokens) out += t;
  return out;
}

}  // namespace capflow::text
