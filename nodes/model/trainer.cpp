// Optimizer steps with accumulation, clipping and the schedule.
#include "nodes/model/trainer.h"

#include <algorithm>
#include <cmath>

#include "graph/errors.h"
#include "nodes/model/fused_adam.h"
#include "nodes/model/kernel_switches.h"

namespace capflow::model {

namespace {

// The optimizer's parameter groups: all parameters in one when no group has its own rate.
std::vector<torch::optim::OptimizerParamGroup> optimizer_groups(
    const std::vector<ParameterGroup>& groups, std::vector<double>& scales) {
  bool scaled = false;
  for (const auto& g : groups) scaled = scaled || g.lr_scale != 1.0;
  std::vector<torch::optim::OptimizerParamGroup> out;
  if (!scaled) {
    std::vector<torch::Tensor> all;
    for (const auto& g : groups) all.insert(all.end(), g.parameters.begin(), g.parameters.end());
    out.emplace_back(all);
    scales = {1.0};
    return out;
  }
  for (const auto& g : groups) {
    if (g.parameters.empty()) continue;
    out.emplace_back(g.parameters);
    scales.push_back(g.lr_scale);
  }
  return out;
}

// The 2-norm of the parameters' gradients: one read from the device for the whole group.
double norm_of_grads(const std::vector<torch::Tensor>& parameters) {
  if (optimizer_kernels_enabled()) return std::sqrt(squared_grad_norm(parameters));
  std::vector<torch::Tensor> norms;
  for (const auto& p : parameters)
    if (p.grad().defined()) norms.push_back(p.grad().norm(2).to(torch::kFloat));
  return norms.empty() ? 0.0 : torch::stack(norms).norm(2).item<double>();
}

}  // namespace

Trainer::Trainer(std::vector<ParameterGroup> groups, const TrainerOptions& options)
    : groups_(std::move(groups)), options_(options) {
  if (options_.accumulate < 1) throw ConfigError("accumulate must be at least 1");
  for (const auto& g : groups_) {
    if (g.lr_scale <= 0)
      throw ConfigError("the learning-rate scale of '" + g.name + "' must be positive");
    parameters_.insert(parameters_.end(), g.parameters.begin(), g.parameters.end());
  }
  if (parameters_.empty()) throw ConfigError("the model has no trainable parameters");
  auto param_groups = optimizer_groups(groups_, lr_scales_);
  const double lr = options_.schedule.at(0);
  if (options_.decoupled_weight_decay) {
    torch::optim::AdamWOptions o(lr);
    o.betas({options_.beta1, options_.beta2}).eps(options_.eps).weight_decay(options_.weight_decay);
    optimizer_ = std::make_unique<torch::optim::AdamW>(std::move(param_groups), o);
  } else {
    torch::optim::AdamOptions o(lr);
    o.betas({options_.beta1, options_.beta2}).eps(options_.eps).weight_decay(options_.weight_decay);
    optimizer_ = std::make_unique<torch::optim::Adam>(std::move(param_groups), o);
  }
}

bool Trainer::after_backward(double loss) {
  loss_sum_ += loss;
  if (++micro_ < options_.accumulate) return false;
  last_loss_ = loss_sum_ / options_.accumulate;
  loss_sum_ = 0;
  micro_ = 0;
  // The groups' norms give the global one: gradients are read once for both.
  last_group_norms_.clear();
  double squares = 0;
  for (const auto& g : groups_) {
    last_group_norms_.push_back(norm_of_grads(g.parameters));
    squares += last_group_norms_.back() * last_group_norms_.back();
  }
  last_grad_norm_ = 0;
  double coef = 1;
  if (options_.clip_norm > 0) {  // as torch::nn::utils::clip_grad_norm_ clips
    last_grad_norm_ = std::sqrt(squares);
    coef = std::min(1.0, options_.clip_norm / (last_grad_norm_ + 1e-6));
  }
  last_lr_ = options_.schedule.at(step_, progress_);
  auto& param_groups = optimizer_->param_groups();
  for (std::size_t i = 0; i < param_groups.size(); ++i)
    param_groups[i].options().set_lr(last_lr_ * lr_scales_[i]);
  update(coef);
  ++step_;
  return true;
}

// The optimizer step on gradients scaled by `coef` (≤ 1), then the gradients zeroed: one fused
// pass per parameter where fused_adam_step takes them, else LibTorch's operations.
void Trainer::update(double coef) {
  if (optimizer_kernels_enabled() &&
      fused_adam_step(*optimizer_, options_.decoupled_weight_decay, static_cast<float>(coef)))
    return;
  if (coef < 1)
    for (auto& p : parameters_)
      if (p.grad().defined()) p.grad().mul_(coef);
  optimizer_->step();
  optimizer_->zero_grad();
}

void Trainer::discard_partial_step() {
  if (micro_ == 0) return;
  optimizer_->zero_grad();
  micro_ = 0;
  loss_sum_ = 0;
}

}  // namespace capflow::model
