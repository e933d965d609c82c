#include "nodes/batch/caption_targets.h"

#include <filesystem>

#include "graph/errors.h"
#include "nodes/chem/inchi_openbabel.h"

namespace capflow::batch {

namespace {

std::unordered_map<std::string, std::string> read_smiles_file(const std::string& path) {
  std::unordered_map<std::string, std::string> by_id;
  std::error_code ec;
  if (path.empty() || !std::filesystem::exists(path, ec)) return by_id;
  io::for_each_label(
      path, [&](io::LabelRow&& row) { by_id[row.image_id] = std::move(row.inchi); },
      io::kSmilesHeader);
  return by_id;
}

std::string smiles_of(const std::string& inchi, const std::string& where) {
  auto smiles = chem::smiles_from_inchi(inchi);
  if (!smiles)
    throw DataError(where + ": Open Babel cannot turn the InChI into SMILES: '" +
                    inchi.substr(0, 80) + "'");
  return *smiles;
}

}  // namespace

CaptionTargets::CaptionTargets(const std::vector<io::LabelRow>& labels,
                               const std::string& labels_path, const std::string& smiles_path)
    : notation_(text::Notation::kSmiles), by_id_(read_smiles_file(smiles_path)) {
  texts_.reserve(labels.size());
  for (const auto& row : labels) {
    auto it = by_id_.find(row.image_id);
    if (it != by_id_.end()) {
      ++from_file_;
    } else {
      const std::string where = labels_path + ":" + std::to_string(row.line);
      it = by_id_.emplace(row.image_id, smiles_of(row.inchi, where)).first;
      ++converted_;
    }
    texts_.push_back(it->second);
  }
}

CaptionTargets::CaptionTargets(text::Notation notation, const std::string& smiles_path)
    : notation_(notation) {
  if (notation_ == text::Notation::kSmiles) by_id_ = read_smiles_file(smiles_path);
}

std::string CaptionTargets::text_of(const io::SampleRef& sample) const {
  if (notation_ == text::Notation::kInchi || sample.label.empty()) return sample.label;
  const auto it = by_id_.find(sample.id);
  if (it != by_id_.end()) return it->second;
  return smiles_of(sample.label, sample.path);
}

}  // namespace capflow::batch
