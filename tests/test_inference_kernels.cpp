// Plain inference kernels: the choice among a beam's final hypotheses.
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "nodes/model/hypothesis_choice.h"

namespace capflow::model {
namespace {

TEST(HypothesisChoice, PicksTheBestScoringValidCandidate) {
  // Unsorted scores: the best valid one is neither the first valid index nor the best overall.
  const std::vector<double> scores = {-5.0, -1.0, -3.0, -2.0};
  EXPECT_EQ(choose_hypothesis(scores, {false, false, true, true}), 3u);
  EXPECT_EQ(choose_hypothesis(scores, {true, false, true, false}), 2u);
  EXPECT_EQ(choose_hypothesis(scores, {true, false, false, false}), 0u);
  EXPECT_EQ(choose_hypothesis(scores, {true, true, true, true}), 1u);
}

TEST(HypothesisChoice, FallsBackToTheBestScoringCandidate) {
  EXPECT_EQ(choose_hypothesis({-5.0, -1.0, -3.0}, {false, false, false}), 1u);
  EXPECT_EQ(choose_hypothesis({-0.5}, {false}), 0u);
  // Equal scores: the lower index, valid or not.
  EXPECT_EQ(choose_hypothesis({-2.0, -1.0, -1.0}, {false, false, false}), 1u);
  EXPECT_EQ(choose_hypothesis({-2.0, -1.0, -1.0}, {true, false, true}), 2u);
}

TEST(HypothesisChoice, RefusesMismatchedInput) {
  EXPECT_THROW(choose_hypothesis({}, {}), std::invalid_argument);
  EXPECT_THROW(choose_hypothesis({-1.0, -2.0}, {true}), std::invalid_argument);
}

}  // namespace
}  // namespace capflow::model
