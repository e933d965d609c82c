// The optimizer side of a training step: Adam or AdamW over the model's trainable
// parameters, gradient accumulation, clipping by global norm, the learning-rate schedule.
#pragma once

#include <memory>
#include <vector>

#include <torch/torch.h>

#include "nodes/model/lr_schedule.h"

namespace capflow::model {

struct TrainerOptions {
  bool decoupled_weight_decay = false;  // AdamW
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0.0;
  LrSchedule schedule;
  double clip_norm = 0.0;  // 0: no clipping
  int accumulate = 1;      // micro-batches per optimizer step
};

class Trainer {
 public:
  Trainer(std::vector<torch::Tensor> parameters, const TrainerOptions& options);

  // Called after one micro-batch's backward (its loss already divided by `accumulate`).
  // Returns true when this completed an optimizer step (clip, set the rate, step, zero).
  bool after_backward(double loss);

  std::uint64_t step() const { return step_; }  // optimizer steps done
  void set_step(std::uint64_t step) { step_ = step; }
  bool at_step_boundary() const { return micro_ == 0; }
  double last_loss() const { return last_loss_; }  // mean loss of the last step's micro-batches
  double last_lr() const { return last_lr_; }
  double last_grad_norm() const { return last_grad_norm_; }
  const TrainerOptions& options() const { return options_; }
  torch::optim::Optimizer& optimizer() { return *optimizer_; }
  // Drops gradients of an unfinished accumulation (a stop between step boundaries).
  void discard_partial_step();

 private:
  std::vector<torch::Tensor> parameters_;
  TrainerOptions options_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::uint64_t step_ = 0;
  int micro_ = 0;
  double loss_sum_ = 0;
  double last_loss_ = 0, last_lr_ = 0, last_grad_norm_ = 0;
};

}  // namespace capflow::model
