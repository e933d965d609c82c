// A ResNet block's batch norm with what follows it: act(bn(x) + residual), act the ReLU or
// none, residual optional. On CPU channels-last float or bfloat16 activations it runs as one
// fused pass forward and two backward (batch_norm_kernels.h), with its own autograd node;
// elsewhere (other devices or layouts, an eval-mode norm that needs gradients) as LibTorch's
// batch norm, add and ReLU. Either way the module's running statistics and batch count are
// updated as torch::nn::BatchNorm2d does in training.
#pragma once

#include <torch/nn/modules/batchnorm.h>

#include "nodes/model/kernel_switches.h"  // encoder_kernels_enabled()

namespace capflow::model {

// The activations those passes take: non-empty float or bfloat16 CPU [N, C, H, W], contiguous
// in channels-last order.
bool encoder_kernel_layout(const at::Tensor& t);

torch::Tensor batch_norm_act(const torch::Tensor& x, torch::nn::BatchNorm2dImpl& bn,
                             const torch::Tensor& residual, bool relu);

}  // namespace capflow::model
