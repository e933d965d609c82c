#include "nodes/chem/inchi_openbabel.h"

#include <openbabel/babelconfig.h>
#include <openbabel/mol.h>
#include <openbabel/obconversion.h>
#include <openbabel/oberror.h>

#include <mutex>

namespace capflow::chem {
namespace {

std::mutex& ob_mutex() {
  static std::mutex m;
  return m;
}

struct Converters {
  OpenBabel::OBConversion mol_to_inchi;
  OpenBabel::OBConversion inchi_to_inchi;
  OpenBabel::OBConversion mol_to_smiles;
  OpenBabel::OBConversion inchi_to_smiles;
  OpenBabel::OBConversion smiles_to_inchi;
  bool ok = false;
  Converters() {
    // Warnings (undefined stereo, charge rearrangement) go nowhere: a failed conversion is
    // reported by the caller through its return value.
    OpenBabel::obErrorLog.StopLogging();
    ok = mol_to_inchi.SetInAndOutFormats("mol", "inchi") &&
         inchi_to_inchi.SetInAndOutFormats("inchi", "inchi") &&
         mol_to_smiles.SetInAndOutFormats("mol", "can") &&
         inchi_to_smiles.SetInAndOutFormats("inchi", "can") &&
         smiles_to_inchi.SetInAndOutFormats("smi", "inchi");
    for (auto* c : {&mol_to_inchi, &inchi_to_inchi, &smiles_to_inchi})
      c->AddOption("w", OpenBabel::OBConversion::OUTOPTIONS);  // no warnings
    for (auto* c : {&mol_to_smiles, &inchi_to_smiles})
      c->AddOption("n", OpenBabel::OBConversion::OUTOPTIONS);  // no molecule name
  }
};

// Call with ob_mutex() held.
Converters& converters() {
  static Converters c;
  return c;
}

std::string trim(std::string s) {
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.pop_back();
  return s;
}

}  // namespace

namespace {

// Reads `text` with the converter `member` picks and writes it back in its output format,
// under the process-wide lock; nullopt when Open Babel lacks the formats, the text gives no
// atoms or the output is empty.
std::optional<std::string> convert(OpenBabel::OBConversion Converters::*member,
                                   const std::string& text) {
  std::lock_guard<std::mutex> lock(ob_mutex());
  Converters& c = converters();
  if (!c.ok) return std::nullopt;
  OpenBabel::OBConversion& conversion = c.*member;
  OpenBabel::OBMol mol;
  if (!conversion.ReadString(&mol, text) || mol.NumAtoms() == 0) return std::nullopt;
  std::string out = trim(conversion.WriteString(&mol, true));
  if (out.empty()) return std::nullopt;
  return out;
}

// A conversion's output when it is a standard InChI, else nullopt.
std::optional<std::string> standard_inchi(std::optional<std::string> out) {
  if (!out || out->rfind("InChI=1S/", 0) != 0) return std::nullopt;
  return out;
}

}  // namespace

std::optional<std::string> inchi_from_molblock(const std::string& molblock) {
  return standard_inchi(convert(&Converters::mol_to_inchi, molblock));
}

std::optional<std::string> smiles_from_molblock(const std::string& molblock) {
  return convert(&Converters::mol_to_smiles, molblock);
}

std::optional<std::string> smiles_from_inchi(std::string_view inchi) {
  if (inchi.rfind("InChI=", 0) != 0) return std::nullopt;
  return convert(&Converters::inchi_to_smiles, std::string(inchi));
}

std::optional<std::string> inchi_from_smiles(std::string_view smiles) {
  if (smiles.empty()) return std::nullopt;
  return standard_inchi(convert(&Converters::smiles_to_inchi, std::string(smiles)));
}

InchiCheck check_inchi(std::string_view inchi) {
  InchiCheck result;
  if (inchi.rfind("InChI=", 0) != 0) return result;
  std::lock_guard<std::mutex> lock(ob_mutex());
  Converters& c = converters();
  if (!c.ok) return result;
  OpenBabel::OBMol mol;
  if (!c.inchi_to_inchi.ReadString(&mol, std::string(inchi)) || mol.NumAtoms() == 0) return result;
  result.valid = true;
  result.regenerated = trim(c.inchi_to_inchi.WriteString(&mol, true));
  result.canonical = result.regenerated == inchi;
  return result;
}

std::string openbabel_version() { return BABEL_VERSION; }

}  // namespace capflow::chem
