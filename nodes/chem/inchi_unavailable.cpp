// capflow_chem in a build without Open Babel (CAPFLOW_CHEMISTRY=OFF, for example the GPU
// check's): every function says so instead of answering wrongly.
#include "graph/errors.h"
#include "nodes/chem/inchi_openbabel.h"

namespace capflow::chem {

namespace {
[[noreturn]] void unavailable(const char* what) {
  throw Error(std::string(what) +
              " needs Open Babel, which this build leaves out (configured with "
              "-DCAPFLOW_CHEMISTRY=OFF); use a full build");
}
}  // namespace

std::optional<std::string> inchi_from_molblock(const std::string&) {
  unavailable("InChI generation");
}

InchiCheck check_inchi(std::string_view) { unavailable("InChI validity"); }

std::optional<std::string> smiles_from_molblock(const std::string&) {
  unavailable("SMILES generation");
}

std::optional<std::string> smiles_from_inchi(std::string_view) { unavailable("SMILES generation"); }

std::optional<std::string> inchi_from_smiles(std::string_view) { unavailable("InChI generation"); }

std::string openbabel_version() { return "none (CAPFLOW_CHEMISTRY=OFF)"; }

}  // namespace capflow::chem
