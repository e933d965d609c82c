// Switches for the model's hand-written CPU kernels, read once from the environment, so that
// one build can measure them against LibTorch's operations:
//   CAPFLOW_ENCODER_KERNELS=aten  the encoder's batch norm and pooling passes off
//                                 (batch_norm_act.h, max_pool_kernels.h);
//   CAPFLOW_DECODER_KERNELS=aten  the decoder's packed bf16 step products and fused attention
//                                 read-out off (step_weight.h, attention_context.h);
//   CAPFLOW_OPTIMIZER_KERNELS=aten  the fused Adam/AdamW step and gradient norm off
//                                 (fused_adam.h): LibTorch's optimizer step.
// Any other value, or none, leaves them on.
#pragma once

namespace capflow::model {

bool encoder_kernels_enabled();
bool decoder_kernels_enabled();
bool optimizer_kernels_enabled();

}  // namespace capflow::model
