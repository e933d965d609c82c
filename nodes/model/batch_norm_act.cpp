// act(bn(x) + residual) fused on the CPU (see batch_norm_act.h).
#include "nodes/model/batch_norm_act.h"

#include <torch/torch.h>

#include "nodes/model/batch_norm_kernels.h"

namespace capflow::model {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

bool fusable(const torch::Tensor& x, const torch::nn::BatchNorm2dImpl& bn,
             const torch::Tensor& residual) {
  const auto& o = bn.options;
  return encoder_kernels_enabled() && encoder_kernel_layout(x) && o.affine() &&
         o.track_running_stats() && bn.weight.scalar_type() == at::kFloat &&
         bn.bias.scalar_type() == at::kFloat &&
         (!residual.defined() ||
          (encoder_kernel_layout(residual) && residual.sizes() == x.sizes() &&
           residual.scalar_type() == x.scalar_type()));
}

int64_t row_count(const torch::Tensor& x) { return x.numel() / x.size(1); }

// The per-channel scale and shift of (x − mean)·invstd·weight + bias, the statistics given
// (the batch's in training, the running ones in inference).
struct Coefficients {
  at::Tensor scale, shift;
};
Coefficients coefficients(const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& mean,
                          const at::Tensor& invstd) {
  auto scale = (weight.detach() * invstd).contiguous();
  auto shift = (bias.detach() - mean * scale).contiguous();
  return {scale, shift};
}

// y = act(x·scale + shift + residual).
at::Tensor normalize(const at::Tensor& x, const Coefficients& k, const at::Tensor& residual,
                     bool relu) {
  auto y = at::empty_like(x);
  scale_shift_act(x, k.scale, k.shift, residual, relu, y);
  return y;
}

class BatchNormActFunction : public torch::autograd::Function<BatchNormActFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                               const at::Tensor& bias, const at::Tensor& residual /* or empty */,
                               at::Tensor running_mean, at::Tensor running_var, double momentum,
                               double eps, bool relu) {
    const int64_t C = x.size(1), M = row_count(x);
    auto mean = at::empty({C}, x.options().dtype(at::kFloat));
    auto var = at::empty_like(mean);
    channel_mean_var(x, mean, var);
    const auto invstd = (var + eps).rsqrt();
    const bool has_residual = residual.numel() > 0;
    const auto k = coefficients(weight, bias, mean, invstd);
    const auto y = normalize(x, k, has_residual ? residual : at::Tensor(), relu);
    const double unbiased = M > 1 ? static_cast<double>(M) / static_cast<double>(M - 1) : 1.0;
    running_mean.mul_(1.0 - momentum).add_(mean, momentum);
    running_var.mul_(1.0 - momentum).add_(var, momentum * unbiased);
    // The ReLU's mask: from y after a residual sum, else from x and the coefficients (the
    // backward then reads two activations instead of three).
    const bool mask_from_y = relu && has_residual;
    ctx->save_for_backward({x, mask_from_y ? y : at::Tensor(), weight});
    ctx->saved_data["mean"] = mean;
    ctx->saved_data["invstd"] = invstd;
    ctx->saved_data["relu"] = relu;
    ctx->saved_data["residual"] = has_residual;
    if (relu && !mask_from_y) {
      ctx->saved_data["scale"] = k.scale;
      ctx->saved_data["shift"] = k.shift;
    }
    return {y};
  }

  // The backward's view of the ReLU (see BackwardAct).
  static BackwardAct activation(AutogradContext* ctx, const at::Tensor& y) {
    BackwardAct act;
    act.relu = ctx->saved_data.at("relu").toBool();
    if (!act.relu) return act;
    if (y.defined()) {
      act.y = y;
    } else {
      act.scale = ctx->saved_data.at("scale").toTensor();
      act.shift = ctx->saved_data.at("shift").toTensor();
    }
    return act;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &y = saved[1], &weight = saved[2];
    const auto mean = ctx->saved_data.at("mean").toTensor();
    const auto invstd = ctx->saved_data.at("invstd").toTensor();
    const auto act = activation(ctx, y);
    const auto dy = grad_outputs[0].to(x.scalar_type()).contiguous(at::MemoryFormat::ChannelsLast);
    auto sum_g = at::empty_like(mean), sum_gx = at::empty_like(mean);
    batch_norm_act_sums(dy, x, mean, act, sum_g, sum_gx);
    const double M = static_cast<double>(row_count(x));
    const auto k1 = (weight.detach() * invstd).contiguous();
    const auto k2 = (sum_g / M).contiguous();
    const auto k3 = (invstd * invstd * sum_gx / M).contiguous();
    auto dx = at::empty_like(x);
    at::Tensor dr;
    if (ctx->needs_input_grad(3) && ctx->saved_data.at("residual").toBool()) {
      dr = at::empty_like(x);
    }
    batch_norm_act_grads(dy, x, mean, k1, k2, k3, act, dx, dr);
    return {dx,           sum_gx * invstd, sum_g,        dr,          at::Tensor(),
            at::Tensor(), at::Tensor(),    at::Tensor(), at::Tensor()};
  }
};

// The running averages' weight for this batch, the batch counted (torch::nn::BatchNorm2d's
// rule: the momentum, or a cumulative average when it is unset).
double count_batch(torch::nn::BatchNorm2dImpl& bn) {
  torch::NoGradGuard no_grad;
  bn.num_batches_tracked += 1;
  const auto momentum = bn.options.momentum();
  return momentum ? *momentum : 1.0 / bn.num_batches_tracked.item<double>();
}

bool needs_grad(const torch::Tensor& x, const torch::nn::BatchNorm2dImpl& bn,
                const torch::Tensor& residual) {
  return torch::GradMode::is_enabled() &&
         (x.requires_grad() || bn.weight.requires_grad() || bn.bias.requires_grad() ||
          (residual.defined() && residual.requires_grad()));
}

}  // namespace

bool encoder_kernel_layout(const at::Tensor& t) {
  return t.device().is_cpu() && t.dim() == 4 && t.numel() > 0 &&
         (t.scalar_type() == at::kFloat || t.scalar_type() == at::kBFloat16) &&
         t.is_contiguous(at::MemoryFormat::ChannelsLast);
}

torch::Tensor batch_norm_act(const torch::Tensor& x, torch::nn::BatchNorm2dImpl& bn,
                             const torch::Tensor& residual, bool relu) {
  const bool fused = fusable(x, bn, residual);
  if (fused && bn.is_training()) {
    const double momentum = count_batch(bn);
    // No residual: an empty tensor (LibTorch's custom functions take no undefined inputs).
    const auto r = residual.defined() ? residual : at::empty({0}, x.options());
    return BatchNormActFunction::apply(x, bn.weight, bn.bias, r, bn.running_mean, bn.running_var,
                                       momentum, bn.options.eps(), relu)[0];
  }
  if (fused && !needs_grad(x, bn, residual)) {  // inference: the running statistics
    torch::NoGradGuard no_grad;
    const auto invstd = (bn.running_var + bn.options.eps()).rsqrt();
    return normalize(x, coefficients(bn.weight, bn.bias, bn.running_mean, invstd), residual, relu);
  }
  auto y = bn.forward(x);
  if (residual.defined()) y += residual;
  if (relu) y.relu_();
  return y;
}

}  // namespace capflow::model
