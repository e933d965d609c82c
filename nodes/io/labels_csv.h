// The BMS labels file: a header "image_id,InChI", then one row per image. InChI fields hold
// commas, so they are written quoted; reading accepts quoted or unquoted fields (everything
// after the first comma is the InChI, since ids hold no comma).
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace capflow::io {

struct LabelRow {
  std::string image_id;
  std::string inchi;
  std::size_t line = 0;  // 1-based line in the file
};

// Calls fn for each row, streaming. Throws ConfigError if the file cannot be opened or the
// header is wrong, DataError naming file:line for a malformed row.
void for_each_label(const std::string& path, const std::function<void(LabelRow&&)>& fn);
std::vector<LabelRow> read_labels_csv(const std::string& path);

inline constexpr const char* kLabelsHeader = "image_id,InChI";
// One CSV line, newline included: id,"InChI" (quotes inside doubled).
std::string format_label_line(const std::string& image_id, const std::string& inchi);

}  // namespace capflow::io
