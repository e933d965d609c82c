// Loading and saving model weights: torchvision state_dicts written by Python's torch.save,
// and capflow checkpoints (torch::serialize archives).
//
// Checkpoint key layout (shared with the checkpoint writer): a module's tensors are stored
// flat in one torch::serialize::OutputArchive under "<prefix>.<name>", where <name> is the
// torch::nn::Module name (for the encoder exactly torchvision's, e.g.
// "encoder.layer2.0.downsample.0.weight"); parameters are written as parameters and buffers
// (batch-norm running_mean, running_var, num_batches_tracked) as buffers. The encoder's prefix
// is "encoder" (kEncoderPrefix); the decoder's is "decoder" (kDecoderPrefix).
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "nodes/model/resnet_encoder.h"

namespace capflow::model {

inline constexpr const char* kEncoderPrefix = "encoder";
inline constexpr const char* kDecoderPrefix = "decoder";

// Loads the encoder's weights from `path`, which is either
//  (a) a torchvision ResNet state_dict saved from Python,
//        torch.save(torchvision.models.resnet18(weights=...).state_dict(), "resnet18.pt")
//      (dict or OrderedDict of name → tensor; "fc.*" is ignored; a 3-channel conv1 is summed
//      over its input channels into the 1-channel stem, which is exactly what the RGB filters
//      compute on a gray image replicated into R, G and B; a missing num_batches_tracked is
//      tolerated), or
//  (b) a capflow checkpoint holding the encoder under "encoder.<name>" (see above).
// Every other tensor must be present with the model's shape. Throws ConfigError naming the
// file: when it is missing, when it is neither kind of file, or listing the first few
// missing, unexpected and mis-shaped tensors with expected and found shapes.
void load_encoder_weights(ResNetEncoder& encoder, const std::string& path);

// Writes every parameter and buffer of `module` into `archive` as "<prefix>.<name>" (or
// "<name>" when prefix is empty).
void save_module_archive(const torch::nn::Module& module, const std::string& prefix,
                         torch::serialize::OutputArchive& archive);

// The inverse of save_module_archive: reads "<prefix>.<name>" for every parameter and buffer
// of `module` and copies it in (keeping the module's dtype and memory format). Throws
// ConfigError, naming `source` (e.g. the file), when tensors are missing, mis-shaped, or when
// the archive holds "<prefix>.*" keys the module does not have.
void load_module_archive(torch::nn::Module& module, const std::string& prefix,
                         torch::serialize::InputArchive& archive, const std::string& source);

// Reads a dict (or OrderedDict) of str → tensor saved by Python's torch.save (the zip format,
// the default since PyTorch 1.6), in file order. torch::pickle_load cannot read an
// OrderedDict (it turns it into None), hence this reader. Throws ConfigError naming the file
// when it is missing or is not such a file.
std::vector<std::pair<std::string, torch::Tensor>> read_python_state_dict(const std::string& path);

}  // namespace capflow::model
