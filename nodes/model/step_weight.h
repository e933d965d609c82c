// The products of a recurrence step's rows by a weight (the attention LSTM's hidden-state
// projections and context gates, in training and in decoding). On the CPU they go through
// packed_gemm (fp32) or packed_gemm_bf16 (bf16, where the CPU has AVX512-BF16 and no AMX) with
// the weight packed once, when the StepWeight is made (a BLAS packs it again at every step; for
// 16 rows oneDNN's bf16 matmul ran at a third of the packed product's speed:
// docs/benchmarks.md); otherwise (other devices, other bf16 CPUs) through LibTorch's matmul.
#pragma once

#include <ATen/core/Tensor.h>

#include "nodes/model/packed_gemm.h"
#include "nodes/model/packed_gemm_bf16.h"

namespace capflow::model {

// Whether bf16 step products are packed: the CPU has AVX512-BF16 but not AMX (there oneDNN's
// matmul runs on AMX tiles; the two are not measured against each other) and
// decoder_kernels_enabled() (kernel_switches.h).
bool bf16_step_products_packed();

class StepWeight {
 public:
  // B = w, or wᵀ when transposed, for w a [rows, cols] matrix in the compute dtype.
  StepWeight(const at::Tensor& w, bool transposed);

  // x [n, K] · B (+ bias [N]): a new [n, N] tensor in x's dtype.
  at::Tensor times(const at::Tensor& x, const at::Tensor& bias = {}) const;

  // out [n, N] = x [n, K] · B, or out += x · B when accumulate (out may be float for bf16 x:
  // packed, the sums are then not rounded to bf16 first).
  void into(const at::Tensor& x, at::Tensor& out, bool accumulate) const;

 private:
  // packed_gemm over the panels, split between LibTorch's intra-op threads (rows of x and out
  // contiguous; their row strides may be longer).
  void packed(const at::Tensor& x, at::Tensor& out, const float* bias, bool accumulate) const;
  // The same with packed_gemm_bf16 (x bf16; out bf16 or float; bias bf16 or undefined).
  void packed_bf16(const at::Tensor& x, at::Tensor& out, const at::Tensor& bias,
                   bool accumulate) const;

  PackedMatrix packed_;
  PackedBf16Matrix packed_bf16_;
  bool bf16_ = false;  // packed_bf16_ holds B
  at::Tensor w_;       // when not packed: B itself (a view)
};

}  // namespace capflow::model
