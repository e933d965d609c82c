// Products of a few rows by a fixed matrix, with the matrix packed once for many products: the
// recurrent decoder multiplies 16 to 128 rows by the same weights at every step of a caption.
// A BLAS packs both operands on every call, and for so few rows packing the weight costs about
// as much as the multiplication (OpenBLAS's sgemm_incopy was 12 % of the decoder's forward).
// Plain float code, one compiled copy per x86-64 level (cpu_clones.h); no LibTorch.
#pragma once

#include <cstdint>
#include <memory>

namespace capflow::model {

// B [K x N] (float) in column panels of kPanel columns: panel p holds, row by row, the kPanel
// values B[k][p·kPanel ..], the last panel padded with zeros.
class PackedMatrix {
 public:
  static constexpr int kPanel = 24;

  PackedMatrix() = default;
  // B = b, row-major [K x N] with row stride ldb.
  static PackedMatrix from_rows(const float* b, int64_t K, int64_t N, int64_t ldb);
  // B = wᵀ for w row-major [N x K] with row stride ldw: the weight of a linear layer
  // (y = x·wᵀ), packed as the product needs it.
  static PackedMatrix from_transposed(const float* w, int64_t N, int64_t K, int64_t ldw);

  int64_t rows() const { return K_; }  // K
  int64_t cols() const { return N_; }  // N
  int64_t panels() const { return (N_ + kPanel - 1) / kPanel; }
  const float* panel(int64_t p) const { return data_.get() + p * K_ * kPanel; }

 private:
  PackedMatrix(int64_t K, int64_t N);
  float* panel(int64_t p) { return data_.get() + p * K_ * kPanel; }

  int64_t K_ = 0, N_ = 0;
  std::shared_ptr<float[]> data_;
};

// C = A·B (+ C when accumulate) (+ bias broadcast over the rows when bias is given), for the
// columns of panels [panel_begin, panel_end) of B. A is row-major [M x K] with row stride lda,
// C row-major [M x N] with row stride ldc; bias has N values. Panels are independent, so
// threads may take disjoint panel ranges of one product.
void packed_gemm(int64_t M, const float* A, int64_t lda, const PackedMatrix& B, float* C,
                 int64_t ldc, const float* bias, bool accumulate, int64_t panel_begin,
                 int64_t panel_end);

// The whole product: every panel.
inline void packed_gemm(int64_t M, const float* A, int64_t lda, const PackedMatrix& B, float* C,
                        int64_t ldc, const float* bias = nullptr, bool accumulate = false) {
  packed_gemm(M, A, lda, B, C, ldc, bias, accumulate, 0, B.panels());
}

}  // namespace capflow::model
