// The LSTM cell's elementwise work for one step of the decoder's training recurrence
// (attention_recurrence.h), forward and backward, as one pass over the step's rows each: what
// ATen does in about seven operations forward and twenty backward, each a pass of its own. On
// the CPU a hand-written loop with the rational tanh (rational_tanh.h: σ and tanh within 5e-7)
// runs over the rows; on other devices the same formulas run as ATen operations. The state and
// gates are float whatever the compute dtype (only d_gates_copy may be bfloat16).
#pragma once

#include <ATen/core/Tensor.h>

namespace capflow::model {

// gates [n, 4H]: the pre-activations of i, f, g, o in, activated in place (σ, σ, tanh, σ);
// c_out = f ⊙ c_prev + i ⊙ g; h_out = o ⊙ tanh(c_out). c_prev, c_out, h_out are [n, H]. All
// float; each row contiguous (row strides may be longer).
void lstm_cell_forward(at::Tensor& gates, const at::Tensor& c_prev, at::Tensor& c_out,
                       at::Tensor& h_out);

// Backward of lstm_cell_forward for the same rows. act [n, 4H] are the activated gates, c_prev
// and c the cell state before and after the step. The gradient reaching h_out is
// grad_h + dh; dc holds the gradient reaching c_out from the next step and receives the one
// reaching c_prev. d_gates [n, 4H] (float) receives the gradient of the pre-activations, and
// d_gates_copy [n, 4H] (float or bfloat16) the same values in its dtype. All [n, H] float
// except as said; each row contiguous.
void lstm_cell_backward(const at::Tensor& act, const at::Tensor& c_prev, const at::Tensor& c,
                        const at::Tensor& grad_h, const at::Tensor& dh, at::Tensor& dc,
                        at::Tensor& d_gates, at::Tensor& d_gates_copy);

}  // namespace capflow::model
