// Standard InChI through Open Babel (which wraps the IUPAC InChI library). Open Babel's
// format objects and the InChI library it links are not thread-safe, so every call here is
// serialised by one process-wide lock; callers may use them from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace capflow::chem {

// Standard InChI ("InChI=1S/...") of an MDL molblock, stereo perceived from its 2D
// coordinates and wedges. nullopt when Open Babel cannot read it or InChI generation fails.
std::optional<std::string> inchi_from_molblock(const std::string& molblock);

struct InchiCheck {
  bool valid = false;       // the InChI library turns it back into a structure
  bool canonical = false;   // and that structure's standard InChI is the same text
  std::string regenerated;  // the InChI written back from the structure (empty when invalid)
};

// Parses the InChI into a structure (InChI-to-structure) and writes it back.
InchiCheck check_inchi(std::string_view inchi);

// Canonical isomeric SMILES (Open Babel's "can": aromatic atoms in lower case, stereo kept) of
// a molblock, stereo perceived from its 2D coordinates and wedges; nullopt when unreadable.
std::optional<std::string> smiles_from_molblock(const std::string& molblock);

// Canonical isomeric SMILES of the structure an InChI describes (its mobile hydrogens placed
// by the InChI library, so a drawn amide may come back as its imidic acid). nullopt when the
// InChI library cannot read it.
std::optional<std::string> smiles_from_inchi(std::string_view inchi);

// Standard InChI of a SMILES; nullopt when Open Babel cannot parse it (unclosed rings or
// branches, unknown atoms) or InChI generation fails. Not for untrusted text in the main
// process: see inchis_from_smiles_isolated.
std::optional<std::string> inchi_from_smiles(std::string_view smiles);

// Open Babel's version string.
std::string openbabel_version();

}  // namespace capflow::chem
