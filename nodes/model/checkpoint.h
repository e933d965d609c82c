// Writing and reading training checkpoints (see checkpoint_info.h for the format).
#pragma once

#include <torch/torch.h>

#include "nodes/model/checkpoint_info.h"

namespace capflow::model {

// Writes atomically: PATH.partial, fsync, rename; then removes all but the newest `keep`
// checkpoints of the folder (keep 0: remove none). Throws Error naming the file on failure,
// leaving the previous checkpoints as they were.
void write_checkpoint(const std::string& path, const CheckpointInfo& info,
                      const torch::nn::Module& encoder, const torch::nn::Module& decoder,
                      torch::optim::Optimizer* optimizer, int keep);

// Loads the weights (and the optimizer state when `optimizer` is given) into modules of the
// checkpoint's shape. ConfigError naming the file and the first mismatching tensors.
void load_checkpoint(const std::string& path, torch::nn::Module& encoder,
                     torch::nn::Module& decoder, torch::optim::Optimizer* optimizer);

}  // namespace capflow::model
