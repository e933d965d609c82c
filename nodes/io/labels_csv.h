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
  std::string inchi;     // the second field: the InChI (the SMILES in a SMILES file)
  std::size_t line = 0;  // 1-based line in the file
};

// Calls fn for each row, streaming. Throws ConfigError if the file cannot be opened or the
// header is wrong, DataError naming file:line for a malformed row.
inline constexpr const char* kLabelsHeader = "image_id,InChI";
// The dataset maker's side file beside train_labels.csv: the SMILES of each drawn structure
// (Open Babel's canonical SMILES), same rows and format, header "image_id,SMILES".
inline constexpr const char* kSmilesHeader = "image_id,SMILES";
inline constexpr const char* kSmilesFile = "train_smiles.csv";

void for_each_label(const std::string& path, const std::function<void(LabelRow&&)>& fn,
                    const std::string& header = kLabelsHeader);
std::vector<LabelRow> read_labels_csv(const std::string& path,
                                      const std::string& header = kLabelsHeader);

// One CSV line, newline included: id,"InChI" (quotes inside doubled); SMILES lines alike.
std::string format_label_line(const std::string& image_id, const std::string& inchi);

}  // namespace capflow::io
