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
  bool valid = false;      // the InChI library turns it back into a structure
  bool canonical = false;  // and that structure's standard InChI is the same text
  std::string regenerated; // the InChI written back from the structure (empty when invalid)
};

// Parses the InChI into a structure (InChI-to-structure) and writes it back.
InchiCheck check_inchi(std::string_view inchi);

// Open Babel's version string.
std::string openbabel_version();

}  // namespace capflow::chem
