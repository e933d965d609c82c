// New molecules from fragments of real ones: every source molecule is broken at its BRICS
// bonds (RDKit's fragmentOnBRICSBonds); generation joins fragments only through attachment
// points whose BRICS environments may bond (RDKit's BRICS bond types), so each new bond is
// one BRICS could have cut. Remaining attachment points are capped with hydrogen.
// Generation is deterministic: molecule (seed, index) is the same on any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace RDKit {
class ROMol;
}

namespace capflow::data {

// Atoms heavier than hydrogen (dummy attachment points excluded).
int heavy_atoms(const RDKit::ROMol& mol);

struct GenerateOptions {
  int min_heavy_atoms = 10;
  int max_heavy_atoms = 50;
  double mean_heavy_atoms = 27;  // target drawn from a normal law, clipped to [min, max]
  double sd_heavy_atoms = 8;
  int max_attempts = 30;
};

class FragmentLibrary {
 public:
  // Fragments every parsable SMILES (in parallel); keeps distinct fragments (by canonical
  // SMILES, in input order) with 1 to 4 attachment points and at most 40 heavy atoms.
  static FragmentLibrary from_smiles(const std::vector<std::string>& smiles);

  std::size_t size() const;
  std::size_t attachment_points() const;

  // Canonical isomeric SMILES of generated molecule `index`; nullopt when every attempt
  // failed (sanitisation, size outside the range).
  std::optional<std::string> generate(std::uint64_t seed, std::uint64_t index,
                                      const GenerateOptions& options = {}) const;

  struct Impl;

 private:
  explicit FragmentLibrary(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace capflow::data
