// The optimizer side of a training step: Adam or AdamW over the model's trainable
// parameters, gradient accumulation, clipping by global norm, the learning-rate schedule.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

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

// A named part of the model ("decoder", "encoder"): its gradient norm is reported on its own,
// and its learning rate is the schedule's times lr_scale.
struct ParameterGroup {
  std::string name;
  std::vector<torch::Tensor> parameters;
  double lr_scale = 1.0;
};

class Trainer {
 public:
  // One optimizer parameter group when every lr_scale is 1 (the checkpoint layout of earlier
  // versions), else one per group.
  Trainer(std::vector<ParameterGroup> groups, const TrainerOptions& options);

  // Called after one micro-batch's backward with that micro-batch's mean loss (not divided by
  // `accumulate`: the backward node divides the tensor it back-propagates; the reported loss is
  // the mean over the micro-batches).
  // Returns true when this completed an optimizer step (clip, set the rate, step, zero).
  bool after_backward(double loss);

  std::uint64_t step() const { return step_; }  // optimizer steps done
  void set_step(std::uint64_t step) { step_ = step; }
  bool at_step_boundary() const { return micro_ == 0; }
  // Share of the time budget used (0..1), for a schedule that decays by time.
  void set_progress(double progress) { progress_ = progress; }
  double last_loss() const { return last_loss_; }  // mean loss of the last step's micro-batches
  double last_lr() const { return last_lr_; }
  double last_grad_norm() const { return last_grad_norm_; }
  // Gradient norm of each group before clipping, in the order given; computed every step.
  const std::vector<double>& last_group_norms() const { return last_group_norms_; }
  const std::vector<ParameterGroup>& groups() const { return groups_; }
  const TrainerOptions& options() const { return options_; }
  torch::optim::Optimizer& optimizer() { return *optimizer_; }
  // Drops gradients of an unfinished accumulation (a stop between step boundaries).
  void discard_partial_step();

 private:
  void update(double coef);

  std::vector<ParameterGroup> groups_;
  std::vector<torch::Tensor> parameters_;  // every group's, in order
  std::vector<double> lr_scales_;          // per optimizer parameter group
  std::vector<double> last_group_norms_;
  TrainerOptions options_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::uint64_t step_ = 0;
  int micro_ = 0;
  double loss_sum_ = 0;
  double last_loss_ = 0, last_lr_ = 0, last_grad_norm_ = 0;
  double progress_ = 0;
};

}  // namespace capflow::model
