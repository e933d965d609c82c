// The choice among a beam's final hypotheses (see hypothesis_choice.h).
#include "nodes/model/hypothesis_choice.h"

#include <stdexcept>
#include <string>

namespace capflow::model {

namespace {

// The best index among those `keep` accepts; scores.size() when it accepts none.
template <typename Keep>
std::size_t best_index(const std::vector<double>& scores, Keep keep) {
  std::size_t best = scores.size();
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (keep(i) && (best == scores.size() || scores[i] > scores[best])) best = i;
  }
  return best;
}

}  // namespace

std::size_t choose_hypothesis(const std::vector<double>& scores, const std::vector<bool>& valid) {
  if (scores.empty() || scores.size() != valid.size()) {
    throw std::invalid_argument("choose_hypothesis: need as many validity flags as candidates (" +
                                std::to_string(scores.size()) + " candidates, " +
                                std::to_string(valid.size()) + " flags), at least one");
  }
  const std::size_t best_valid = best_index(scores, [&](std::size_t i) { return valid[i]; });
  if (best_valid < scores.size()) return best_valid;
  return best_index(scores, [](std::size_t) { return true; });
}

}  // namespace capflow::model
