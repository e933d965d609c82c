// Optimizer steps with accumulation, clipping and the schedule.
#include "nodes/model/trainer.h"

#include "graph/errors.h"

namespace capflow::model {

Trainer::Trainer(std::vector<torch::Tensor> parameters, const TrainerOptions& options)
    : parameters_(std::move(parameters)), options_(options) {
  if (options_.accumulate < 1) throw ConfigError("accumulate must be at least 1");
  if (parameters_.empty()) throw ConfigError("the model has no trainable parameters");
  const double lr = options_.schedule.at(0);
  if (options_.decoupled_weight_decay) {
    torch::optim::AdamWOptions o(lr);
    o.betas({options_.beta1, options_.beta2}).eps(options_.eps).weight_decay(options_.weight_decay);
    optimizer_ = std::make_unique<torch::optim::AdamW>(parameters_, o);
  } else {
    torch::optim::AdamOptions o(lr);
    o.betas({options_.beta1, options_.beta2}).eps(options_.eps).weight_decay(options_.weight_decay);
    optimizer_ = std::make_unique<torch::optim::Adam>(parameters_, o);
  }
}

bool Trainer::after_backward(double loss) {
  loss_sum_ += loss;
  if (++micro_ < options_.accumulate) return false;
  last_loss_ = loss_sum_ / options_.accumulate;
  loss_sum_ = 0;
  micro_ = 0;
  last_grad_norm_ = options_.clip_norm > 0
                        ? torch::nn::utils::clip_grad_norm_(parameters_, options_.clip_norm)
                        : 0.0;
  last_lr_ = options_.schedule.at(step_);
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(last_lr_);
  optimizer_->step();
  optimizer_->zero_grad();
  ++step_;
  return true;
}

void Trainer::discard_partial_step() {
  if (micro_ == 0) return;
  optimizer_->zero_grad();
  micro_ = 0;
  loss_sum_ = 0;
}

}  // namespace capflow::model
