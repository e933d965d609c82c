// `capflow data check`: verifies a BMS-layout dataset: every labelled image exists and
// decodes, every label is a valid standard InChI (InChI-to-structure through Open Babel)
// and survives the tokenizer round trip.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace capflow::data {

struct CheckReport {
  std::uint64_t rows = 0, decoded = 0, missing = 0, corrupt = 0;
  std::uint64_t valid_inchi = 0, canonical_inchi = 0, round_trip = 0;
  std::uint64_t vocabulary_size = 0;
  double seconds = 0;
  std::vector<std::string> problems;  // the first few, with file or id

  bool ok() const {
    return missing == 0 && corrupt == 0 && valid_inchi == rows && round_trip == rows;
  }
};

// `limit` 0: every row.
CheckReport check_dataset(const std::string& dir, std::uint64_t limit = 0);

}  // namespace capflow::data
