// Adam and AdamW as one pass per parameter (see fused_adam.h).
#include "nodes/model/fused_adam.h"

#include <ATen/Parallel.h>
#include <c10/util/string_utils.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>

#include <cmath>
#include <memory>
#include <vector>

#include "nodes/model/cpu_vector.h"

namespace capflow::model {

namespace {

// Elements per task where several threads share a parameter.
constexpr int64_t kGrain = 1 << 15;

// One parameter's step in float, as LibTorch's sequence of operations computes it.
struct AdamConstants {
  float grad_scale;
  float decay;  // AdamW: p·(1 − lr·wd) first; Adam: 1
  float l2;     // Adam: g + wd·p; AdamW: 0
  float beta1, one_minus_beta1, beta2, one_minus_beta2;
  float sqrt_correction2;  // √(1 − β2^t)
  float eps;
  float step_size;  // lr / (1 − β1^t)
};

CAPFLOW_VECTOR_CLONES void adam_elements(float* __restrict p, float* __restrict g,
                                         float* __restrict m, float* __restrict v, int64_t n,
                                         const AdamConstants& c) {
  for (int64_t i = 0; i < n; ++i) {
    const float pi = p[i] * c.decay;
    const float gi = g[i] * c.grad_scale + c.l2 * pi;
    const float mi = m[i] * c.beta1 + c.one_minus_beta1 * gi;
    const float vi = v[i] * c.beta2 + c.one_minus_beta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const float denom = std::sqrt(vi) / c.sqrt_correction2 + c.eps;
    p[i] = pi + -c.step_size * (mi / denom);
    g[i] = 0.0f;
  }
}

// A float CPU tensor whose elements fill one block of memory (contiguous in some order of its
// dimensions, as the encoder's channels-last weights are).
bool fusable(const torch::Tensor& t) {
  return t.defined() && t.device().is_cpu() && t.scalar_type() == at::kFloat &&
         t.is_non_overlapping_and_dense();
}

// p, its gradient and its moments (where it has them yet) walk their blocks in one order.
template <typename State>
bool parameter_fusable(torch::optim::Optimizer& optimizer, const torch::Tensor& p) {
  const torch::Tensor& g = p.grad();
  if (!(fusable(p) && fusable(g) && g.strides() == p.strides())) return false;
  const auto found = optimizer.state().find(c10::guts::to_string(p.unsafeGetTensorImpl()));
  if (found == optimizer.state().end()) return true;  // made like p (zeros_like, Preserve)
  const auto& s = static_cast<const State&>(*found->second);
  for (const torch::Tensor* t : {&s.exp_avg(), &s.exp_avg_sq()})
    if (!(fusable(*t) && t->strides() == p.strides())) return false;
  return true;
}

template <typename Options, typename State>
bool group_fusable(torch::optim::Optimizer& optimizer,
                   const torch::optim::OptimizerParamGroup& group) {
  if (static_cast<const Options&>(group.options()).amsgrad()) return false;
  for (const auto& p : group.params())
    if (p.grad().defined() && !parameter_fusable<State>(optimizer, p)) return false;
  return true;
}

template <typename Options, typename State>
AdamConstants constants_of(const Options& o, const State& s, bool decoupled, float grad_scale) {
  const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
  const auto t = static_cast<double>(s.step());
  AdamConstants c{};
  c.grad_scale = grad_scale;
  c.decay = decoupled ? static_cast<float>(1 - o.lr() * o.weight_decay()) : 1.0f;
  c.l2 = decoupled ? 0.0f : static_cast<float>(o.weight_decay());
  c.beta1 = static_cast<float>(beta1);
  c.one_minus_beta1 = static_cast<float>(1 - beta1);
  c.beta2 = static_cast<float>(beta2);
  c.one_minus_beta2 = static_cast<float>(1 - beta2);
  c.sqrt_correction2 = static_cast<float>(std::sqrt(1 - std::pow(beta2, t)));
  c.eps = static_cast<float>(o.eps());
  c.step_size = static_cast<float>(o.lr() / (1 - std::pow(beta1, t)));
  return c;
}

// The parameter's state, made as the optimizer's own step() makes it where it has none yet.
template <typename State>
State& state_of(torch::optim::Optimizer& optimizer, const torch::Tensor& p) {
  auto& states = optimizer.state();
  const std::string key = c10::guts::to_string(p.unsafeGetTensorImpl());
  auto found = states.find(key);
  if (found == states.end()) {
    auto state = std::make_unique<State>();
    state->step(0);
    state->exp_avg(torch::zeros_like(p, at::MemoryFormat::Preserve));
    state->exp_avg_sq(torch::zeros_like(p, at::MemoryFormat::Preserve));
    found = states.emplace(key, std::move(state)).first;
  }
  return static_cast<State&>(*found->second);
}

template <typename Options, typename State>
void step_group(torch::optim::Optimizer& optimizer, torch::optim::OptimizerParamGroup& group,
                bool decoupled, float grad_scale) {
  const auto& options = static_cast<const Options&>(group.options());
  torch::NoGradGuard no_grad;
  for (auto& p : group.params()) {
    if (!p.grad().defined()) continue;
    State& s = state_of<State>(optimizer, p);
    s.step(s.step() + 1);
    const AdamConstants c = constants_of(options, s, decoupled, grad_scale);
    float* pp = p.data_ptr<float>();
    float* gp = p.mutable_grad().data_ptr<float>();
    float* mp = s.exp_avg().template data_ptr<float>();
    float* vp = s.exp_avg_sq().template data_ptr<float>();
    at::parallel_for(0, p.numel(), kGrain, [&](int64_t i0, int64_t i1) {
      adam_elements(pp + i0, gp + i0, mp + i0, vp + i0, i1 - i0, c);
    });
  }
}

template <typename Options, typename State>
bool step_all(torch::optim::Optimizer& optimizer, bool decoupled, float grad_scale) {
  for (const auto& group : optimizer.param_groups())
    if (!group_fusable<Options, State>(optimizer, group)) return false;
  for (auto& group : optimizer.param_groups())
    step_group<Options, State>(optimizer, group, decoupled, grad_scale);
  return true;
}

}  // namespace

bool fused_adam_step(torch::optim::Optimizer& optimizer, bool decoupled, float grad_scale) {
  if (decoupled) {
    return step_all<torch::optim::AdamWOptions, torch::optim::AdamWParamState>(optimizer, true,
                                                                               grad_scale);
  }
  return step_all<torch::optim::AdamOptions, torch::optim::AdamParamState>(optimizer, false,
                                                                           grad_scale);
}

double squared_grad_norm(const std::vector<torch::Tensor>& parameters) {
  double sum = 0;
  std::vector<torch::Tensor> others;
  for (const auto& p : parameters) {
    const torch::Tensor& g = p.grad();
    if (!g.defined()) continue;
    if (fusable(g)) {
      const float* x = g.data_ptr<float>();
      sum += cpu::dot(x, x, g.numel());
    } else {
      others.push_back(g.to(at::kDouble).pow(2).sum());
    }
  }
  // One read from the device for all the others.
  if (!others.empty()) sum += torch::stack(others).sum().item<double>();
  return sum;
}

}  // namespace capflow::model
