// Few-row products by a packed matrix against a double-precision reference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "nodes/model/packed_gemm.h"

using capflow::model::packed_gemm;
using capflow::model::PackedMatrix;

namespace {

std::vector<float> random_values(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Σ_k A[i][k]·B[k][j] in double; B given as row-major [K x N] with stride ldb.
double reference(const std::vector<float>& A, int64_t lda, const float* B, int64_t ldb, int64_t i,
                 int64_t j, int64_t K) {
  double s = 0;
  for (int64_t k = 0; k < K; ++k) s += static_cast<double>(A[i * lda + k]) * B[k * ldb + j];
  return s;
}

}  // namespace

// Every row count of a tile and its tail, panel tails, strided operands, the transposed packing,
// bias and accumulation: each value within float rounding of the exact sum.
TEST(PackedGemm, MatchesTheProductForEveryShapeOfTileAndPanel) {
  std::mt19937 rng(7);
  for (const int64_t M : {1, 2, 3, 4, 5, 7, 16, 17}) {
    for (const int64_t N : {1, 23, 24, 25, 96, 100}) {
      for (const int64_t K : {1, 9, 64}) {
        const int64_t lda = K + 3, ldb = N + 5, ldc = N + 2;
        const auto A = random_values(static_cast<std::size_t>(M * lda), rng);
        const auto B = random_values(static_cast<std::size_t>(K * ldb), rng);
        const auto bias = random_values(static_cast<std::size_t>(N), rng);
        // w = Bᵀ, row-major [N x K] with stride K + 1.
        std::vector<float> w(static_cast<std::size_t>(N * (K + 1)), 0.0f);
        for (int64_t j = 0; j < N; ++j)
          for (int64_t k = 0; k < K; ++k) w[j * (K + 1) + k] = B[k * ldb + j];
        const PackedMatrix rows = PackedMatrix::from_rows(B.data(), K, N, ldb);
        const PackedMatrix transposed = PackedMatrix::from_transposed(w.data(), N, K, K + 1);
        ASSERT_EQ(rows.rows(), K);
        ASSERT_EQ(rows.cols(), N);
        const auto start = random_values(static_cast<std::size_t>(M * ldc), rng);
        std::vector<float> plain(start), biased(start), summed(start);
        packed_gemm(M, A.data(), lda, rows, plain.data(), ldc);
        packed_gemm(M, A.data(), lda, transposed, biased.data(), ldc, bias.data());
        packed_gemm(M, A.data(), lda, rows, summed.data(), ldc, bias.data(), true);
        for (int64_t i = 0; i < M; ++i) {
          for (int64_t j = 0; j < ldc; ++j) {
            const std::size_t at = static_cast<std::size_t>(i * ldc + j);
            if (j >= N) {  // the row stride's spare columns are left alone
              ASSERT_EQ(plain[at], start[at]);
              ASSERT_EQ(summed[at], start[at]);
              continue;
            }
            const double exact = reference(A, lda, B.data(), ldb, i, j, K);
            const double tol = 1e-5 * (K + 1);
            ASSERT_NEAR(plain[at], exact, tol)
                << M << "x" << K << "x" << N << " at " << i << "," << j;
            ASSERT_NEAR(biased[at], exact + bias[j], tol);
            ASSERT_NEAR(summed[at], start[at] + exact + bias[j], tol);
          }
        }
      }
    }
  }
}

// Disjoint panel ranges (as threads take them) write only their own columns and add up to the
// whole product.
TEST(PackedGemm, PanelRangesWriteOnlyTheirColumns) {
  std::mt19937 rng(11);
  const int64_t M = 6, K = 40, N = 70;  // three panels, the last one partial
  const auto A = random_values(M * K, rng);
  const auto B = random_values(K * N, rng);
  const PackedMatrix packed = PackedMatrix::from_rows(B.data(), K, N, N);
  ASSERT_EQ(packed.panels(), 3);
  std::vector<float> whole(M * N, 0.0f), parts(M * N, -7.0f);
  packed_gemm(M, A.data(), K, packed, whole.data(), N);
  packed_gemm(M, A.data(), K, packed, parts.data(), N, nullptr, false, 1, 2);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j)
      ASSERT_EQ(parts[i * N + j], j >= 24 && j < 48 ? whole[i * N + j] : -7.0f) << i << "," << j;
  packed_gemm(M, A.data(), K, packed, parts.data(), N, nullptr, false, 0, 1);
  packed_gemm(M, A.data(), K, packed, parts.data(), N, nullptr, false, 2, 3);
  EXPECT_EQ(parts, whole);
}
