// Pre-checks of YAML text: size, UTF-8, control characters, tab indentation.
#include "graph/yaml_guard.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "graph/errors.h"

namespace capflow::graph {

namespace {

unsigned char byte_at(std::string_view s, std::size_t i) {
  return static_cast<unsigned char>(s[i]);
}

// Length of the UTF-8 sequence that starts at s[i]; 0 when it is not valid UTF-8 (overlong
// forms, UTF-16 surrogates and code points above U+10FFFF included).
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const unsigned char c = byte_at(s, i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    lo = c == 0xE0 ? 0xA0 : lo;
    hi = c == 0xED ? 0x9F : hi;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    lo = c == 0xF0 ? 0x90 : lo;
    hi = c == 0xF4 ? 0x8F : hi;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const unsigned b = byte_at(s, i + k);
    if (b < (k == 1 ? lo : 0x80u) || b > (k == 1 ? hi : 0xBFu)) return 0;
  }
  return n;
}

bool is_control(unsigned char c) {
  return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F;
}

// Whether the line the tab at s[i] is part of holds more than blanks and a comment.
bool tab_indents_content(std::string_view s, std::size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return i < s.size() && s[i] != '\n' && s[i] != '\r' && s[i] != '#';
}

std::string hex_byte(unsigned char c) {
  char text[8];
  std::snprintf(text, sizeof text, "0x%02X", c);
  return text;
}

}  // namespace

std::optional<TextProblem> check_yaml_text(std::string_view text) {
  int line = 1, column = 1;
  bool indenting = true;  // only spaces so far on this line
  const auto problem = [&](std::string message) {
    return TextProblem{line, column, std::move(message)};
  };
  for (std::size_t i = 0; i < text.size();) {
    if (i >= YamlLimits::kMaxBytes)
      return problem("more than " + std::to_string(YamlLimits::kMaxBytes / 1024) +
                     " KiB, the limit for a pipeline file or a --set value");
    const unsigned char c = byte_at(text, i);
    if (c == '\t' && indenting && tab_indents_content(text, i))
      return problem("a tab in the indentation: YAML indents with spaces only");
    const std::size_t n = utf8_length(text, i);
    if (n == 0) return problem("invalid UTF-8 (byte " + hex_byte(c) + "): write the file as UTF-8");
    if (is_control(c))
      return problem("control character " + hex_byte(c) + " is not allowed in YAML text");
    indenting = indenting && c == ' ';
    if (c == '\n') {
      ++line;
      column = 1;
      indenting = true;
    } else {
      ++column;
    }
    i += n;
  }
  return std::nullopt;
}

std::string read_bounded(const std::string& path, std::size_t max_bytes) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    throw ConfigError("cannot read pipeline file '" + path + "': " + std::strerror(errno));
  }
  std::string text;
  char buf[1 << 14];
  std::size_t n = 0;
  while (text.size() <= max_bytes && (n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    text.append(buf, n);
  }
  const bool failed = std::ferror(f) != 0;
  const int error = errno;
  std::fclose(f);
  if (failed) {
    throw ConfigError("cannot read pipeline file '" + path + "': " + std::strerror(error));
  }
  if (text.size() > max_bytes + 1) text.resize(max_bytes + 1);
  return text;
}

}  // namespace capflow::graph
