#include "tools/data/fragment_library.h"

#include <GraphMol/ChemTransforms/MolFragmenter.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "graph/seeded_random.h"

namespace capflow::data {

int heavy_atoms(const RDKit::ROMol& m) {
  int n = 0;
  for (const auto* a : m.atoms()) n += a->getAtomicNum() > 1 ? 1 : 0;
  return n;
}

namespace {

struct Attachment {
  unsigned dummy;  // atom index of the dummy in the fragment
  unsigned label;  // BRICS environment of the atom it hangs on
};

struct Fragment {
  RDKit::ROMOL_SPTR mol;
  std::vector<Attachment> attachments;
  int heavy = 0;
};

std::vector<Fragment> fragments_of(const std::string& smiles) {
  std::vector<Fragment> out;
  try {
    std::unique_ptr<RDKit::RWMol> mol(RDKit::SmilesToMol(smiles));
    if (!mol) return out;
    std::unique_ptr<RDKit::ROMol> broken(RDKit::MolFragmenter::fragmentOnBRICSBonds(*mol));
    if (!broken) return out;
    for (auto& frag : RDKit::MolOps::getMolFrags(*broken, /*sanitizeFrags=*/false)) {
      Fragment f;
      for (const auto* a : frag->atoms()) {
        if (a->getAtomicNum() == 0) f.attachments.push_back({a->getIdx(), a->getIsotope()});
      }
      f.heavy = heavy_atoms(*frag);
      if (f.attachments.empty() || f.attachments.size() > 4 || f.heavy < 1 || f.heavy > 40)
        continue;
      bool single_neighbours = true;
      for (const auto& att : f.attachments) {
        single_neighbours &= frag->getAtomWithIdx(att.dummy)->getDegree() == 1;
      }
      if (!single_neighbours) continue;
      f.mol = frag;
      out.push_back(std::move(f));
    }
  } catch (...) {
    out.clear();  // an unparsable or unbreakable molecule contributes nothing
  }
  return out;
}

}  // namespace

struct FragmentLibrary::Impl {
  std::vector<Fragment> fragments;
  std::map<unsigned, std::vector<std::pair<std::uint32_t, std::uint32_t>>>
      by_label;                                        // label -> (fragment, attachment)
  std::map<unsigned, std::vector<unsigned>> partners;  // label -> labels it may bond to
  std::size_t attachment_count = 0;

  // Picks a fragment attachment whose label may bond to `label`; false when none exists.
  bool pick_partner(unsigned label, SeededRng& rng, std::uint32_t& frag, std::uint32_t& att) const {
    auto p = partners.find(label);
    if (p == partners.end()) return false;
    std::size_t total = 0;
    for (unsigned l : p->second) {
      auto it = by_label.find(l);
      if (it != by_label.end()) total += it->second.size();
    }
    if (total == 0) return false;
    std::size_t r = rng.index(total);
    for (unsigned l : p->second) {
      auto it = by_label.find(l);
      if (it == by_label.end()) continue;
      if (r < it->second.size()) {
        frag = it->second[r].first;
        att = it->second[r].second;
        return true;
      }
      r -= it->second.size();
    }
    return false;
  }
};

namespace {

// Joins attachment `dummy` of `m` to attachment `att` of `frag`: the two dummies go, their
// neighbours get the bond (of the type the dummy bonds had).
void join(RDKit::RWMol& m, unsigned dummy, const Fragment& frag, const Attachment& att) {
  const RDKit::Atom* d = m.getAtomWithIdx(dummy);
  const unsigned a = (*m.getAtomNeighbors(d).first);
  const RDKit::Bond::BondType type = m.getBondBetweenAtoms(dummy, a)->getBondType();
  const unsigned offset = m.getNumAtoms();
  m.insertMol(*frag.mol);
  const unsigned fd = offset + att.dummy;
  const unsigned b = (*m.getAtomNeighbors(m.getAtomWithIdx(fd)).first);
  m.addBond(a, b, type);
  m.removeAtom(fd);  // the higher index first, so `dummy` keeps its index
  m.removeAtom(dummy);
}

// Replaces every dummy by hydrogen on its neighbour.
void cap_attachments(RDKit::RWMol& m) {
  for (int i = static_cast<int>(m.getNumAtoms()) - 1; i >= 0; --i) {
    const RDKit::Atom* d = m.getAtomWithIdx(static_cast<unsigned>(i));
    if (d->getAtomicNum() != 0) continue;
    if (d->getDegree() == 1) {
      RDKit::Atom* n = m.getAtomWithIdx(*m.getAtomNeighbors(d).first);
      const auto* bond = m.getBondBetweenAtoms(static_cast<unsigned>(i), n->getIdx());
      const int order = bond->getBondType() == RDKit::Bond::DOUBLE ? 2 : 1;
      if (n->getNoImplicit() || n->getIsAromatic())
        n->setNumExplicitHs(n->getNumExplicitHs() + order);
    }
    m.removeAtom(static_cast<unsigned>(i));
  }
}

}  // namespace

FragmentLibrary FragmentLibrary::from_smiles(const std::vector<std::string>& smiles) {
  auto impl = std::make_shared<Impl>();
  // First call outside the parallel loop: RDKit builds its BRICS patterns lazily.
  std::vector<RDKit::MolFragmenter::FragmenterBondType> bond_types;
  RDKit::MolFragmenter::constructBRICSBondTypes(bond_types);
  if (!smiles.empty()) fragments_of(smiles.front());

  std::vector<std::vector<Fragment>> per_molecule(smiles.size());
  tbb::parallel_for(std::size_t{0}, smiles.size(),
                    [&](std::size_t i) { per_molecule[i] = fragments_of(smiles[i]); });

  std::set<std::string> seen;
  for (auto& frags : per_molecule) {
    for (auto& f : frags) {
      std::string key = RDKit::MolToSmiles(*f.mol);
      if (!seen.insert(std::move(key)).second) continue;
      const auto index = static_cast<std::uint32_t>(impl->fragments.size());
      for (std::uint32_t k = 0; k < f.attachments.size(); ++k) {
        impl->by_label[f.attachments[k].label].emplace_back(index, k);
        ++impl->attachment_count;
      }
      impl->fragments.push_back(std::move(f));
    }
  }
  for (const auto& bt : bond_types) {
    auto& a = impl->partners[bt.atom1Label];
    if (std::find(a.begin(), a.end(), bt.atom2Label) == a.end()) a.push_back(bt.atom2Label);
    auto& b = impl->partners[bt.atom2Label];
    if (std::find(b.begin(), b.end(), bt.atom1Label) == b.end()) b.push_back(bt.atom1Label);
  }
  for (auto& [label, list] : impl->partners) std::sort(list.begin(), list.end());
  return FragmentLibrary(std::move(impl));
}

std::size_t FragmentLibrary::size() const { return impl_->fragments.size(); }
std::size_t FragmentLibrary::attachment_points() const { return impl_->attachment_count; }

std::optional<std::string> FragmentLibrary::generate(std::uint64_t seed, std::uint64_t index,
                                                     const GenerateOptions& opt) const {
  const Impl& lib = *impl_;
  if (lib.fragments.empty()) return std::nullopt;
  SeededRng rng({seed, index, 0x67656e6572617465ULL /* "generate" */});
  for (int attempt = 0; attempt < opt.max_attempts; ++attempt) {
    const double drawn = opt.mean_heavy_atoms + opt.sd_heavy_atoms * rng.normal();
    const int target =
        std::clamp(static_cast<int>(std::lround(drawn)), opt.min_heavy_atoms, opt.max_heavy_atoms);
    try {
      RDKit::RWMol m(*lib.fragments[rng.index(lib.fragments.size())].mol);
      for (int step = 0; step < 16; ++step) {
        const int heavy = heavy_atoms(m);
        if (heavy >= target) break;
        std::vector<unsigned> open;
        for (const auto* a : m.atoms()) {
          if (a->getAtomicNum() == 0) open.push_back(a->getIdx());
        }
        if (open.empty()) break;
        const unsigned dummy = open[rng.index(open.size())];
        std::uint32_t f = 0, k = 0;
        bool found = false;
        for (int tries = 0; tries < 6 && !found; ++tries) {
          if (!lib.pick_partner(m.getAtomWithIdx(dummy)->getIsotope(), rng, f, k)) break;
          found = heavy + lib.fragments[f].heavy <= opt.max_heavy_atoms;
        }
        if (!found) break;
        join(m, dummy, lib.fragments[f], lib.fragments[f].attachments[k]);
      }
      cap_attachments(m);
      for (auto* a : m.atoms()) a->setIsotope(0);
      RDKit::MolOps::sanitizeMol(m);
      const int heavy = heavy_atoms(m);
      if (heavy < opt.min_heavy_atoms || heavy > opt.max_heavy_atoms) continue;
      if (RDKit::MolOps::getMolFrags(m).size() != 1) continue;
      RDKit::MolOps::assignStereochemistry(m, /*cleanIt=*/true, /*force=*/true);
      std::string smiles = RDKit::MolToSmiles(m);
      std::unique_ptr<RDKit::RWMol> check(RDKit::SmilesToMol(smiles));
      if (!check) continue;
      return smiles;
    } catch (...) {
      continue;  // sanitisation or kekulisation failed: draw again
    }
  }
  return std::nullopt;
}

}  // namespace capflow::data
