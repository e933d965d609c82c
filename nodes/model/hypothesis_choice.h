// Which of a beam's final hypotheses a prediction keeps: the best-scoring one that is a valid
// InChI, else the best-scoring one (a plain kernel: no torch, no InChI library).
#pragma once

#include <cstddef>
#include <vector>

namespace capflow::model {

// Index of the highest-scoring candidate whose flag in `valid` is set; when none is, of the
// highest-scoring candidate. Equal scores: the lower index. The candidates need not be sorted.
// Throws std::invalid_argument when there are none or the sizes differ.
std::size_t choose_hypothesis(const std::vector<double>& scores, const std::vector<bool>& valid);

}  // namespace capflow::model
