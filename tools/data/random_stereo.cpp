#include "tools/data/random_stereo.h"

#include <GraphMol/Chirality.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolOps.h>

#include <utility>
#include <vector>

namespace capflow::data {

int assign_random_stereo(RDKit::RWMol& mol, double probability, SeededRng& rng) {
  if (probability <= 0) return 0;
  int assigned = 0;
  const auto infos =
      RDKit::Chirality::findPotentialStereo(mol, /*cleanIt=*/false, /*flagPossible=*/true);
  std::vector<std::pair<const RDKit::Chirality::StereoInfo*, bool>> bonds;
  for (const auto& info : infos) {
    if (info.specified != RDKit::Chirality::StereoSpecified::Unspecified) continue;
    if (!rng.bernoulli(probability)) continue;
    const bool flip = rng.bernoulli(0.5);
    if (info.type == RDKit::Chirality::StereoType::Atom_Tetrahedral) {
      mol.getAtomWithIdx(info.centeredOn)
          ->setChiralTag(flip ? RDKit::Atom::CHI_TETRAHEDRAL_CW : RDKit::Atom::CHI_TETRAHEDRAL_CCW);
      ++assigned;
    } else if (info.type == RDKit::Chirality::StereoType::Bond_Double &&
               info.controllingAtoms.size() == 4) {
      bonds.emplace_back(&info, flip);
    }
  }
  // Drops configurations on centres that turn out not to be stereogenic. Double bonds are set
  // afterwards: this (legacy) perception would clear a cis/trans given without bond directions.
  RDKit::MolOps::assignStereochemistry(mol, /*cleanIt=*/true, /*force=*/true);
  for (const auto& [info, flip] : bonds) {
    const unsigned a = info->controllingAtoms[0], b = info->controllingAtoms[2];
    if (a == RDKit::Chirality::StereoInfo::NOATOM || b == RDKit::Chirality::StereoInfo::NOATOM)
      continue;
    RDKit::Bond* bond = mol.getBondWithIdx(info->centeredOn);
    bond->setStereoAtoms(a, b);
    bond->setStereo(flip ? RDKit::Bond::STEREOCIS : RDKit::Bond::STEREOTRANS);
    ++assigned;
  }
  return assigned;
}

}  // namespace capflow::data
