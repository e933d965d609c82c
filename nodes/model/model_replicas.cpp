// Model replicas inside one process (see model_replicas.h).
#include "nodes/model/model_replicas.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <oneapi/tbb/task_group.h>

#include <exception>
#include <mutex>

#include "graph/errors.h"
#include "nodes/model/device_batch.h"
#include "nodes/model/precision.h"

namespace capflow::model {
namespace {

bool trainable(const torch::nn::Module& module) {
  for (const auto& p : module.parameters())
    if (p.requires_grad()) return true;
  return false;
}

// `copy`'s parameters become views of `original`'s storage; its buffers get their values.
void share_parameters(torch::nn::Module& copy, const torch::nn::Module& original) {
  torch::NoGradGuard no_grad;
  auto from = original.parameters();
  auto to = copy.parameters();
  if (from.size() != to.size()) throw std::logic_error("replica: parameter lists differ");
  for (std::size_t i = 0; i < to.size(); ++i) {
    to[i].set_data(from[i]);
    to[i].set_requires_grad(from[i].requires_grad());
  }
  auto from_buffers = original.buffers();
  auto to_buffers = copy.buffers();
  if (from_buffers.size() != to_buffers.size())
    throw std::logic_error("replica: buffer lists differ");
  for (std::size_t i = 0; i < to_buffers.size(); ++i) to_buffers[i].copy_(from_buffers[i]);
}

ResNetEncoder copy_encoder(const ResNetEncoder& original, bool channels_last) {
  ResNetEncoder copy(original->options());
  copy->to(module_device(*original));
  if (channels_last) to_channels_last(*copy);
  share_parameters(*copy, *original);
  copy->train(original->is_training());
  return copy;
}

CaptionDecoder copy_decoder(const CaptionDecoder& original) {
  CaptionDecoder copy = make_decoder(original->options());
  copy->to(module_device(*original));
  share_parameters(*copy, *original);
  copy->train(original->is_training());
  return copy;
}

}  // namespace

std::vector<ModelReplica> make_replicas(const ResNetEncoder& encoder, const CaptionDecoder& decoder,
                                        int count, bool channels_last) {
  if (count < 1) throw ConfigError("replicas must be at least 1, got " + std::to_string(count));
  std::vector<ModelReplica> out{{encoder, decoder}};
  const bool shared_encoder = !trainable(*encoder);
  for (int k = 1; k < count; ++k)
    out.push_back(
        {shared_encoder ? encoder : copy_encoder(encoder, channels_last), copy_decoder(decoder)});
  if (count > 1)
    for (auto& r : out) r.decoder->set_generator(at::make_generator<at::CPUGeneratorImpl>());
  return out;
}

void merge_gradients(std::vector<ModelReplica>& replicas) {
  if (replicas.size() < 2) return;
  torch::NoGradGuard no_grad;
  auto parameters_of = [](const ModelReplica& r) {
    std::vector<torch::Tensor> out = r.decoder->parameters();
    for (auto& p : r.encoder->parameters()) out.push_back(p);
    return out;
  };
  std::vector<torch::Tensor> target = parameters_of(replicas[0]);
  for (std::size_t k = 1; k < replicas.size(); ++k) {
    // A shared encoder is frozen: its parameters have no gradients to merge.
    std::vector<torch::Tensor> source = parameters_of(replicas[k]);
    for (std::size_t i = 0; i < target.size(); ++i) {
      torch::Tensor& g = source[i].mutable_grad();
      if (!g.defined()) continue;
      torch::Tensor& into = target[i].mutable_grad();
      if (into.defined())
        into.add_(g);
      else
        into = g.clone();
      g.zero_();
    }
  }
}

void average_statistics(std::vector<ModelReplica>& replicas) {
  if (replicas.size() < 2 || replicas[1].encoder.get() == replicas[0].encoder.get()) return;
  torch::NoGradGuard no_grad;
  std::vector<std::vector<torch::Tensor>> buffers;
  for (const auto& r : replicas) buffers.push_back(r.encoder->buffers());
  for (std::size_t i = 0; i < buffers[0].size(); ++i) {
    if (!buffers[0][i].is_floating_point()) continue;  // num_batches_tracked: equal everywhere
    torch::Tensor sum = buffers[0][i].to(torch::kFloat64);
    for (std::size_t k = 1; k < buffers.size(); ++k) sum.add_(buffers[k][i]);
    sum.div_(static_cast<double>(buffers.size()));
    for (auto& b : buffers) b[i].copy_(sum);
  }
}

void for_each_replica(int count, int threads, const std::function<void(int)>& fn) {
  auto run = [&](int k) {
    at::internal::lazy_init_num_threads();  // else a thread's first parallel op resets it
    if (at::get_num_threads() != threads) at::set_num_threads(threads);
    fn(k);
  };
  if (count <= 1) {
    if (count == 1) run(0);
    return;
  }
  std::exception_ptr failure;
  std::mutex mutex;
  tbb::task_group tasks;
  for (int k = 0; k < count; ++k)
    tasks.run([&, k] {
      try {
        run(k);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!failure) failure = std::current_exception();
      }
    });
  tasks.wait();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace capflow::model
