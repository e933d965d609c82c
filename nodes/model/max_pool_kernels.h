// The ResNet stem's 3×3 max pooling (stride 2, padding 1) over channels-last activations
// ([N, C, H, W] contiguous in channels-last order, float or bfloat16) with its own autograd node:
// the forward keeps, per output value, which of its window's nine positions won (one byte,
// where LibTorch keeps an int64 index), and the backward gathers each input position's gradient
// from the at most four windows holding it (no zero fill, no scatter). Ties go to the first
// position in row order and NaN wins, as in LibTorch. Where the CPU has AVX-512 (BW, VL) and the
// channels are a multiple of 16, the rows run with 16 channels per register (max_pool_rows.h),
// bit for bit as the portable rows. Other devices and layouts take torch::max_pool2d.
#pragma once

#include <ATen/core/Tensor.h>

namespace capflow::model {

at::Tensor max_pool_3x3s2(const at::Tensor& x);

// The passes alone. out [N, C, Ho, Wo] and winner (uint8, [N, Ho, Wo, C] contiguous) with
// Ho = (H − 1) / 2 + 1, Wo likewise; dx like x, dy like out (both channels-last).
void max_pool_3x3s2_forward(const at::Tensor& x, at::Tensor& out, at::Tensor& winner);
void max_pool_3x3s2_backward(const at::Tensor& dy, const at::Tensor& winner, at::Tensor& dx);

}  // namespace capflow::model
