#include "nodes/io/labels_csv.h"

#include <fstream>

#include "graph/errors.h"

namespace capflow::io {
namespace {

std::string unquote(const std::string& field, const std::string& where) {
  if (field.size() < 2 || field.front() != '"') return field;
  if (field.back() != '"') throw DataError(where + ": unterminated quoted field");
  std::string out;
  out.reserve(field.size());
  for (std::size_t i = 1; i + 1 < field.size(); ++i) {
    out += field[i];
    if (field[i] == '"') {
      if (i + 2 < field.size() && field[i + 1] == '"') {
        ++i;
      } else {
        throw DataError(where + ": stray quote inside a quoted field");
      }
    }
  }
  return out;
}

}  // namespace

void for_each_label(const std::string& path, const std::function<void(LabelRow&&)>& fn,
                    const std::string& header) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot open labels file " + path);
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_no == 1) {
      if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // UTF-8 byte-order mark
      if (line != header) {
        throw ConfigError(path + ":1: expected the header '" + header + "', found '" +
                          line.substr(0, 60) + "'");
      }
      continue;
    }
    if (line.empty()) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    const auto comma = line.find(',');
    if (comma == std::string::npos || comma == 0 || comma + 1 == line.size()) {
      throw DataError(where + ": expected '" + header + "'");
    }
    LabelRow row;
    row.image_id = line.substr(0, comma);
    row.inchi = unquote(line.substr(comma + 1), where);
    row.line = line_no;
    fn(std::move(row));
  }
}

std::vector<LabelRow> read_labels_csv(const std::string& path, const std::string& header) {
  std::vector<LabelRow> rows;
  for_each_label(
      path, [&](LabelRow&& r) { rows.push_back(std::move(r)); }, header);
  return rows;
}

std::string format_label_line(const std::string& image_id, const std::string& inchi) {
  std::string out = image_id;
  out += ",\"";
  for (char c : inchi) {
    out += c;
    if (c == '"') out += '"';
  }
  out += "\"\n";
  return out;
}

}  // namespace capflow::io
