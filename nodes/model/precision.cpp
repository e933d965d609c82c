// Precision selection, scoped CPU autocast, and model-input conversion (see precision.h).
#include "nodes/model/precision.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>

#include "graph/errors.h"

namespace capflow::model {

Precision parse_precision(const std::string& text) {
  if (text == "fp32" || text == "float32") return Precision::kFp32;
  if (text == "bf16" || text == "bfloat16") return Precision::kBf16;
  throw ConfigError("precision must be fp32 or bf16, got '" + text + "'");
}

const char* precision_name(Precision precision) {
  return precision == Precision::kBf16 ? "bf16" : "fp32";
}

AutocastGuard::AutocastGuard(Precision precision)
    : previous_enabled_(at::autocast::is_cpu_enabled()),
      previous_dtype_(at::autocast::get_autocast_cpu_dtype()) {
  at::autocast::set_cpu_enabled(precision == Precision::kBf16);
  at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_cpu_enabled(previous_enabled_);
  at::autocast::set_autocast_cpu_dtype(previous_dtype_);
}

torch::Tensor to_model_input(const uint8_t* nhwc, int n, int h, int w, bool channels_last) {
  TORCH_CHECK(n >= 0 && h > 0 && w > 0, "to_model_input: bad batch shape ", n, "x", h, "x", w);
  auto out = torch::empty({n, 1, h, w}, torch::TensorOptions()
                                             .dtype(torch::kFloat)
                                             .memory_format(channels_last
                                                                ? at::MemoryFormat::ChannelsLast
                                                                : at::MemoryFormat::Contiguous));
  // With one channel, NHWC, NCHW and channels-last all store pixels in the same order.
  float* dst = out.data_ptr<float>();
  const int64_t total = static_cast<int64_t>(n) * h * w;
  constexpr float kScale = 1.0f / 255.0f;
  at::parallel_for(0, total, 1 << 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) dst[i] = static_cast<float>(255 - nhwc[i]) * kScale;
  });
  return out;
}

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) {
    if (p.dim() == 4) p.set_data(p.data().contiguous(at::MemoryFormat::ChannelsLast));
  }
  for (auto& b : module.buffers()) {
    if (b.dim() == 4) b.set_data(b.data().contiguous(at::MemoryFormat::ChannelsLast));
  }
}

}  // namespace capflow::model
