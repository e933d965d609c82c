// Precision selection, scoped autocast, and model-input conversion (see precision.h).
#include "nodes/model/precision.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <algorithm>
#include <vector>

#include "graph/errors.h"

// LibTorch 2.4 replaced the per-device autocast functions (is_cpu_enabled, set_enabled for
// CUDA, get_autocast_gpu_dtype, ...) by ones taking the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define CAPFLOW_AUTOCAST_BY_DEVICE 1
#endif

namespace capflow::model {

namespace {

bool autocast_enabled(c10::DeviceType d) {
#ifdef CAPFLOW_AUTOCAST_BY_DEVICE
  return at::autocast::is_autocast_enabled(d);
#else
  return d == c10::DeviceType::CPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
}

void set_autocast_enabled(c10::DeviceType d, bool enabled) {
#ifdef CAPFLOW_AUTOCAST_BY_DEVICE
  at::autocast::set_autocast_enabled(d, enabled);
#else
  if (d == c10::DeviceType::CPU)
    at::autocast::set_cpu_enabled(enabled);
  else
    at::autocast::set_enabled(enabled);
#endif
}

at::ScalarType autocast_dtype(c10::DeviceType d) {
#ifdef CAPFLOW_AUTOCAST_BY_DEVICE
  return at::autocast::get_autocast_dtype(d);
#else
  return d == c10::DeviceType::CPU ? at::autocast::get_autocast_cpu_dtype()
                                   : at::autocast::get_autocast_gpu_dtype();
#endif
}

void set_autocast_dtype(c10::DeviceType d, at::ScalarType dtype) {
#ifdef CAPFLOW_AUTOCAST_BY_DEVICE
  at::autocast::set_autocast_dtype(d, dtype);
#else
  if (d == c10::DeviceType::CPU)
    at::autocast::set_autocast_cpu_dtype(dtype);
  else
    at::autocast::set_autocast_gpu_dtype(dtype);
#endif
}

// Autocast covers the CPU and CUDA here; other device types run as they are.
bool supported(c10::DeviceType d) {
  return d == c10::DeviceType::CPU || d == c10::DeviceType::CUDA;
}

}  // namespace

Precision parse_precision(const std::string& text) {
  if (text == "fp32" || text == "float32") return Precision::kFp32;
  if (text == "bf16" || text == "bfloat16") return Precision::kBf16;
  throw ConfigError("precision must be fp32 or bf16, got '" + text + "'");
}

const char* precision_name(Precision precision) {
  return precision == Precision::kBf16 ? "bf16" : "fp32";
}

AutocastGuard::AutocastGuard(Precision precision, c10::DeviceType device)
    : device_(supported(device) ? device : c10::DeviceType::CPU),
      previous_enabled_(autocast_enabled(device_)),
      previous_dtype_(autocast_dtype(device_)) {
  set_autocast_enabled(device_, precision == Precision::kBf16);
  set_autocast_dtype(device_, at::kBFloat16);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast_enabled(device_, previous_enabled_);
  set_autocast_dtype(device_, previous_dtype_);
}

std::optional<at::ScalarType> active_autocast_dtype(const torch::Tensor& t) {
  const c10::DeviceType d = t.device().type();
  if (!supported(d) || !autocast_enabled(d)) return std::nullopt;
  return autocast_dtype(d);
}

torch::Tensor to_model_input(const uint8_t* const* planes, int n, int h, int w,
                             bool channels_last) {
  TORCH_CHECK(n >= 0 && h > 0 && w > 0, "to_model_input: bad batch shape ", n, "x", h, "x", w);
  auto out =
      torch::empty({n, 1, h, w}, torch::TensorOptions()
                                     .dtype(torch::kFloat)
                                     .memory_format(channels_last ? at::MemoryFormat::ChannelsLast
                                                                  : at::MemoryFormat::Contiguous));
  // With one channel, NHWC, NCHW and channels-last all store pixels in the same order.
  float* dst = out.data_ptr<float>();
  const int64_t plane = static_cast<int64_t>(h) * w;
  constexpr float kScale = 1.0f / 255.0f;
  at::parallel_for(0, n, std::max<int64_t>(1, (1 << 16) / plane), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const uint8_t* src = planes[p];
      float* to = dst + p * plane;
      for (int64_t i = 0; i < plane; ++i) to[i] = static_cast<float>(255 - src[i]) * kScale;
    }
  });
  return out;
}

torch::Tensor to_model_input(const uint8_t* nhwc, int n, int h, int w, bool channels_last) {
  TORCH_CHECK(n >= 0 && h > 0 && w > 0, "to_model_input: bad batch shape ", n, "x", h, "x", w);
  std::vector<const uint8_t*> planes(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    planes[static_cast<std::size_t>(i)] = nhwc + static_cast<int64_t>(i) * h * w;
  return to_model_input(planes.data(), n, h, w, channels_last);
}

namespace {
// Channels-last strides, always: contiguous(ChannelsLast) keeps a one-channel tensor's NCHW
// strides (both layouts store it alike), and then LibTorch takes the tensor for NCHW, so the
// convolution behind it writes NCHW and the max-pool after the stem takes its slow NCHW
// path (a third of the encoder's forward time in bf16).
torch::Tensor restride_channels_last(const torch::Tensor& t) {
  auto out = torch::empty(t.sizes(), t.options().memory_format(at::MemoryFormat::ChannelsLast));
  out.copy_(t);
  return out;
}
}  // namespace

torch::Tensor as_channels_last(const torch::Tensor& t) {
  if (t.dim() != 4 || t.suggest_memory_format() == at::MemoryFormat::ChannelsLast) return t;
  return restride_channels_last(t);
}

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters())
    if (p.dim() == 4) p.set_data(as_channels_last(p.data()));
  for (auto& b : module.buffers())
    if (b.dim() == 4) b.set_data(as_channels_last(b.data()));
}

}  // namespace capflow::model
