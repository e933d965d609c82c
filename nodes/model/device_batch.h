// A training batch on the device the model runs on: the model input and the token rows,
// staged from the host batch. On a CUDA device the pixels and tokens go through pinned host
// memory and are copied on a side stream (non-blocking), the uint8 -> float conversion runs
// there too, and an event recorded on that stream tells the compute stream when they are
// ready: batch k+1 is copied while batch k trains. On the CPU staging is to_model_input().
// Only device-generic LibTorch calls (c10::Stream, c10::Event, pinned allocation), so this
// compiles in CPU-only builds too; the CUDA path runs only where a device exists.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <optional>

#include "nodes/batch/image_batch.h"

namespace capflow::model {

struct DeviceBatch {
  std::shared_ptr<const batch::ImageBatch> host;
  torch::Tensor input;  // float [N, 1, H, W] on the device: (255 - x) / 255, channels-last if asked
  torch::Tensor tokens;               // int64 [N, T] on the device
  std::shared_ptr<c10::Event> ready;  // recorded after the copies; null: usable at once

  // Makes the calling thread's current stream on the device wait for the copies (without
  // blocking the host) and tells the caching allocator that the tensors are used on that
  // stream. Call on the thread that computes with them, before using them.
  void wait() const;
};

// Stages host batches onto one device. Not thread-safe (one per transfer node, which is
// serial); the side stream is taken from LibTorch's pool on first use.
class DeviceStager {
 public:
  DeviceStager(torch::Device device, bool channels_last);
  DeviceBatch stage(std::shared_ptr<const batch::ImageBatch> host);
  const torch::Device& device() const { return device_; }

 private:
  torch::Device device_;
  bool channels_last_;
  std::optional<c10::Stream> stream_;
};

// The device of a module's first parameter (CPU for a module without any).
torch::Device module_device(const torch::nn::Module& module);

// "cpu" or "cuda" (a node's `device:`) as a LibTorch device; "cuda" is device 0. Throws
// ConfigError for other names, and for cuda when LibTorch sees no CUDA device (naming the
// reason: no CUDA in this build, or no device on this machine).
torch::Device node_device(const std::string& name);

// True when this build has the cuda node implementations (CMake found a LibTorch with CUDA).
bool cuda_built();

}  // namespace capflow::model
