// The teacher-forced recurrence of the attention LSTM (see attention_decoder.h) as one autograd
// function with a hand-written backward. Autograd would record some 30 small operations per
// time step and compute every weight gradient step by step, as matmuls over the batch's rows;
// here the forward keeps only what backward needs, backward propagates through time with two
// matmuls per step (context and hidden state), and each weight gradient is a single matmul
// over all the steps' rows at the end. Weights are cast to the compute dtype once per call, not
// per step. Without autograd (evaluation losses) the same forward runs and its buffers are
// freed on return.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace capflow::model {

struct RecurrenceInputs {
  at::Tensor features;   // [N, P, C] flattened encoder features; its dtype is the compute dtype
  at::Tensor enc_proj;   // [N, P, A] encoder side of the attention (compute dtype)
  at::Tensor in_gates;   // [T, N, 4H] float: each step's token contribution to the gates
  at::Tensor h0, c0;     // [N, H] float: initial LSTM state
  at::Tensor hidden_w;   // [A + C + 4H, H] the hidden state's three projections (float)
  at::Tensor hidden_b;   // [A + C + 4H]
  at::Tensor context_w;  // [4H, C] attended context to gates (no bias)
  at::Tensor score_w;    // [1, A] attention score (no bias)
  // Rows still captioning at each step, non-increasing (rows sorted longest caption first);
  // rows at or past active[t] take no part in step t and their output is zero.
  std::vector<int64_t> active;
};

// Hidden states of every step, float [T, N, H]: row r of step t is zero when r >= active[t].
// Differentiable with respect to features, enc_proj, in_gates, h0, c0 and the four weights.
// Gate order i, f, g, o; attention e = score_w·tanh(enc_proj + W_att h), α = softmax over P,
// context = σ(W_β h + b_β) ⊙ Σ α features, as in AttentionDecoderImpl::cell.
at::Tensor attention_lstm_recurrence(const RecurrenceInputs& inputs);

}  // namespace capflow::model
