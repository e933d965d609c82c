// The fused Adam/AdamW step against LibTorch's own optimizers, on copies of the same
// parameters and gradients: parameters, moments, step counts and zeroed gradients, with weight
// decay, two groups at different rates and a clip scale; its state shared with LibTorch's step
// and checkpoints; what it refuses; the gradient norm.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "nodes/model/fused_adam.h"

namespace {

using capflow::model::fused_adam_step;

std::vector<torch::Tensor> make_parameters() {
  torch::manual_seed(3);
  return {
      torch::randn({5, 7}).requires_grad_(true), torch::randn({33}).requires_grad_(true),
      torch::randn({3, 4, 5}).requires_grad_(true),
      // a convolution's weight as the encoder keeps it
      torch::randn({4, 3, 2, 2}).contiguous(at::MemoryFormat::ChannelsLast).requires_grad_(true)};
}

std::vector<torch::Tensor> copies(const std::vector<torch::Tensor>& ps) {
  std::vector<torch::Tensor> out;
  for (const auto& p : ps)
    out.push_back(torch::empty_like(p).copy_(p.detach()).requires_grad_(true));
  return out;
}

// Two groups (the first parameter alone, at a tenth of the rate), as the trainer's encoder and
// decoder groups.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<torch::Tensor>& ps,
                                                        bool decoupled, double wd) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{ps[0]});
  groups.emplace_back(std::vector<torch::Tensor>{ps[1], ps[2], ps[3]});
  std::unique_ptr<torch::optim::Optimizer> o;
  if (decoupled) {
    o = std::make_unique<torch::optim::AdamW>(
        groups, torch::optim::AdamWOptions(2e-2).weight_decay(wd).betas({0.8, 0.95}));
  } else {
    o = std::make_unique<torch::optim::Adam>(
        groups, torch::optim::AdamOptions(2e-2).weight_decay(wd).betas({0.8, 0.95}));
  }
  o->param_groups()[0].options().set_lr(2e-3);
  return o;
}

void set_grads(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b, int step) {
  torch::manual_seed(100 + step);
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto g = torch::randn(a[i].sizes()) * static_cast<double>(i + 1);
    a[i].mutable_grad() = torch::empty_like(a[i]).copy_(g);  // the parameter's strides, as
    b[i].mutable_grad() = torch::empty_like(b[i]).copy_(g);  // autograd gives them
  }
}

// LibTorch's step on gradients scaled as the trainer's clipping scales them.
void reference_step(torch::optim::Optimizer& o, const std::vector<torch::Tensor>& ps, float scale) {
  if (scale != 1.0f)
    for (const auto& p : ps) p.grad().mul_(scale);
  o.step();
  o.zero_grad();
}

double max_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

template <typename State>
void expect_same_state(torch::optim::Optimizer& a, const torch::Tensor& pa,
                       torch::optim::Optimizer& b, const torch::Tensor& pb) {
  const auto& sa =
      static_cast<State&>(*a.state().at(c10::guts::to_string(pa.unsafeGetTensorImpl())));
  const auto& sb =
      static_cast<State&>(*b.state().at(c10::guts::to_string(pb.unsafeGetTensorImpl())));
  EXPECT_EQ(sa.step(), sb.step());
  EXPECT_LT(max_difference(sa.exp_avg(), sb.exp_avg()), 1e-6);
  EXPECT_LT(max_difference(sa.exp_avg_sq(), sb.exp_avg_sq()), 1e-6);
}

TEST(FusedAdam, MatchesLibTorchAdamAndAdamW) {
  for (const bool decoupled : {false, true}) {
    for (const double wd : {0.0, 0.05}) {
      SCOPED_TRACE(std::string(decoupled ? "AdamW" : "Adam") + " wd " + std::to_string(wd));
      const auto ref = make_parameters();
      const auto fused = copies(ref);
      auto ref_opt = make_optimizer(ref, decoupled, wd);
      auto fused_opt = make_optimizer(fused, decoupled, wd);
      for (int step = 0; step < 5; ++step) {
        const float scale = step == 2 ? 0.25f : 1.0f;
        set_grads(ref, fused, step);
        reference_step(*ref_opt, ref, scale);
        ASSERT_TRUE(fused_adam_step(*fused_opt, decoupled, scale));
      }
      for (std::size_t i = 0; i < ref.size(); ++i) {
        EXPECT_LT(max_difference(ref[i], fused[i]), 1e-6) << i;
        EXPECT_TRUE(torch::equal(fused[i].grad(), torch::zeros_like(fused[i]))) << i;
        if (decoupled) {
          expect_same_state<torch::optim::AdamWParamState>(*ref_opt, ref[i], *fused_opt, fused[i]);
        } else {
          expect_same_state<torch::optim::AdamParamState>(*ref_opt, ref[i], *fused_opt, fused[i]);
        }
      }
      // The steps moved the parameters: a step that did nothing would not pass the above.
      EXPECT_GT(max_difference(fused[1], make_parameters()[1]), 1e-3);
    }
  }
}

// Its state is the optimizer's own: LibTorch's step continues it, and a checkpoint of the
// optimizer carries it.
TEST(FusedAdam, SharesItsStateWithLibTorchAndCheckpoints) {
  const auto ref = make_parameters();
  const auto mixed = copies(ref);
  auto ref_opt = make_optimizer(ref, true, 0.01);
  auto mixed_opt = make_optimizer(mixed, true, 0.01);
  for (int step = 0; step < 2; ++step) {
    set_grads(ref, mixed, step);
    reference_step(*ref_opt, ref, 1.0f);
    ASSERT_TRUE(fused_adam_step(*mixed_opt, true, 1.0f));
  }
  std::stringstream saved;
  torch::save(static_cast<torch::optim::AdamW&>(*mixed_opt), saved);
  const auto resumed = copies(mixed);
  auto resumed_opt = make_optimizer(resumed, true, 0.01);
  torch::load(static_cast<torch::optim::AdamW&>(*resumed_opt), saved);
  // The third step three ways: LibTorch's all along, LibTorch's after two fused ones, fused
  // after the checkpoint.
  set_grads(ref, mixed, 2);
  for (std::size_t i = 0; i < ref.size(); ++i) resumed[i].mutable_grad() = ref[i].grad().clone();
  reference_step(*ref_opt, ref, 1.0f);
  reference_step(*mixed_opt, mixed, 1.0f);
  ASSERT_TRUE(fused_adam_step(*resumed_opt, true, 1.0f));
  for (std::size_t i = 0; i < ref.size(); ++i) {
    EXPECT_LT(max_difference(ref[i], mixed[i]), 1e-6) << i;
    EXPECT_LT(max_difference(ref[i], resumed[i]), 1e-6) << i;
  }
}

TEST(FusedAdam, LeavesWhatItDoesNotCoverToLibTorch) {
  auto ps = make_parameters();
  ps.push_back(torch::randn({4}, torch::kDouble).requires_grad_(true));
  for (auto& p : ps) p.mutable_grad() = torch::ones_like(p);
  torch::optim::Adam adam(ps, torch::optim::AdamOptions(0.1));
  const auto before = copies(ps);
  EXPECT_FALSE(fused_adam_step(adam, false, 1.0f));
  for (std::size_t i = 0; i < ps.size(); ++i) {
    EXPECT_TRUE(torch::equal(ps[i], before[i]));
    EXPECT_TRUE(torch::equal(ps[i].grad(), torch::ones_like(ps[i])));
  }
  EXPECT_TRUE(adam.state().empty());
  // A gradient laid out otherwise than its parameter.
  auto cl = make_parameters();
  cl[3].mutable_grad() = torch::ones(cl[3].sizes());
  torch::optim::Adam other(cl, torch::optim::AdamOptions(0.1));
  EXPECT_FALSE(fused_adam_step(other, false, 1.0f));
  auto floats = make_parameters();
  for (auto& p : floats) p.mutable_grad() = torch::ones_like(p);
  torch::optim::Adam amsgrad(floats, torch::optim::AdamOptions(0.1).amsgrad(true));
  EXPECT_FALSE(fused_adam_step(amsgrad, false, 1.0f));
}

TEST(FusedAdam, SquaredGradNormSumsEveryGradient) {
  auto ps = make_parameters();
  ps.push_back(torch::randn({6}, torch::kDouble).requires_grad_(true));
  ps.push_back(torch::randn({2}).requires_grad_(true));  // no gradient: left out
  double want = 0;
  for (std::size_t i = 0; i + 1 < ps.size(); ++i) {
    ps[i].mutable_grad() = torch::randn(ps[i].sizes(), ps[i].options()) * 3;
    want += ps[i].grad().to(torch::kDouble).pow(2).sum().item<double>();
  }
  EXPECT_NEAR(capflow::model::squared_grad_norm(ps), want, want * 1e-6);
}

}  // namespace
