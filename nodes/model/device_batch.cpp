// Staging batches onto the model's device (see device_batch.h).
#include "nodes/model/device_batch.h"

#include <c10/core/Event.h>
#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <cstring>
#include <vector>

#include "graph/errors.h"
#include "nodes/model/precision.h"

namespace capflow::model {

bool cuda_built() {
#ifdef CAPFLOW_WITH_CUDA
  return true;
#else
  return false;
#endif
}

torch::Device node_device(const std::string& name) {
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name != "cuda") throw ConfigError("unknown device '" + name + "' (cpu or cuda)");
  if (!cuda_built())
    throw ConfigError(
        "device cuda: this build has no CUDA (the LibTorch it was built against is "
        "CPU-only); see docs/gpu.md");
  if (!torch::cuda::is_available())
    throw ConfigError(
        "device cuda: LibTorch sees no CUDA device on this machine (driver, "
        "CUDA_VISIBLE_DEVICES?)");
  return torch::Device(torch::kCUDA, 0);
}

torch::Device module_device(const torch::nn::Module& module) {
  const auto parameters = module.parameters();
  return parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device();
}

void DeviceBatch::wait() const {
  if (!ready) return;
  const c10::impl::VirtualGuardImpl impl(input.device().type());
  const c10::Stream current = impl.getStream(input.device());
  ready->block(current);
  input.record_stream(current);
  tokens.record_stream(current);
}

DeviceStager::DeviceStager(torch::Device device, bool channels_last)
    : device_(device), channels_last_(channels_last) {}

DeviceBatch DeviceStager::stage(std::shared_ptr<const batch::ImageBatch> host) {
  const batch::ImageBatch& b = *host;
  DeviceBatch out;
  out.host = host;
  const std::int64_t n = b.size, h = b.height, w = b.width, t = b.max_length;
  if (device_.is_cpu()) {
    std::vector<const std::uint8_t*> planes(static_cast<std::size_t>(b.size));
    for (int r = 0; r < b.size; ++r) planes[static_cast<std::size_t>(r)] = b.pixels_of(r);
    out.input = to_model_input(planes.data(), b.size, b.height, b.width, channels_last_);
    out.tokens =
        torch::from_blob(const_cast<std::int64_t*>(b.tokens.data()), {n, t}, torch::kInt64).clone();
    return out;
  }
  // Pinned host buffers (LibTorch's caching host allocator keeps each one until the copy that
  // reads it has finished, so they may go out of scope here).
  const auto pinned = torch::TensorOptions().pinned_memory(true);
  torch::Tensor pixels_host = torch::empty({n, h, w}, pinned.dtype(torch::kByte));
  b.copy_pixels_to(static_cast<std::uint8_t*>(pixels_host.data_ptr()));
  torch::Tensor tokens_host = torch::empty({n, t}, pinned.dtype(torch::kLong));
  if (!b.tokens.empty())
    std::memcpy(tokens_host.data_ptr(), b.tokens.data(), b.tokens.size() * sizeof(std::int64_t));

  const c10::impl::VirtualGuardImpl impl(device_.type());
  if (!stream_) stream_ = impl.getStreamFromGlobalPool(device_);
  const c10::StreamGuard on_side_stream(*stream_);
  const torch::Tensor pixels = pixels_host.to(device_, /*non_blocking=*/true);
  // (255 - x) / 255 as to_model_input computes it: exact integers, then one multiply.
  torch::Tensor x =
      pixels.to(torch::kFloat).neg_().add_(255.0).mul_(1.0f / 255.0f).view({n, 1, h, w});
  // With one channel, NCHW and channels-last hold the same bytes; only the strides differ.
  if (channels_last_) x = x.as_strided({n, 1, h, w}, {h * w, 1, w, 1});
  out.input = x;
  out.tokens = tokens_host.to(device_, /*non_blocking=*/true);
  out.ready = std::make_shared<c10::Event>(device_.type());
  out.ready->record(*stream_);
  return out;
}

}  // namespace capflow::model
