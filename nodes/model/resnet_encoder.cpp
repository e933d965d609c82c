// ResNet-18/34 encoder with torchvision's module names (see resnet_encoder.h).
#include "nodes/model/resnet_encoder.h"

#include <string>

#include "graph/errors.h"
#include "nodes/model/batch_norm_act.h"
#include "nodes/model/max_pool_kernels.h"

namespace capflow::model {
namespace {

torch::nn::Conv2d conv(int in, int out, int kernel, int stride, int padding) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false));
}

// torchvision's initialisation: kaiming-normal (fan_out, relu) convolutions, bn weight 1,
// bias 0.
void init_like_torchvision(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& m : module.modules(/*include_self=*/false)) {
    if (auto* c = m->as<torch::nn::Conv2dImpl>()) {
      torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
    } else if (auto* b = m->as<torch::nn::BatchNorm2dImpl>()) {
      torch::nn::init::ones_(b->weight);
      torch::nn::init::zeros_(b->bias);
    }
  }
}

}  // namespace

BasicBlockImpl::BasicBlockImpl(int in_planes, int planes, int stride) : stride_(stride) {
  conv1 = register_module("conv1", conv(in_planes, planes, 3, stride, 1));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3, 1, 1));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(planes));
  if (stride != 1 || in_planes != planes) {
    downsample =
        register_module("downsample", torch::nn::Sequential(conv(in_planes, planes, 1, stride, 0),
                                                            torch::nn::BatchNorm2d(planes)));
  }
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  const auto out = batch_norm_act(conv1(x), *bn1, {}, /*relu=*/true);
  const auto identity = downsample.is_empty() ? x : downsample->forward(x);
  return batch_norm_act(conv2(out), *bn2, identity, /*relu=*/true);
}

ResNetEncoderImpl::ResNetEncoderImpl(const EncoderOptions& options) : options_(options) {
  std::vector<int> blocks;
  if (options.depth == 18) {
    blocks = {2, 2, 2, 2};
  } else if (options.depth == 34) {
    blocks = {3, 4, 6, 3};
  } else {
    throw ConfigError("resnet encoder: depth must be 18 or 34, got " +
                      std::to_string(options.depth));
  }
  if (options.in_channels < 1) {
    throw ConfigError("resnet encoder: in_channels must be at least 1, got " +
                      std::to_string(options.in_channels));
  }
  if (options.stages < 1 || options.stages > 4 || options.width < 8 || options.width > 256) {
    throw ConfigError("resnet encoder: stages must be 1..4 and width 8..256, got stages " +
                      std::to_string(options.stages) + ", width " + std::to_string(options.width));
  }
  const int w = options.width;
  conv1 = register_module("conv1", conv(options.in_channels, w, 7, 2, 3));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(w));
  const int planes[4] = {w, 2 * w, 4 * w, 8 * w};
  int in_planes = w;
  for (int stage = 0; stage < options.stages; ++stage) {
    torch::nn::Sequential layer;
    for (int b = 0; b < blocks[stage]; ++b) {
      const int stride = (stage > 0 && b == 0) ? 2 : 1;
      layer->push_back(BasicBlock(in_planes, planes[stage], stride));
      in_planes = planes[stage];
    }
    layers_.push_back(register_module("layer" + std::to_string(stage + 1), layer));
  }
  init_like_torchvision(*this);
}

torch::Tensor ResNetEncoderImpl::forward(const torch::Tensor& x) {
  auto y = batch_norm_act(conv1(x), *bn1, {}, /*relu=*/true);
  y = max_pool_3x3s2(y);
  for (auto& layer : layers_) y = layer->forward(y);
  return y;
}

}  // namespace capflow::model
