#include "tools/data/molecule_sources.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "graph/errors.h"

#ifndef CAPFLOW_RDKIT_DATA_DIR
#define CAPFLOW_RDKIT_DATA_DIR "/usr/share/RDKit/Data"
#endif

namespace capflow::data {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string strip(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// Splits one CSV line; quoted fields may hold the delimiter and doubled quotes.
std::vector<std::string> split_csv(const std::string& line, char delim) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == delim) {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  for (auto& f : fields) f = strip(f);
  return fields;
}

std::ifstream open_or_throw(const std::string& path) {
  if (std::filesystem::is_directory(path))
    throw ConfigError("molecule file " + path + " is a directory");
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot open molecule file " + path);
  return in;
}

std::vector<MoleculeRecord> read_smiles(const std::string& path) {
  auto in = open_or_throw(path);
  std::vector<MoleculeRecord> out;
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    const std::string s = strip(line);
    if (s.empty() || s[0] == '#') continue;
    const std::string first = s.substr(0, s.find_first_of(" \t"));
    if (n == 1 && lower(first) == "smiles") continue;  // header
    out.push_back({MoleculeFormat::kSmiles, first, path + ":" + std::to_string(n)});
  }
  return out;
}

std::vector<MoleculeRecord> read_csv(const std::string& path, char delim) {
  auto in = open_or_throw(path);
  std::vector<MoleculeRecord> out;
  std::string line;
  std::size_t n = 0, column = 0;
  while (std::getline(in, line)) {
    ++n;
    if (strip(line).empty()) continue;
    const auto fields = split_csv(line, delim);
    if (n == 1) {
      bool header = false;
      for (std::size_t i = 0; i < fields.size(); ++i) {
        if (lower(fields[i]) == "smiles") {
          column = i;
          header = true;
          break;
        }
      }
      if (header) continue;
    }
    out.push_back({MoleculeFormat::kSmiles, column < fields.size() ? fields[column] : std::string(),
                   path + ":" + std::to_string(n)});
  }
  return out;
}

std::vector<MoleculeRecord> read_sdf(const std::string& path) {
  auto in = open_or_throw(path);
  std::vector<MoleculeRecord> out;
  std::string line, block;
  std::size_t n = 0, start = 1;
  bool in_block = true;  // collecting the molblock (before "M  END")
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == "$$$$") {
      if (!strip(block).empty())
        out.push_back({MoleculeFormat::kMolblock, block, path + ":" + std::to_string(start)});
      block.clear();
      start = n + 1;
      in_block = true;
      continue;
    }
    if (in_block) {
      block += line;
      block += '\n';
      if (line.rfind("M  END", 0) == 0) in_block = false;
    }
  }
  if (!strip(block).empty())
    out.push_back({MoleculeFormat::kMolblock, block, path + ":" + std::to_string(start)});
  return out;
}

}  // namespace

std::vector<MoleculeRecord> read_molecule_file(const std::string& path) {
  if (!std::filesystem::exists(path))
    throw ConfigError("molecule file " + path + " does not exist");
  const std::string ext = lower(std::filesystem::path(path).extension().string());
  if (ext == ".smi" || ext == ".smiles" || ext == ".txt") return read_smiles(path);
  if (ext == ".csv") return read_csv(path, ',');
  if (ext == ".tsv") return read_csv(path, '\t');
  if (ext == ".sdf" || ext == ".sd" || ext == ".mol") return read_sdf(path);
  throw ConfigError("molecule file " + path + ": unknown kind '" + ext +
                    "' (expected .smi, .smiles, .txt, .csv, .tsv, .sdf, .sd or .mol)");
}

std::vector<std::string> default_molecule_files() {
  const std::string dir = CAPFLOW_RDKIT_DATA_DIR;
  return {dir + "/NCI/first_5K.smi", dir + "/Pains/test_data/wehi_mols.csv"};
}

}  // namespace capflow::data
