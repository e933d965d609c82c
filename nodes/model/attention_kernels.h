// The elementwise heart of additive (Bahdanau) attention, forward and backward, as single
// passes over the [rows, pixels, attention] block: what ATen does in five or six passes over
// it (add, tanh, matmul; multiply, multiply, add, sum). On the CPU, for float and bfloat16, a
// hand-written loop with a rational tanh (absolute error below 5e-7) runs over the rows in
// parallel; on other devices or dtypes the same formulas run as ATen operations.
#pragma once

#include <ATen/core/Tensor.h>

namespace capflow::model {

// u[b, p, :] = tanh(enc[b, p, :] + dec[b, :]) and scores[b, p] = Σ_a u[b, p, a] · w[a].
//   enc [n, P, A] contiguous; dec [n, A] (rows may be strided, e.g. a column block of a wider
//   matrix), w [A], all of one dtype; u [n, P, A] contiguous, that dtype (written);
//   scores float [n, P] contiguous (written).
void attention_scores(const at::Tensor& enc, const at::Tensor& dec, const at::Tensor& w,
                      at::Tensor& u, at::Tensor& scores);

// Backward of attention_scores given d_scores (float [n, P] contiguous): with
// g[b, p, a] = d_scores[b, p] · w[a] · (1 − u[b, p, a]²), adds g to d_enc (float [n, P, A]
// contiguous), writes d_dec[b, a] = Σ_p g[b, p, a] (d_dec [n, A] in u's dtype, rows may be
// strided) and adds Σ_{b,p} d_scores[b, p] · u[b, p, :] to d_w (float [A]), summed over rows in
// order whatever the thread count.
void attention_scores_backward(const at::Tensor& u, const at::Tensor& d_scores, const at::Tensor& w,
                               at::Tensor& d_enc, at::Tensor& d_dec, at::Tensor& d_w);

// The rational tanh the CPU kernels use (exposed for its accuracy test).
float fast_tanh(float x);

}  // namespace capflow::model
