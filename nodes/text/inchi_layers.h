// InChI layers: the constitution of a molecule, its InChI without the stereo layers. Two
// drawings of one molecule with different stereo configurations share it; the dataset maker's
// --exclude matches on it, so no stereo variant of a held-out molecule enters a training set.
// A plain kernel: no torch.
#pragma once

#include <string>
#include <string_view>

namespace capflow::text {

// The InChI with its stereo layers removed: every layer starting with b (double bonds), t
// (tetrahedral centres), m (parity inversion) or s (stereo type), in the main and in the
// isotopic part. "InChI=1S/C4H10O2/c1-3(5)4(2)6/h3-6H,1-2H3/t3-,4-/m1/s1" gives
// "InChI=1S/C4H10O2/c1-3(5)4(2)6/h3-6H,1-2H3". Text without '/' comes back as it is.
std::string inchi_constitution(std::string_view inchi);

}  // namespace capflow::text
