// The products of a recurrence step's rows by a weight (the attention LSTM's hidden-state
// projections and context gates, in training and in decoding). In fp32 on the CPU they go
// through packed_gemm with the weight packed once, when the StepWeight is made (a BLAS would
// pack it again at every step; packed_gemm.h); otherwise (bf16, other devices) through
// LibTorch's matmul.
#pragma once

#include <ATen/core/Tensor.h>

#include "nodes/model/packed_gemm.h"

namespace capflow::model {

class StepWeight {
 public:
  // B = w, or wᵀ when transposed, for w a [rows, cols] matrix in the compute dtype.
  StepWeight(const at::Tensor& w, bool transposed);

  // x [n, K] · B (+ bias [N]): a new [n, N] tensor.
  at::Tensor times(const at::Tensor& x, const at::Tensor& bias = {}) const;

  // out [n, N] = x [n, K] · B, or out += x · B when accumulate.
  void into(const at::Tensor& x, at::Tensor& out, bool accumulate) const;

 private:
  // packed_gemm over the panels, split between LibTorch's intra-op threads (rows of x and out
  // contiguous; their row strides may be longer).
  void packed(const at::Tensor& x, at::Tensor& out, const float* bias, bool accumulate) const;

  PackedMatrix packed_;
  at::Tensor w_;  // when not packed: B itself (a view)
};

}  // namespace capflow::model
