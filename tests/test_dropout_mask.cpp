// Dropout's mask from a counter-based hash: its values and rate, reproduced from the seed on any
// thread count, neighbours and seeds uncorrelated, bad arguments refused.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "nodes/model/dropout_mask.h"

namespace {

using capflow::model::fill_dropout_mask;

constexpr int64_t kCount = 1 << 20;

torch::Tensor mask_of(double keep, uint64_t seed, int64_t count = kCount) {
  auto mask = torch::empty({count});
  fill_dropout_mask(mask, keep, seed);
  return mask;
}

double correlation(const torch::Tensor& a, const torch::Tensor& b) {
  const auto x = a.to(torch::kDouble) - a.to(torch::kDouble).mean();
  const auto y = b.to(torch::kDouble) - b.to(torch::kDouble).mean();
  return ((x * y).sum() / (x.norm() * y.norm())).item<double>();
}

TEST(DropoutMask, ValuesAreZeroOrTheScaleAtTheKeptRate) {
  for (const double keep : {0.7, 0.5, 0.05}) {
    const auto mask = mask_of(keep, 0x1234567890abcdefULL);
    const float scale = static_cast<float>(1.0 / keep);
    const auto kept = mask.eq(scale);
    EXPECT_TRUE(kept.logical_or(mask.eq(0.0f)).all().item<bool>()) << keep;
    // Within five standard deviations of a binomial count.
    const double rate = kept.to(torch::kDouble).mean().item<double>();
    EXPECT_NEAR(rate, keep, 5.0 * std::sqrt(keep * (1.0 - keep) / kCount)) << keep;
  }
  EXPECT_TRUE(mask_of(1.0, 7).eq(1.0f).all().item<bool>());
}

TEST(DropoutMask, SameSeedSameMaskOnAnyThreadCount) {
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const auto one = mask_of(0.7, 99);
  at::set_num_threads(2);
  const auto two = mask_of(0.7, 99);
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one, two));
  // Another seed: about 2 · 0.7 · 0.3 of the elements differ.
  const double differ = one.ne(mask_of(0.7, 100)).to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(differ, 0.42, 0.01);
}

TEST(DropoutMask, NeighboursAndSeedsAreUncorrelated) {
  const auto mask = mask_of(0.7, 2024);
  for (const int64_t lag : {1, 2, 16, 256}) {
    EXPECT_LT(
        std::abs(correlation(mask.narrow(0, 0, kCount - lag), mask.narrow(0, lag, kCount - lag))),
        0.01)
        << "lag " << lag;
  }
  for (const uint64_t other : {2025ULL, 2024ULL ^ (1ULL << 32), 2024ULL + (1ULL << 40)}) {
    EXPECT_LT(std::abs(correlation(mask, mask_of(0.7, other))), 0.01) << other;
  }
}

TEST(DropoutMask, RefusesBadArguments) {
  auto doubles = torch::empty({8}, torch::kDouble);
  EXPECT_THROW(fill_dropout_mask(doubles, 0.5, 1), c10::Error);
  auto strided = torch::empty({8, 2}).t();
  EXPECT_THROW(fill_dropout_mask(strided, 0.5, 1), c10::Error);
  auto mask = torch::empty({8});
  EXPECT_THROW(fill_dropout_mask(mask, 0.0, 1), c10::Error);
  EXPECT_THROW(fill_dropout_mask(mask, 1.5, 1), c10::Error);
}

}  // namespace
