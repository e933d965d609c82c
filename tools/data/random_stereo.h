// Random stereochemistry for molecules that have none specified (the default molecule lists
// carry no stereo, while BMS labels often have /t, /m, /s and /b layers): each unspecified
// potential stereocentre and stereo double bond gets a random configuration with a given
// probability. The drawn structure, and so its InChI, then shows it.
#pragma once

#include "graph/seeded_random.h"

namespace RDKit {
class RWMol;
}

namespace capflow::data {

// Returns how many centres and bonds were given a configuration.
int assign_random_stereo(RDKit::RWMol& mol, double probability, SeededRng& rng);

}  // namespace capflow::data
