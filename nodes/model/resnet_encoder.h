// ResNet-18/34 image encoder (torchvision's BasicBlock ResNet without avgpool and fc) with a
// configurable stem width (1 channel for gray BMS images). Submodule, parameter and buffer
// names are exactly torchvision's, so a torchvision state_dict maps onto it key for key.
#pragma once

#include <torch/torch.h>

namespace capflow::model {

struct EncoderOptions {
  int depth = 18;       // 18 or 34 (BasicBlock ResNets)
  int in_channels = 1;  // input image channels (1: gray)
  int stages = 4;       // residual stages kept: 4 (output stride 32), 3 (16: a 14x14 grid at 224)
  int width = 64;       // channels of the stem and layer1 (torchvision: 64); stage s has width·2^s
};

// torchvision's BasicBlock: conv3x3(stride) → bn → relu → conv3x3 → bn, plus the identity
// or a 1x1 conv + bn "downsample" shortcut, then relu.
class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int in_planes, int planes, int stride);
  torch::Tensor forward(const torch::Tensor& x);

  int stride() const { return stride_; }
  bool has_downsample() const { return !downsample.is_empty(); }

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential downsample{nullptr};  // "downsample.0" conv, "downsample.1" bn

 private:
  int stride_ = 1;
};
TORCH_MODULE(BasicBlock);

// The encoder: conv1 (7x7/2) → bn1 → relu → maxpool (3x3/2) → layer1..layer4.
class ResNetEncoderImpl : public torch::nn::Module {
 public:
  explicit ResNetEncoderImpl(const EncoderOptions& options = {});

  // x: float [N, in_channels, H, W] in any memory format → features [N, feature_channels(),
  // H/s, W/s] with s = 2^(stages+1) (rounded up as the strided convolutions do). Channels-last
  // input or weights (see to_channels_last in precision.h) give channels-last features.
  torch::Tensor forward(const torch::Tensor& x);

  int feature_channels() const { return options_.width << (options_.stages - 1); }
  const EncoderOptions& options() const { return options_; }
  // The stages kept, layer1..layer<stages>, each a Sequential of BasicBlock named "0", "1", ...
  const std::vector<torch::nn::Sequential>& layers() const { return layers_; }

  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};

 private:
  EncoderOptions options_;
  std::vector<torch::nn::Sequential> layers_;
};
TORCH_MODULE(ResNetEncoder);

}  // namespace capflow::model
