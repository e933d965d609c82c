// One step of torch::optim::Adam or AdamW as a single pass over each parameter (LibTorch's step
// takes seven ATen operations per parameter, and clipping and zeroing the gradients two more):
// the clip's scale, the weight decay (L2 for Adam, decoupled for AdamW), both moments, the
// bias-corrected update and the gradient's reset to zero, in float, element by element. The
// moments stay in the optimizer's own per-parameter state (the same keys and tensors as its
// step() makes), so checkpoints (torch::save of the optimizer) and its own step() interleave
// with this one.
#pragma once

#include <torch/optim/optimizer.h>

#include <vector>

namespace capflow::model {

// Every parameter with a gradient must be a dense float CPU tensor (contiguous in some order of
// its dimensions, channels-last included) whose gradient and moments have its strides, and no
// group may use amsgrad; else this returns false having changed nothing (the caller
// takes the optimizer's own step). Gradients are multiplied by grad_scale first (a clip
// coefficient; 1 for none) and left at zero. `decoupled`: the optimizer is AdamW.
bool fused_adam_step(torch::optim::Optimizer& optimizer, bool decoupled, float grad_scale);

// Σ g² over the gradients of `parameters` (those defined): the squared 2-norm of them all.
// Dense float CPU gradients are summed in one pass each (16 partial sums in float, then
// double); others by ATen in double, read from their device once.
double squared_grad_norm(const std::vector<torch::Tensor>& parameters);

}  // namespace capflow::model
