#include "nodes/text/smiles_tokenizer.h"

#include <map>
#include <stdexcept>

namespace capflow::text {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The length of the token at s[i]; 0 when it is malformed (an unterminated bracket atom, a '%'
// without two digits).
std::size_t token_length(std::string_view s, std::size_t i) {
  const char c = s[i];
  if (c == '[') {
    const std::size_t close = s.find(']', i + 1);
    return close == std::string_view::npos ? 0 : close - i + 1;
  }
  if (c == '%') return i + 2 < s.size() && is_digit(s[i + 1]) && is_digit(s[i + 2]) ? 3 : 0;
  if (i + 1 < s.size() && ((c == 'C' && s[i + 1] == 'l') || (c == 'B' && s[i + 1] == 'r')))
    return 2;
  return 1;
}

// Tokens up to the first malformed one; `error_at` is its position (npos when none).
std::vector<std::string> tokens_until_error(std::string_view s, std::size_t& error_at) {
  std::vector<std::string> tokens;
  error_at = std::string_view::npos;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = token_length(s, i);
    if (n == 0) {
      error_at = i;
      break;
    }
    tokens.emplace_back(s.substr(i, n));
    i += n;
  }
  return tokens;
}

bool is_bond(const std::string& t) {
  return t == "-" || t == "=" || t == "#" || t == ":" || t == "/" || t == "\\" || t == "$" ||
         t == ".";
}
bool is_ring_label(const std::string& t) { return is_digit(t[0]) || t[0] == '%'; }

// Drops ')' without an open branch, empty branches "()" and bonds right before a ')'.
std::vector<std::string> balance_closings(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  int depth = 0;
  for (const auto& t : in) {
    if (t != ")") {
      if (t == "(") ++depth;
      out.push_back(t);
      continue;
    }
    if (depth == 0) continue;
    while (!out.empty() && is_bond(out.back())) out.pop_back();
    --depth;
    if (!out.empty() && out.back() == "(") {
      out.pop_back();
      continue;
    }
    out.push_back(t);
  }
  return out;
}

// Drops ring labels opened and never closed (with the bond written before one).
std::vector<std::string> drop_open_rings(std::vector<std::string> tokens) {
  std::map<std::string, std::size_t> open;  // label -> index of its opening
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (!is_ring_label(tokens[i])) continue;
    const auto it = open.find(tokens[i]);
    if (it == open.end()) {
      open.emplace(tokens[i], i);
    } else {
      open.erase(it);
    }
  }
  std::vector<bool> drop(tokens.size(), false);
  for (const auto& [label, i] : open) {
    drop[i] = true;
    if (i > 0 && is_bond(tokens[i - 1])) drop[i - 1] = true;
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < tokens.size(); ++i)
    if (!drop[i]) out.push_back(std::move(tokens[i]));
  return out;
}

// Removes leading bonds and branch marks, trailing bonds and '(', then closes open branches.
std::vector<std::string> trim_and_close(std::vector<std::string> tokens) {
  std::size_t first = 0;
  while (first < tokens.size() && (is_bond(tokens[first]) || tokens[first] == "(")) ++first;
  tokens.erase(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(first));
  while (!tokens.empty() && (is_bond(tokens.back()) || tokens.back() == "(")) tokens.pop_back();
  int depth = 0;
  for (const auto& t : tokens) depth += t == "(" ? 1 : t == ")" ? -1 : 0;
  for (; depth > 0; --depth) tokens.emplace_back(")");
  return tokens;
}

}  // namespace

std::vector<std::string> tokenize_smiles(std::string_view smiles) {
  if (smiles.empty()) throw std::invalid_argument("empty SMILES");
  std::size_t error_at = 0;
  auto tokens = tokens_until_error(smiles, error_at);
  if (error_at != std::string_view::npos) {
    throw std::invalid_argument("malformed SMILES at character " + std::to_string(error_at + 1) +
                                " (an unterminated '[' or a '%' without two digits): '" +
                                std::string(smiles.substr(0, 80)) + "'");
  }
  return tokens;
}

std::string detokenize_smiles(const std::vector<std::string>& tokens) {
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

std::string repair_smiles(std::string_view smiles) {
  std::size_t error_at = 0;
  auto tokens = tokens_until_error(smiles, error_at);
  tokens = trim_and_close(drop_open_rings(balance_closings(tokens)));
  return detokenize_smiles(balance_closings(tokens));
}

}  // namespace capflow::text
