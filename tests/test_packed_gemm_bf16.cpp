// Few-row bf16 products by a packed matrix against a double-precision reference (skipped where
// the CPU has no AVX512-BF16: there the decoder keeps LibTorch's matmul).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "nodes/model/packed_gemm_bf16.h"

using capflow::model::packed_bf16_available;
using capflow::model::packed_gemm_bf16;
using capflow::model::PackedBf16Matrix;

namespace {

// float → bf16, rounded to nearest even (finite values).
uint16_t to_bf16(float f) {
  uint32_t u = 0;
  std::memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

float from_bf16(uint16_t v) {
  const uint32_t u = static_cast<uint32_t>(v) << 16;
  float f = 0;
  std::memcpy(&f, &u, 4);
  return f;
}

// n bf16 values: uniform in [-1, 1], or small integers in [-4, 4] (whose sums are exact).
std::vector<uint16_t> random_bf16(std::size_t n, std::mt19937& rng, bool integers = false) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::uniform_int_distribution<int> i(-4, 4);
  std::vector<uint16_t> v(n);
  for (auto& x : v) x = to_bf16(integers ? static_cast<float>(i(rng)) : d(rng));
  return v;
}

// Σ_k A[i][k]·B[k][j] in double; B row-major [K x N] with stride ldb.
double reference(const std::vector<uint16_t>& A, int64_t lda, const std::vector<uint16_t>& B,
                 int64_t ldb, int64_t i, int64_t j, int64_t K) {
  double s = 0;
  for (int64_t k = 0; k < K; ++k)
    s += static_cast<double>(from_bf16(A[i * lda + k])) * from_bf16(B[k * ldb + j]);
  return s;
}

// w = Bᵀ, row-major [N x K] with stride K + 1.
std::vector<uint16_t> transpose(const std::vector<uint16_t>& B, int64_t K, int64_t N, int64_t ldb) {
  std::vector<uint16_t> w(static_cast<std::size_t>(N * (K + 1)), 0);
  for (int64_t j = 0; j < N; ++j)
    for (int64_t k = 0; k < K; ++k) w[j * (K + 1) + k] = B[k * ldb + j];
  return w;
}

}  // namespace

// Every tile height and its tail, odd K, panel tails, strided operands, the transposed packing,
// bias and accumulation, float output: each value within float rounding of the exact sum, and
// the row stride's spare columns left alone.
TEST(PackedGemmBf16, FloatOutputMatchesTheProductForEveryShape) {
  if (!packed_bf16_available()) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  std::mt19937 rng(7);
  for (const int64_t M : {1, 3, 7, 8, 9, 16, 17}) {
    for (const int64_t N : {1, 16, 31, 32, 33, 100}) {
      for (const int64_t K : {1, 2, 9, 64}) {
        const int64_t lda = K + 3, ldb = N + 5, ldc = N + 2;
        const auto A = random_bf16(static_cast<std::size_t>(M * lda), rng);
        const auto B = random_bf16(static_cast<std::size_t>(K * ldb), rng);
        const auto bias = random_bf16(static_cast<std::size_t>(N), rng);
        const auto rows = PackedBf16Matrix::from_rows(B.data(), K, N, ldb);
        const auto w = transpose(B, K, N, ldb);
        const auto transposed = PackedBf16Matrix::from_transposed(w.data(), N, K, K + 1);
        ASSERT_EQ(rows.rows(), K);
        ASSERT_EQ(rows.cols(), N);
        std::vector<float> start(static_cast<std::size_t>(M * ldc));
        for (auto& x : start) x = std::uniform_real_distribution<float>(-1, 1)(rng);
        std::vector<float> plain(start), biased(start), summed(start);
        const int64_t P = rows.panels();
        packed_gemm_bf16(M, A.data(), lda, rows, plain.data(), ldc, nullptr, false, 0, P);
        packed_gemm_bf16(M, A.data(), lda, transposed, biased.data(), ldc, bias.data(), false, 0,
                         P);
        packed_gemm_bf16(M, A.data(), lda, rows, summed.data(), ldc, bias.data(), true, 0, P);
        for (int64_t i = 0; i < M; ++i) {
          for (int64_t j = 0; j < ldc; ++j) {
            const auto at = static_cast<std::size_t>(i * ldc + j);
            if (j >= N) {
              ASSERT_EQ(plain[at], start[at]);
              ASSERT_EQ(summed[at], start[at]);
              continue;
            }
            const double exact = reference(A, lda, B, ldb, i, j, K), b = from_bf16(bias[j]);
            const double tol = 1e-6 * (K + 2);
            ASSERT_NEAR(plain[at], exact, tol)
                << M << "x" << K << "x" << N << " at " << i << "," << j;
            ASSERT_NEAR(biased[at], exact + b, tol);
            ASSERT_NEAR(summed[at], start[at] + exact + b, tol);
          }
        }
      }
    }
  }
}

// bf16 output: with small integers every sum is exact in float, so each value must be that sum
// rounded to nearest even (ties included: sums above 256 need rounding in bf16's 8 bits), and
// accumulation adds the old bf16 value before the one rounding.
TEST(PackedGemmBf16, Bf16OutputIsTheExactSumRoundedToNearestEven) {
  if (!packed_bf16_available()) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  std::mt19937 rng(3);
  const int64_t M = 16, K = 96, N = 70;
  auto A = random_bf16(static_cast<std::size_t>(M * K), rng, true);
  auto B = random_bf16(static_cast<std::size_t>(K * N), rng, true);
  for (int64_t k = 0; k < K; ++k) A[k] = to_bf16(4.0f);  // row 0: sums up to 1,536
  const auto bias = random_bf16(static_cast<std::size_t>(N), rng, true);
  const auto packed = PackedBf16Matrix::from_rows(B.data(), K, N, N);
  const auto start = random_bf16(static_cast<std::size_t>(M * N), rng, true);
  std::vector<uint16_t> out(start), summed(start);
  packed_gemm_bf16(M, A.data(), K, packed, out.data(), N, bias.data(), false, 0, packed.panels());
  packed_gemm_bf16(M, A.data(), K, packed, summed.data(), N, nullptr, true, 0, packed.panels());
  int inexact = 0;
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      const auto at = static_cast<std::size_t>(i * N + j);
      const double exact = reference(A, K, B, N, i, j, K);
      const float with_bias = static_cast<float>(exact) + from_bf16(bias[j]);
      const float accumulated = static_cast<float>(exact) + from_bf16(start[at]);
      ASSERT_EQ(out[at], to_bf16(with_bias)) << i << "," << j << ": " << with_bias;
      ASSERT_EQ(summed[at], to_bf16(accumulated)) << i << "," << j << ": " << accumulated;
      inexact += from_bf16(to_bf16(with_bias)) != with_bias;
    }
  }
  EXPECT_GT(inexact, 0);  // the rounding was exercised
}

// Disjoint panel ranges (as threads take them) write only their own columns and add up to the
// whole product.
TEST(PackedGemmBf16, PanelRangesWriteOnlyTheirColumns) {
  if (!packed_bf16_available()) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  std::mt19937 rng(11);
  const int64_t M = 10, K = 40, N = 70;  // three panels, the last one partial
  const auto A = random_bf16(static_cast<std::size_t>(M * K), rng);
  const auto B = random_bf16(static_cast<std::size_t>(K * N), rng);
  const auto packed = PackedBf16Matrix::from_rows(B.data(), K, N, N);
  ASSERT_EQ(packed.panels(), 3);
  std::vector<uint16_t> whole(static_cast<std::size_t>(M * N), 0),
      parts(static_cast<std::size_t>(M * N), 0xC0E0);
  packed_gemm_bf16(M, A.data(), K, packed, whole.data(), N, nullptr, false, 0, 3);
  packed_gemm_bf16(M, A.data(), K, packed, parts.data(), N, nullptr, false, 1, 2);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j)
      ASSERT_EQ(parts[i * N + j], j >= 32 && j < 64 ? whole[i * N + j] : 0xC0E0) << i << "," << j;
  packed_gemm_bf16(M, A.data(), K, packed, parts.data(), N, nullptr, false, 0, 1);
  packed_gemm_bf16(M, A.data(), K, packed, parts.data(), N, nullptr, false, 2, 3);
  EXPECT_EQ(parts, whole);
}
