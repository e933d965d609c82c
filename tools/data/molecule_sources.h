// Molecule lists for the dataset maker: SMILES files (.smi, .smiles, .txt: SMILES first on
// each line), CSV/TSV with a SMILES column (by header name, else the first column) and SDF.
// Records are kept as text with their origin (file:line); parsing happens later, in
// parallel, where a bad record is counted and skipped.
#pragma once

#include <string>
#include <vector>

namespace capflow::data {

enum class MoleculeFormat { kSmiles, kMolblock };

struct MoleculeRecord {
  MoleculeFormat format = MoleculeFormat::kSmiles;
  std::string text;
  std::string origin;  // "path:line"
};

// Reads every record of one file. Throws ConfigError naming the file when it cannot be
// opened or its kind is not recognised.
std::vector<MoleculeRecord> read_molecule_file(const std::string& path);

// The two lists shipped by Debian's rdkit-data: NCI first_5K.smi and PAINS wehi_mols.csv.
std::vector<std::string> default_molecule_files();

}  // namespace capflow::data
