#include "nodes/io/atom_positions.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "graph/errors.h"
#include "nodes/io/labels_csv.h"

namespace capflow::io {
namespace {

constexpr std::array<const char*, kAtomClasses> kSymbols = {"",   "C",  "N", "O", "S", "F",
                                                            "Cl", "Br", "I", "P", "H", "*"};

// Finite and within a float's range: a position stored as a float must not turn infinite.
bool fits_float(double v) {
  return std::isfinite(v) && std::abs(v) <= std::numeric_limits<float>::max();
}

}  // namespace

AtomClass atom_class(const std::string& symbol) {
  for (int c = kCarbon; c < kOtherElement; ++c)
    if (symbol == kSymbols[static_cast<std::size_t>(c)]) return static_cast<AtomClass>(c);
  return kOtherElement;
}

const char* atom_class_symbol(AtomClass c) {
  return static_cast<int>(c) < kAtomClasses ? kSymbols[c] : kSymbols[kOtherElement];
}

std::string format_atoms(const std::vector<AtomPoint>& atoms) {
  std::string out;
  char buf[64];
  for (const AtomPoint& a : atoms) {
    if (!out.empty()) out += ';';
    std::snprintf(buf, sizeof buf, "%s %.2f %.2f", atom_class_symbol(a.cls), a.x, a.y);
    out += buf;
  }
  return out;
}

std::vector<AtomPoint> parse_atoms(const std::string& text) {
  std::vector<AtomPoint> atoms;
  std::istringstream entries(text);
  std::string entry;
  while (std::getline(entries, entry, ';')) {
    std::istringstream fields(entry);
    std::string symbol, rest;
    double x = 0, y = 0;
    if (!(fields >> symbol >> x >> y) || (fields >> rest) || !fits_float(x) || !fits_float(y)) {
      throw std::invalid_argument("bad atom '" + entry.substr(0, 40) +
                                  "' (expected 'SYMBOL X Y', finite coordinates within a float)");
    }
    atoms.push_back({atom_class(symbol), static_cast<float>(x), static_cast<float>(y)});
  }
  return atoms;
}

std::vector<AtomPoint> map_atoms(const std::vector<AtomPoint>& atoms, const PixelMap& map,
                                 int width, int height) {
  std::vector<AtomPoint> out;
  out.reserve(atoms.size());
  for (const AtomPoint& a : atoms) {
    const double x = map.map_x(a.x, a.y), y = map.map_y(a.x, a.y);
    if (x >= 0 && y >= 0 && x < width && y < height)
      out.push_back({a.cls, static_cast<float>(x), static_cast<float>(y)});
  }
  return out;
}

std::unordered_map<std::string, std::vector<AtomPoint>> read_atoms_file(const std::string& path) {
  std::unordered_map<std::string, std::vector<AtomPoint>> by_id;
  for_each_label(
      path,
      [&](LabelRow&& row) {
        try {
          by_id[row.image_id] = parse_atoms(row.inchi);
        } catch (const std::invalid_argument& e) {
          throw DataError(path + ":" + std::to_string(row.line) + ": " + e.what());
        }
      },
      kAtomsHeader);
  return by_id;
}

}  // namespace capflow::io
