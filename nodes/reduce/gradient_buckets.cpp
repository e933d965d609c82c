// Bucketed, overlapped gradient averaging (see gradient_buckets.h).
#include "nodes/reduce/gradient_buckets.h"

#include <chrono>
#include <torch/csrc/distributed/c10d/Work.hpp>

#include "nodes/reduce/communicator.h"

namespace capflow::reduce {

GradientBuckets::GradientBuckets(std::vector<torch::Tensor> parameters, Communicator& comm,
                                 std::size_t bucket_bytes)
    : parameters_(std::move(parameters)), slots_(parameters_.size()), comm_(comm) {
  std::vector<std::size_t> current;
  std::int64_t elements = 0;
  const auto close = [&] {
    if (current.empty()) return;
    Bucket b;
    b.flat = torch::zeros({elements}, torch::kFloat32);
    b.members = current;
    b.filled.assign(current.size(), false);
    buckets_.push_back(std::move(b));
    current.clear();
    elements = 0;
  };
  for (std::size_t k = parameters_.size(); k-- > 0;) {
    const std::int64_t n = parameters_[k].numel();
    slots_[k] = {buckets_.size(), elements};
    current.push_back(k);
    elements += n;
    if (static_cast<std::size_t>(elements) * sizeof(float) >= bucket_bytes) close();
  }
  close();
  for (std::size_t k = 0; k < parameters_.size(); ++k)
    parameters_[k].register_hook([this, k](torch::Tensor grad) { on_gradient(k, grad); });
}

void GradientBuckets::fill(std::size_t index, const torch::Tensor& grad) {
  const Slot& s = slots_[index];
  Bucket& b = buckets_[s.bucket];
  const torch::Tensor& p = parameters_[index];
  torch::NoGradGuard no_grad;
  torch::Tensor view = b.flat.narrow(0, s.offset, p.numel()).view(p.sizes());
  if (grad.defined())
    view.copy_(grad);
  else
    view.zero_();
  std::size_t member = 0;
  while (b.members[member] != index) ++member;
  if (!b.filled[member]) {
    b.filled[member] = true;
    ++b.ready;
  }
}

void GradientBuckets::on_gradient(std::size_t index, const torch::Tensor& grad) {
  if (!armed_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  const torch::Tensor& accumulated = parameters_[index].grad();
  // With accumulation, .grad holds the earlier micro-batches' sum; this one is added after us.
  fill(index, accumulated.defined() ? (accumulated + grad) : grad);
  Bucket& b = buckets_[slots_[index].bucket];
  if (b.ready == b.members.size() && !b.work) {
    launch(b);
    ++started_early_;
  }
}

void GradientBuckets::launch(Bucket& b) {
  std::vector<torch::Tensor> tensors{b.flat};
  b.work = comm_.allreduce_async(tensors);
}

void GradientBuckets::finish_step() {
  std::lock_guard<std::mutex> lock(mutex_);
  // Parameters backward did not reach (unused this step, or an unarmed backward): their
  // current .grad, or zeros, so every rank contributes the same layout.
  for (auto& b : buckets_) {
    if (b.work) continue;
    for (std::size_t m = 0; m < b.members.size(); ++m)
      if (!b.filled[m]) fill(b.members[m], parameters_[b.members[m]].grad());
    launch(b);
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (auto& b : buckets_) comm_.wait(b.work, "the gradient allreduce");
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double scale = 1.0 / comm_.world_size();
  torch::NoGradGuard no_grad;
  for (auto& b : buckets_) {
    b.flat.mul_(scale);
    for (std::size_t index : b.members) {
      torch::Tensor& p = parameters_[index];
      const torch::Tensor avg = b.flat.narrow(0, slots_[index].offset, p.numel()).view(p.sizes());
      if (p.grad().defined())
        p.mutable_grad().copy_(avg);
      else
        p.mutable_grad() = avg.clone();
    }
    b.work.reset();
    b.ready = 0;
    b.filled.assign(b.members.size(), false);
  }
  armed_ = false;
}

}  // namespace capflow::reduce
