// Where each atom of a drawn molecule sits in its picture: the dataset maker's side file
// train_atoms.csv (header "image_id,atoms"), one row per image, atoms written as
// "C 12.5 40.2;N 33.0 41.9;…" (element symbol, x, y in the saved picture's pixel coordinates,
// pixel_map.h's convention). A dense signal the picture alone answers: which element, if any,
// is drawn in each cell of the encoder's grid (attention_lstm's atom_loss).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "nodes/io/pixel_map.h"

namespace capflow::io {

inline constexpr const char* kAtomsHeader = "image_id,atoms";
inline constexpr const char* kAtomsFile = "train_atoms.csv";

// Element classes of a grid cell: 0 is "no atom"; carbon has the lowest atom class, so where
// atoms share a cell a heteroatom (the drawn label) wins.
enum AtomClass : std::uint8_t {
  kNoAtom = 0,
  kCarbon,
  kNitrogen,
  kOxygen,
  kSulfur,
  kFluorine,
  kChlorine,
  kBromine,
  kIodine,
  kPhosphorus,
  kHydrogen,
  kOtherElement,
};
inline constexpr int kAtomClasses = 12;

// The class of an element symbol ("C", "Cl", …); kOtherElement for any other symbol.
AtomClass atom_class(const std::string& symbol);
const char* atom_class_symbol(AtomClass c);  // "C", … ; "*" for kOtherElement, "" for none

struct AtomPoint {
  AtomClass cls = kNoAtom;
  float x = 0, y = 0;
};

// "C 12.5 40.2;N 33.0 41.9" (two decimals) and back. parse_atoms throws std::invalid_argument
// naming the bad entry.
std::string format_atoms(const std::vector<AtomPoint>& atoms);
std::vector<AtomPoint> parse_atoms(const std::string& text);

// The points moved by `map` (a picture's crop, turn and resize), those outside
// [0, width) x [0, height) dropped.
std::vector<AtomPoint> map_atoms(const std::vector<AtomPoint>& atoms, const PixelMap& map,
                                 int width, int height);

// Every row of a train_atoms.csv by image id. Throws ConfigError when the file cannot be read
// or its header is wrong, DataError naming file:line for a malformed row.
std::unordered_map<std::string, std::vector<AtomPoint>> read_atoms_file(const std::string& path);

}  // namespace capflow::io
