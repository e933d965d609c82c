// Batch norm's passes over channels-last activations, fused with what follows it in a ResNet
// block (the residual sum and the ReLU): one pass each where ATen takes a batch norm, an add
// and a ReLU forward, and a threshold backward and a batch-norm backward. The activations are
// rows of C channels ([M, C] with M = N·H·W: a channels-last [N, C, H, W] tensor, contiguous),
// float or bfloat16; the per-channel statistics and coefficients are float [C]. Row chunks of a
// fixed size are summed in a fixed order, so the results do not depend on the thread count.
#pragma once

#include <ATen/core/Tensor.h>

namespace capflow::model {

// The per-channel mean and biased variance of x [M, C] (M ≥ 1), into float [C] tensors.
void channel_mean_var(const at::Tensor& x, at::Tensor& mean, at::Tensor& var);

// y = act(x·scale + shift + residual) per channel, act the ReLU or none, residual optional
// (undefined: none). x, residual and y [M, C] of one dtype; scale, shift float [C].
void scale_shift_act(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& shift,
                     const at::Tensor& residual, bool relu, at::Tensor& y);

// What follows the norm, for the backward: nothing, or the ReLU, whose mask (where the
// gradient passes) is where the forward's output y is positive or, y undefined, where
// x·scale + shift is (the same test for a norm without a residual, with the forward's float [C]
// coefficients: one operand fewer to read).
struct BackwardAct {
  bool relu = false;
  at::Tensor y;
  at::Tensor scale, shift;
};

// The backward's sums: with g = dy, masked by the ReLU's mask when act.relu, sum_g = Σ g and
// sum_gx = Σ g·(x − mean) over the rows, into float [C]. dy, x (and act.y) [M, C] of one dtype.
void batch_norm_act_sums(const at::Tensor& dy, const at::Tensor& x, const at::Tensor& mean,
                         const BackwardAct& act, at::Tensor& sum_g, at::Tensor& sum_gx);

// The backward's gradients: dx = k1·(g − k2 − (x − mean)·k3) with g as above, and dr = g when
// dr is defined (the residual's gradient; the mask must then come from y). k1, k2, k3 float
// [C]; dx, dr [M, C] in x's dtype.
void batch_norm_act_grads(const at::Tensor& dy, const at::Tensor& x, const at::Tensor& mean,
                          const at::Tensor& k1, const at::Tensor& k2, const at::Tensor& k3,
                          const BackwardAct& act, at::Tensor& dx, at::Tensor& dr);

}  // namespace capflow::model
