// Few-row products in bfloat16 by a matrix packed once: the bf16 counterpart of packed_gemm.h
// for the recurrent decoder's steps (16 rows by weights of up to 1280 × 1280). Where the CPU has
// AVX512-BF16 (AMD Zen 4 and later, Intel Cooper Lake and Sapphire Rapids), each instruction
// (vdpbf16ps) multiplies 16 columns by a pair of K values and adds both products to float sums;
// the matrix is laid out in that order once, so a step reads it straight. The sums are float;
// the result is rounded once (to nearest even) when C is bf16, or kept when C is float.
// Values are bf16 bit patterns (uint16_t); no LibTorch.
#pragma once

#include <cstdint>
#include <memory>

namespace capflow::model {

// B [K x N] (bf16) in column panels of kPanel columns: panel p holds, for each pair of rows
// (2q, 2q + 1), the kPanel columns' two values side by side (B[2q][j], B[2q + 1][j]); an odd K's
// last pair and the last panel's missing columns are zeros.
class PackedBf16Matrix {
 public:
  static constexpr int kPanel = 32;

  PackedBf16Matrix() = default;
  // B = b, row-major [K x N] with row stride ldb.
  static PackedBf16Matrix from_rows(const uint16_t* b, int64_t K, int64_t N, int64_t ldb);
  // B = wᵀ for w row-major [N x K] with row stride ldw (a linear layer's weight).
  static PackedBf16Matrix from_transposed(const uint16_t* w, int64_t N, int64_t K, int64_t ldw);

  int64_t rows() const { return K_; }  // K
  int64_t cols() const { return N_; }  // N
  int64_t panels() const { return (N_ + kPanel - 1) / kPanel; }
  int64_t pairs() const { return (K_ + 1) / 2; }
  const uint16_t* panel(int64_t p) const { return data_.get() + p * pairs() * 2 * kPanel; }

 private:
  PackedBf16Matrix(int64_t K, int64_t N);
  uint16_t* panel(int64_t p) { return data_.get() + p * pairs() * 2 * kPanel; }
  void set(int64_t k, int64_t j, uint16_t v) {
    panel(j / kPanel)[(k / 2) * 2 * kPanel + (j % kPanel) * 2 + k % 2] = v;
  }

  int64_t K_ = 0, N_ = 0;
  std::shared_ptr<uint16_t[]> data_;
};

// Whether this build and this CPU run packed_gemm_bf16 (AVX512-BF16 present).
bool packed_bf16_available();

// C = A·B (+ bias broadcast over the rows) (+ C when accumulate), for the columns of panels
// [panel_begin, panel_end) of B: A row-major bf16 [M x K] with row stride lda, C row-major
// [M x N] with row stride ldc, bf16 or float; bias N bf16 values or null. Panels are
// independent, so threads may take disjoint ranges. Only where packed_bf16_available().
void packed_gemm_bf16(int64_t M, const uint16_t* A, int64_t lda, const PackedBf16Matrix& B,
                      uint16_t* C, int64_t ldc, const uint16_t* bias, bool accumulate,
                      int64_t panel_begin, int64_t panel_end);
void packed_gemm_bf16(int64_t M, const uint16_t* A, int64_t lda, const PackedBf16Matrix& B,
                      float* C, int64_t ldc, const uint16_t* bias, bool accumulate,
                      int64_t panel_begin, int64_t panel_end);

}  // namespace capflow::model
