// The text a captioner learns for each sample, in the notation it writes. InChI: the label
// itself. SMILES: the dataset's side file (io::kSmilesFile, written by `capflow data make`) by
// image id, else the label's InChI turned into SMILES by Open Babel (a Kaggle labels file has
// InChI only; about 2,500 labels per second on one core, converted once, up front).
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "nodes/io/labels_csv.h"
#include "nodes/io/sample_listing.h"
#include "nodes/text/notation.h"

namespace capflow::batch {

class CaptionTargets {
 public:
  CaptionTargets() = default;  // InChI: every label as it is
  // SMILES targets for the rows of a labels file; `smiles_path` is read when the file exists.
  // Throws DataError naming the file and line of a label Open Babel cannot convert.
  CaptionTargets(const std::vector<io::LabelRow>& labels, const std::string& labels_path,
                 const std::string& smiles_path);
  // Targets in `notation` for samples looked up one by one: SMILES from `smiles_path` when it
  // exists, else converted (no texts()).
  CaptionTargets(text::Notation notation, const std::string& smiles_path);

  text::Notation notation() const { return notation_; }
  // The training text of a sample: its label (InChI), or its SMILES (by id; a sample outside
  // the labels file is converted from its label now). Empty for an unlabelled sample.
  std::string text_of(const io::SampleRef& sample) const;
  // The texts of the labels file's rows, in order (what a vocabulary is built from).
  const std::vector<std::string>& texts() const { return texts_; }
  // How many SMILES came from the side file and how many from converting an InChI.
  std::size_t from_file() const { return from_file_; }
  std::size_t converted() const { return converted_; }

 private:
  text::Notation notation_ = text::Notation::kInchi;
  std::unordered_map<std::string, std::string> by_id_;
  std::vector<std::string> texts_;
  std::size_t from_file_ = 0, converted_ = 0;
};

}  // namespace capflow::batch
