// Numeric precision of the model (fp32 or bf16 autocast on CPU), memory-format helpers, and
// the conversion of a uint8 gray image batch into the model's float input.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

namespace capflow::model {

enum class Precision { kFp32, kBf16 };

// "fp32" or "bf16" (also "float32", "bfloat16"); anything else throws ConfigError.
Precision parse_precision(const std::string& text);
const char* precision_name(Precision precision);

// Scoped CPU autocast. kBf16 runs matmuls and convolutions in bfloat16 (oneDNN's AMX path);
// kFp32 disables autocast inside the scope. The previous autocast state and dtype come back on
// destruction, and the cast-weight cache is cleared when the outermost guard ends. Autocast is
// thread-local: create the guard on the thread that runs the forward pass. Close it before the
// optimizer step, as the cache holds bf16 copies of the weights.
class AutocastGuard {
 public:
  explicit AutocastGuard(Precision precision);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool previous_enabled_;
  at::ScalarType previous_dtype_;
};

// Converts a uint8 gray batch, NHWC with C = 1 (0 = black ink, 255 = white paper), into float
// [N, 1, H, W] with value (255 - x) / 255: ink is 1 and paper 0, so zero padding and fill
// are background. No mean/std standardisation (BMS pages are ~95% paper; batch norm follows
// the stem). One pass over the pixels; channels_last gives the channels-last memory format
// (strides [H*W, 1, W, 1]), otherwise contiguous NCHW.
torch::Tensor to_model_input(const uint8_t* nhwc, int n, int h, int w, bool channels_last);

// Converts every 4-D parameter and buffer of `module` (convolution weights) to channels-last
// in place (the parameters stay the same objects, so optimizers keep working). With
// channels-last weights, oneDNN convolutions run channels-last whatever the input's format.
void to_channels_last(torch::nn::Module& module);

}  // namespace capflow::model
