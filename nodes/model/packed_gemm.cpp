// Few-row products by a packed matrix (see packed_gemm.h). The inner loop keeps a tile of
// kTileRows rows by kPanel columns in registers (12 vectors of 8 floats: with AVX2 and FMA, 12
// multiply-adds per three loads of B and four broadcasts of A) and walks K once.
#include "nodes/model/packed_gemm.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "nodes/model/cpu_clones.h"

namespace capflow::model {

namespace {

constexpr int kPanel = PackedMatrix::kPanel;
constexpr int kTileRows = 4;
typedef float Vec8 __attribute__((vector_size(32)));
// A load of 8 floats from a panel row (panels are 64-byte aligned, rows 96 bytes long).
typedef float Vec8Load __attribute__((vector_size(32), aligned(32), may_alias));
constexpr int kVecs = kPanel / 8;

// Rows [0, R) of C at columns [0, cols) of one panel (R <= kTileRows, cols <= kPanel).
// Inlined into each copy of gemm_panels, so compiled for its instruction set.
template <int R>
[[gnu::always_inline]] inline void tile(int64_t K, const float* A, int64_t lda, const float* panel,
                                        float* C, int64_t ldc, const float* bias, bool accumulate,
                                        int cols) {
  Vec8 acc[R][kVecs] = {};
  for (int64_t k = 0; k < K; ++k) {
    const auto* row = reinterpret_cast<const Vec8Load*>(panel + k * kPanel);
    Vec8 b[kVecs];
    for (int v = 0; v < kVecs; ++v) b[v] = row[v];
    for (int r = 0; r < R; ++r) {
      const float a = A[r * lda + k];
      for (int v = 0; v < kVecs; ++v) acc[r][v] += a * b[v];
    }
  }
  float out[R][kPanel];
  std::memcpy(out, acc, sizeof out);
  for (int r = 0; r < R; ++r) {
    float* c = C + r * ldc;
    for (int j = 0; j < cols; ++j) {
      float v = out[r][j];
      if (bias) v += bias[j];
      c[j] = accumulate ? c[j] + v : v;
    }
  }
}

CAPFLOW_VECTOR_CLONES void gemm_panels(int64_t M, const float* A, int64_t lda, const float* packed,
                                       int64_t K, int64_t N, float* C, int64_t ldc,
                                       const float* bias, bool accumulate, int64_t p0, int64_t p1) {
  for (int64_t p = p0; p < p1; ++p) {
    const float* panel = packed + p * K * kPanel;
    const int64_t col = p * kPanel;
    const int cols = static_cast<int>(std::min<int64_t>(kPanel, N - col));
    const float* pb = bias ? bias + col : nullptr;
    int64_t r = 0;
    for (; r + kTileRows <= M; r += kTileRows) {
      tile<kTileRows>(K, A + r * lda, lda, panel, C + r * ldc + col, ldc, pb, accumulate, cols);
    }
    const float* a = A + r * lda;
    float* c = C + r * ldc + col;
    switch (M - r) {
      case 3:
        tile<3>(K, a, lda, panel, c, ldc, pb, accumulate, cols);
        break;
      case 2:
        tile<2>(K, a, lda, panel, c, ldc, pb, accumulate, cols);
        break;
      case 1:
        tile<1>(K, a, lda, panel, c, ldc, pb, accumulate, cols);
        break;
      default:
        break;
    }
  }
}

}  // namespace

PackedMatrix::PackedMatrix(int64_t K, int64_t N)
    : K_(K),
      N_(N),
      data_(new (std::align_val_t(64)) float[static_cast<std::size_t>(panels() * K * kPanel)](),
            [](float* p) { operator delete[](p, std::align_val_t(64)); }) {}

PackedMatrix PackedMatrix::from_rows(const float* b, int64_t K, int64_t N, int64_t ldb) {
  PackedMatrix m(K, N);
  for (int64_t p = 0; p < m.panels(); ++p) {
    const int64_t col = p * kPanel, cols = std::min<int64_t>(kPanel, N - col);
    float* out = m.panel(p);
    for (int64_t k = 0; k < K; ++k) std::memcpy(out + k * kPanel, b + k * ldb + col, cols * 4);
  }
  return m;
}

PackedMatrix PackedMatrix::from_transposed(const float* w, int64_t N, int64_t K, int64_t ldw) {
  PackedMatrix m(K, N);
  for (int64_t p = 0; p < m.panels(); ++p) {
    const int64_t col = p * kPanel, cols = std::min<int64_t>(kPanel, N - col);
    float* out = m.panel(p);
    for (int64_t j = 0; j < cols; ++j) {
      const float* row = w + (col + j) * ldw;
      for (int64_t k = 0; k < K; ++k) out[k * kPanel + j] = row[k];
    }
  }
  return m;
}

void packed_gemm(int64_t M, const float* A, int64_t lda, const PackedMatrix& B, float* C,
                 int64_t ldc, const float* bias, bool accumulate, int64_t panel_begin,
                 int64_t panel_end) {
  if (M <= 0 || panel_begin >= panel_end) return;
  gemm_panels(M, A, lda, B.panel(0), B.rows(), B.cols(), C, ldc, bias, accumulate, panel_begin,
              panel_end);
}

}  // namespace capflow::model
