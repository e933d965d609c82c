// The soft attention's read-out for one recurrence step, forward and backward, as single passes
// over each row: the attention weights' store, the weighted sum of the encoder's features, the
// context gate's sigmoid and product. ATen does the same in six operations forward (copy,
// batched 1-row matmul, sigmoid, multiply) and about fifteen backward, each a dispatch over a
// [16 × 128] block at every step of every caption. On the CPU, for float and bfloat16, hand-
// written loops run over the rows in parallel; elsewhere the same formulas run as ATen ops.
#pragma once

#include <ATen/core/Tensor.h>

namespace capflow::model {

// For each row b of one step:
//   alpha[b, :] = probs[b, :] (the softmax of the scores, stored in the features' dtype),
//   context[b, :] = Σ_p alpha[b, p] · features[b, p, :] (from the stored alpha),
//   beta = σ(beta_pre), gated = beta ⊙ context.
// probs float [n, P] contiguous; features [n, P, C] contiguous; beta_pre [n, C] (rows may be
// strided, e.g. a column block of the hidden projections); alpha [n, P], beta, context and gated
// [n, C] written, each in the features' dtype with contiguous rows.
void attention_context(const at::Tensor& probs, const at::Tensor& features,
                       const at::Tensor& beta_pre, at::Tensor& alpha, at::Tensor& beta,
                       at::Tensor& context, at::Tensor& gated);

// Backward of attention_context and the softmax before it, given dz = ∂L/∂gated [n, C]:
//   d_context = dz ⊙ beta, d_beta_pre = dz ⊙ context ⊙ beta ⊙ (1 − beta) (written in the
//   features' dtype; d_beta_pre's rows may be strided),
//   d_scores[b, p] = alpha[b, p] · (d_α[b, p] − Σ_q alpha[b, q] · d_α[b, q]) with
//   d_α[b, p] = features[b, p, :] · d_context[b, :] (float [n, P] contiguous, written).
// dz, beta, context [n, C], alpha [n, P] and features [n, P, C] in the features' dtype.
void attention_context_backward(const at::Tensor& dz, const at::Tensor& beta,
                                const at::Tensor& context, const at::Tensor& alpha,
                                const at::Tensor& features, at::Tensor& d_context,
                                at::Tensor& d_beta_pre, at::Tensor& d_scores);

}  // namespace capflow::model
