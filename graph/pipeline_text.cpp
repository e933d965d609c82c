// Small text helpers of the pipeline loader: quoting, suggestions, number parsing.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "graph/pipeline_internal.h"

namespace capflow::graph::detail {

// ---------------------------------------------------------------------------------------------
// Small text helpers

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

// At most about 80 bytes of `s` (cut at a character boundary), for messages.
std::string shortened(const std::string& s) {
  constexpr std::size_t kKeep = 72;
  if (s.size() <= kKeep + 8) return s;
  std::size_t cut = kKeep;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "... (" + std::to_string(s.size()) + " bytes)";
}

std::string quote(const std::string& s) { return "'" + shortened(s) + "'"; }

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean 'x'?)" for the closest candidate within edit distance 2, else "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  const std::string* best = nullptr;
  std::size_t best_distance = 3;
  for (const std::string& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance && d < c.size()) {
      best = &c;
      best_distance = d;
    }
  }
  return best ? " (did you mean " + quote(*best) + "?)" : "";
}

// Shortest text that reads back as the same double ("0.05", "1e-05", "42").
std::string shortest_double(double x) {
  if (std::isinf(x)) return x > 0 ? ".inf" : "-.inf";
  if (std::isnan(x)) return ".nan";
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, result.ptr);
}

// A double as a YAML float that every YAML reader takes for a float ("4.0", "1.0e-05").
std::string yaml_double(double x) {
  std::string s = shortest_double(x);
  if (std::isinf(x) || std::isnan(x)) return s;
  if (s.find('.') == std::string::npos) {
    const std::size_t e = s.find('e');
    if (e == std::string::npos) {
      s += ".0";
    } else {
      s.insert(e, ".0");
    }
  }
  return s;
}

bool is_digits(const std::string& s, std::size_t from) {
  if (from >= s.size()) return false;
  for (std::size_t i = from; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

// YAML integers: [-+]?[0-9]+ (decimal only).
bool parse_int(const std::string& s, std::int64_t* out) {
  const std::size_t start = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
  if (!is_digits(s, start)) return false;
  const char* first = s.data() + (s[0] == '+' ? 1 : 0);
  const auto result = std::from_chars(first, s.data() + s.size(), *out);
  return result.ec == std::errc() && result.ptr == s.data() + s.size();
}

bool parse_uint(const std::string& s, std::uint64_t* out) {
  const std::size_t start = (!s.empty() && s[0] == '+') ? 1 : 0;
  if (!is_digits(s, start)) return false;
  const auto result = std::from_chars(s.data() + start, s.data() + s.size(), *out);
  return result.ec == std::errc() && result.ptr == s.data() + s.size();
}

// YAML floats: integers, [-+]?(.digits|digits[.digits])([eE][-+]?digits)?, [-+]?.inf.
bool parse_float(const std::string& s, double* out) {
  std::size_t i = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
  const bool negative = !s.empty() && s[0] == '-';
  const std::string rest = s.substr(i);
  if (rest == ".inf" || rest == ".Inf" || rest == ".INF") {
    *out = negative ? -HUGE_VAL : HUGE_VAL;
    return true;
  }
  const auto skip_digits = [&s, &i]() {
    const std::size_t from = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - from;
  };
  std::size_t digits = skip_digits();
  if (i < s.size() && s[i] == '.') {
    ++i;
    digits += skip_digits();
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!is_digits(s, i)) return false;
    i = s.size();
  }
  if (i != s.size()) return false;
  const char* first = s.data() + (s[0] == '+' ? 1 : 0);
  const auto result = std::from_chars(first, s.data() + s.size(), *out);
  return result.ec == std::errc() && result.ptr == s.data() + s.size();
}

bool parse_bool(const std::string& s, bool* out) {
  if (s == "true" || s == "True" || s == "TRUE") {
    *out = true;
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    *out = false;
    return true;
  }
  return false;
}

bool valid_node_name(const std::string& s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

}  // namespace capflow::graph::detail
