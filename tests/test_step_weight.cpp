// A recurrence step's products by a weight (StepWeight), in fp32 and bf16, against the product
// in double of the same values: results, bias, accumulation, float output for bf16 rows, row
// strides longer than the row. In bf16 on a CPU with AVX512-BF16 this runs packed_gemm_bf16.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "nodes/model/step_weight.h"

using capflow::model::StepWeight;

namespace {

// Max |a − b| over max |b|.
double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  const auto bd = b.to(torch::kDouble);
  return (a.to(torch::kDouble) - bd).abs().max().item<double>() /
         (bd.abs().max().item<double>() + 1e-12);
}

}  // namespace

TEST(StepWeight, ProductsMatchTheExactProductInEachDtype) {
  for (const auto dtype : {torch::kFloat, torch::kBFloat16}) {
    // bf16 output carries 8 bits; float sums of 300 terms about 1e-6 of the scale.
    const double tol = dtype == torch::kFloat ? 1e-5 : 1.0 / 128;
    for (const bool transposed : {false, true}) {
      torch::manual_seed(transposed ? 2 : 1);
      const int64_t n = 13, K = 300, N = 70;
      const auto w =
          torch::randn(transposed ? std::vector<int64_t>{N, K} : std::vector<int64_t>{K, N})
              .to(dtype);
      const auto B = transposed ? w.t() : w;
      const StepWeight weight(w, transposed);
      // Rows of a wider matrix (row stride K + 5), as the recurrence's column blocks are.
      const auto x = torch::randn({n, K + 5}).to(dtype).narrow(1, 2, K);
      const auto bias = torch::randn({N}).to(dtype);
      const auto exact = torch::mm(x.to(torch::kDouble), B.to(torch::kDouble));

      const auto y = weight.times(x, bias);
      EXPECT_EQ(y.scalar_type(), dtype);
      EXPECT_LE(relative_error(y, exact + bias.to(torch::kDouble)), tol) << dtype;

      auto into = torch::randn({n, N}).to(dtype);
      const auto start = into.to(torch::kDouble);
      weight.into(x, into, /*accumulate=*/true);
      EXPECT_LE(relative_error(into, start + exact), tol) << dtype << " accumulate";
      weight.into(x, into, /*accumulate=*/false);
      EXPECT_LE(relative_error(into, exact), tol) << dtype << " into";

      // Float output for the LSTM's float gates and state gradient: packed, the float sums are
      // not rounded to bf16 on the way.
      auto sums = torch::randn({n, N + 3}).narrow(1, 0, N);
      const auto before = sums.to(torch::kDouble);
      weight.into(x, sums, /*accumulate=*/true);
      const bool packed = dtype == torch::kFloat || capflow::model::bf16_step_products_packed();
      const double float_tol = packed ? 1e-5 : 1.0 / 128;
      EXPECT_LE(relative_error(sums, before + exact), float_tol) << dtype << " float sums";
    }
  }
}
