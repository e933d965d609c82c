// InChI validity and SMILES-to-InChI conversion for untrusted text (a model's predictions), checked
// in child processes: the IUPAC InChI library behind Open Babel is not robust to malformed input
// (on some predictions of a partly trained model it frees an invalid pointer and aborts the
// process). A string that kills the checking process counts as invalid, and checking goes on in a
// new one.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace capflow::chem {

struct IsolatedChecks {
  std::vector<bool> valid;           // one per input: check_inchi(text).valid
  std::vector<std::size_t> crashed;  // indices of inputs that crashed the InChI library
};

// check_inchi(text).valid of every text, in forked children (one, plus one more after each
// crash; their standard error is discarded, the library's own messages included). Call it while no
// other thread uses Open Babel. Empty texts are invalid without a check. Throws what check_inchi
// throws for a known-valid InChI (a build without Open Babel), and std::runtime_error when no child
// process can be made.
IsolatedChecks check_inchis_isolated(const std::vector<std::string>& texts);

struct SmilesInchi {
  std::string inchi;        // empty when neither the SMILES nor its repair converts
  bool as_written = false;  // converted without text::repair_smiles
};

// The standard InChI of each SMILES (a model's predictions), in forked children as above: the
// SMILES as written, else after text::repair_smiles, else none. Indices whose conversion killed
// a child (no InChI) go to `crashed` when given.
std::vector<SmilesInchi> inchis_from_smiles_isolated(const std::vector<std::string>& smiles,
                                                     std::vector<std::size_t>* crashed = nullptr);

}  // namespace capflow::chem
