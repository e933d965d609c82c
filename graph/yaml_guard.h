// Limits that keep a hostile pipeline file (or --set value) from crashing capflow, hanging it
// or exhausting its memory. check_yaml_text() runs before yaml-cpp sees the text: a size limit,
// UTF-8 without control characters, no tabs in indentation. The limits on what aliases expand
// to, on nesting and on aliases inside their own anchor apply while pipeline_spec.cpp walks the
// parsed document (yaml-cpp shares an aliased node; walking it copies it).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace capflow::graph {

struct YamlLimits {
  static constexpr std::size_t kMaxBytes = std::size_t{256} << 10;  // a file or a --set value
  static constexpr int kMaxDepth = 64;               // lists and mappings inside each other
  static constexpr std::size_t kMaxValues = 100000;  // values, once aliases are expanded
  static constexpr std::size_t kMaxKeys = 1000;      // keys of one mapping
  static constexpr std::size_t kMaxTextBytes = std::size_t{16} << 20;  // scalars, expanded
};

// A problem in YAML text at a 1-based line and column (columns count characters).
struct TextProblem {
  int line = 1;
  int column = 1;
  std::string message;
};

// The first problem of `text` that yaml-cpp must not be given, or none: more than
// YamlLimits::kMaxBytes, bytes that are not UTF-8, control characters other than tab, CR and
// LF, a tab in the indentation of a line that holds more than a comment.
std::optional<TextProblem> check_yaml_text(std::string_view text);

// At most `max_bytes` bytes of the file (reads one more than the limit, so check_yaml_text
// sees a too long file as one). Throws ConfigError naming the file when it cannot be read.
std::string read_bounded(const std::string& path, std::size_t max_bytes);

}  // namespace capflow::graph
