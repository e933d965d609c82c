// Gradient averaging in buckets, overlapped with backward (the scheme of PyTorch DDP's
// reducer, on c10d's Gloo allreduce): parameters are grouped, in the reverse of their order
// (roughly the order backward produces their gradients), into flat buckets of about
// `bucket_bytes`; a hook on each parameter copies its gradient into its bucket as backward
// produces it, and a bucket's allreduce starts as soon as its last gradient arrived, while
// backward goes on with the rest. finish_step() starts what is left, waits, averages and
// writes the averaged gradients back into the parameters' .grad.
#pragma once

#include <torch/torch.h>

#include <cstddef>
#include <mutex>
#include <torch/csrc/distributed/c10d/Work.hpp>
#include <vector>

namespace capflow::reduce {

class Communicator;

class GradientBuckets {
 public:
  GradientBuckets(std::vector<torch::Tensor> parameters, Communicator& comm,
                  std::size_t bucket_bytes);

  // Whether the coming backward completes an optimizer step (with gradient accumulation only
  // the last micro-batch's backward is reduced, holding the sum of all of them).
  void arm(bool armed) { armed_ = armed; }
  // Starts the buckets the hooks did not, waits for all, averages, writes .grad.
  void finish_step();

  std::size_t bucket_count() const { return buckets_.size(); }
  double wait_seconds() const { return wait_seconds_; }  // time blocked waiting (exposed)
  // Buckets whose allreduce started during backward (overlapped), over all steps so far.
  std::uint64_t started_during_backward() const { return started_early_; }

 private:
  struct Slot {
    std::size_t bucket;
    std::int64_t offset;
  };
  struct Bucket {
    torch::Tensor flat;
    std::vector<std::size_t> members;
    std::vector<bool> filled;
    std::size_t ready = 0;
    c10::intrusive_ptr<c10d::Work> work;
  };
  void on_gradient(std::size_t index, const torch::Tensor& grad);
  void fill(std::size_t index, const torch::Tensor& grad);
  void launch(Bucket& bucket);

  std::vector<torch::Tensor> parameters_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  Communicator& comm_;
  bool armed_ = false;
  double wait_seconds_ = 0;
  std::uint64_t started_early_ = 0;
  std::mutex mutex_;
};

}  // namespace capflow::reduce
