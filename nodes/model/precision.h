// Numeric precision of the model (fp32 or bf16 autocast, on the CPU or a CUDA device),
// memory-format helpers, and the conversion of a uint8 gray image batch into the model's
// float input.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>

namespace capflow::model {

enum class Precision { kFp32, kBf16 };

// "fp32" or "bf16" (also "float32", "bfloat16"); anything else throws ConfigError.
Precision parse_precision(const std::string& text);
const char* precision_name(Precision precision);

// Scoped autocast for `device` (CPU: LibTorch's CPU autocast; CUDA: its CUDA autocast; the
// same code on LibTorch 1.13 and 2.x). kBf16 runs matmuls and convolutions in bfloat16
// (oneDNN's AMX path on the CPU, tensor cores on a GPU); kFp32 disables autocast inside the
// scope. The previous autocast state and dtype come back on
// destruction, and the cast-weight cache is cleared when the outermost guard ends. Autocast is
// thread-local: create the guard on the thread that runs the forward pass. Close it before the
// optimizer step, as the cache holds bf16 copies of the weights.
class AutocastGuard {
 public:
  explicit AutocastGuard(Precision precision, c10::DeviceType device = c10::DeviceType::CPU);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  c10::DeviceType device_;
  bool previous_enabled_;
  at::ScalarType previous_dtype_;
};

// The dtype autocast computes in for tensors on `t`'s device, when autocast is on for that
// device type on this thread; nullopt otherwise.
std::optional<at::ScalarType> active_autocast_dtype(const torch::Tensor& t);

// Converts a uint8 gray batch, NHWC with C = 1 (0 = black ink, 255 = white paper), into float
// [N, 1, H, W] with value (255 - x) / 255: ink is 1 and paper 0, so zero padding and fill
// are background. No mean/std standardisation (BMS pages are ~95% paper; batch norm follows
// the stem). One pass over the pixels; channels_last gives the channels-last memory format
// (strides [H*W, 1, W, 1]), otherwise contiguous NCHW.
torch::Tensor to_model_input(const uint8_t* nhwc, int n, int h, int w, bool channels_last);
// The same from n pictures of h x w bytes each, wherever each lies (planes[i]: picture i).
torch::Tensor to_model_input(const uint8_t* const* planes, int n, int h, int w, bool channels_last);

// Converts every 4-D parameter and buffer of `module` (convolution weights) to channels-last
// in place (the parameters stay the same objects, so optimizers keep working). With
// channels-last weights, oneDNN convolutions run channels-last whatever the input's format.
// The same values with channels-last strides (a copy unless LibTorch already takes it for
// channels-last; one-channel tensors included).
torch::Tensor as_channels_last(const torch::Tensor& t);

void to_channels_last(torch::nn::Module& module);

}  // namespace capflow::model
