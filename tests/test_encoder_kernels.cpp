// The ResNet encoder's hand-written passes. The fused batch norm (+ residual, + ReLU): forward,
// gradients and running statistics against LibTorch's batch norm in double, in float and
// bfloat16, with and without the residual and the ReLU; inference with the running statistics;
// the unfused path on other layouts; results independent of the thread count; bad operands
// refused. The stem's max pooling: forward and gradients against LibTorch's (ties, edges),
// NaN, other layouts.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "nodes/model/batch_norm_act.h"
#include "nodes/model/batch_norm_kernels.h"
#include "nodes/model/max_pool_kernels.h"

namespace {

using capflow::model::batch_norm_act;

constexpr int64_t kC = 19;  // odd: the vector loops' tails

struct Case {
  torch::Tensor x, residual, dy;
};

// Channels-last activations whose channels have means far from 0 (the variance's cancellation).
Case make_case(torch::ScalarType dtype, bool residual, int64_t n = 3, int64_t h = 5,
               int64_t w = 7) {
  torch::manual_seed(3);
  const auto offset = torch::linspace(-40, 40, kC).view({1, kC, 1, 1});
  Case c;
  c.x = (torch::randn({n, kC, h, w}) * 2 + offset)
            .to(dtype)
            .contiguous(at::MemoryFormat::ChannelsLast);
  if (residual) {
    c.residual = torch::randn({n, kC, h, w}).to(dtype).contiguous(at::MemoryFormat::ChannelsLast);
  }
  c.dy = torch::randn({n, kC, h, w}).to(dtype);
  return c;
}

torch::nn::BatchNorm2d make_norm() {
  torch::manual_seed(7);
  torch::nn::BatchNorm2d bn(kC);
  torch::NoGradGuard no_grad;
  bn->weight.copy_(torch::rand({kC}) + 0.5);
  bn->bias.copy_(torch::randn({kC}));
  bn->running_mean.copy_(torch::randn({kC}));
  bn->running_var.copy_(torch::rand({kC}) + 0.5);
  return bn;
}

double max_error(const torch::Tensor& got, const torch::Tensor& want) {
  return (got.to(torch::kDouble) - want).abs().max().item<double>();
}

// What the fused function gives, and the same computed by LibTorch in double.
struct Result {
  torch::Tensor y, dx, dweight, dbias, dresidual, running_mean, running_var;
};

Result fused(const Case& c, torch::nn::BatchNorm2d bn, bool relu) {
  const auto x = c.x.clone().requires_grad_(true);
  const auto r = c.residual.defined() ? c.residual.clone().requires_grad_(true) : torch::Tensor();
  const auto y = batch_norm_act(x, *bn, r, relu);
  y.backward(c.dy);
  return {y.detach(),
          x.grad(),
          bn->weight.grad(),
          bn->bias.grad(),
          r.defined() ? r.grad() : torch::Tensor(),
          bn->running_mean.clone(),
          bn->running_var.clone()};
}

Result reference(const Case& c, const torch::nn::BatchNorm2d& bn, bool relu) {
  const auto x = c.x.to(torch::kDouble).requires_grad_(true);
  const auto weight = bn->weight.detach().to(torch::kDouble).requires_grad_(true);
  const auto bias = bn->bias.detach().to(torch::kDouble).requires_grad_(true);
  auto mean = bn->running_mean.to(torch::kDouble), var = bn->running_var.to(torch::kDouble);
  auto y = at::batch_norm(x, weight, bias, mean, var, /*training=*/true, 0.1, 1e-5, false);
  torch::Tensor r;
  if (c.residual.defined()) {
    r = c.residual.to(torch::kDouble).requires_grad_(true);
    y = y + r;
  }
  if (relu) y = torch::relu(y);
  y.backward(c.dy.to(torch::kDouble));
  return {
      y.detach(), x.grad(), weight.grad(), bias.grad(), r.defined() ? r.grad() : torch::Tensor(),
      mean,       var};
}

void expect_close(const Result& got, const Result& want, double tol, const std::string& what) {
  EXPECT_LT(max_error(got.y, want.y), tol) << what << ": y";
  EXPECT_LT(max_error(got.dx, want.dx), tol) << what << ": dx";
  EXPECT_LT(max_error(got.dweight, want.dweight), tol * 10) << what << ": dweight";
  EXPECT_LT(max_error(got.dbias, want.dbias), tol * 10) << what << ": dbias";
  if (want.dresidual.defined()) {
    ASSERT_TRUE(got.dresidual.defined()) << what;
    EXPECT_LT(max_error(got.dresidual, want.dresidual), tol) << what << ": dresidual";
  }
  EXPECT_LT(max_error(got.running_mean, want.running_mean), 1e-4) << what << ": running mean";
  EXPECT_LT(max_error(got.running_var, want.running_var), 1e-3) << what << ": running var";
}

TEST(BatchNormAct, TrainingMatchesLibTorchInDouble) {
  for (const auto dtype : {torch::kFloat, torch::kBFloat16}) {
    // bfloat16 keeps 8 bits: outputs of order 1 to a few 1e-2, the input's own rounding
    // (values near ±40) moves dx by as much.
    const double tol = dtype == torch::kFloat ? 2e-4 : 0.15;
    for (const bool residual : {false, true}) {
      for (const bool relu : {false, true}) {
        const auto c = make_case(dtype, residual);
        auto bn = make_norm();
        const auto want = reference(c, bn, relu);
        const auto got = fused(c, bn, relu);
        EXPECT_EQ(got.y.scalar_type(), dtype);
        EXPECT_TRUE(got.y.is_contiguous(at::MemoryFormat::ChannelsLast));
        EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 1);
        expect_close(got, want, tol,
                     std::string(c10::toString(dtype)) + (residual ? " residual" : "") +
                         (relu ? " relu" : ""));
      }
    }
  }
}

TEST(BatchNormAct, FusedEqualsTheUnfusedPath) {
  // NCHW activations take LibTorch's batch norm, add and ReLU: the same numbers in float.
  const auto c = make_case(torch::kFloat, true);
  auto bn_fused = make_norm(), bn_plain = make_norm();
  const auto a = fused(c, bn_fused, true);
  Case nchw = c;
  nchw.x = c.x.contiguous();
  nchw.residual = c.residual.contiguous();
  const auto b = fused(nchw, bn_plain, true);
  EXPECT_FALSE(b.y.is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_LT(max_error(a.y, b.y.to(torch::kDouble)), 1e-4);
  EXPECT_LT(max_error(a.dx, b.dx.to(torch::kDouble)), 1e-4);
  EXPECT_LT(max_error(a.dweight, b.dweight.to(torch::kDouble)), 1e-3);
  EXPECT_LT(max_error(a.dresidual, b.dresidual.to(torch::kDouble)), 1e-6);
  EXPECT_LT(max_error(a.running_var, b.running_var.to(torch::kDouble)), 1e-5);
}

TEST(BatchNormAct, InferenceUsesTheRunningStatistics) {
  for (const auto dtype : {torch::kFloat, torch::kBFloat16}) {
    const auto c = make_case(dtype, true);
    auto bn = make_norm();
    bn->eval();
    torch::NoGradGuard no_grad;
    const auto y = batch_norm_act(c.x, *bn, c.residual, true);
    const auto want = torch::relu(
        torch::batch_norm(c.x.to(torch::kDouble), bn->weight.to(torch::kDouble),
                          bn->bias.to(torch::kDouble), bn->running_mean.to(torch::kDouble),
                          bn->running_var.to(torch::kDouble), false, 0.1, 1e-5, false) +
        c.residual.to(torch::kDouble));
    EXPECT_LT(max_error(y, want), dtype == torch::kFloat ? 1e-4 : 0.5) << dtype;
    EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 0);
  }
}

TEST(BatchNormAct, SameResultsOnOneAndTwoThreads) {
  // Many row chunks: the per-chunk sums are added in chunk order whatever the split.
  const auto c = make_case(torch::kBFloat16, true, 4, 30, 30);
  const int threads = at::get_num_threads();
  std::vector<Result> results;
  for (const int t : {1, 2}) {
    at::set_num_threads(t);
    results.push_back(fused(c, make_norm(), true));
  }
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(results[0].y, results[1].y));
  EXPECT_TRUE(torch::equal(results[0].dx, results[1].dx));
  EXPECT_TRUE(torch::equal(results[0].dweight, results[1].dweight));
  EXPECT_TRUE(torch::equal(results[0].running_var, results[1].running_var));
}

TEST(BatchNormAct, KernelsRefuseOtherLayouts) {
  const auto nchw = torch::randn({2, kC, 3, 3});
  auto mean = torch::empty({kC}), var = torch::empty({kC});
  EXPECT_THROW(capflow::model::channel_mean_var(nchw, mean, var), c10::Error);
  const auto rows = nchw.contiguous(at::MemoryFormat::ChannelsLast);
  auto short_mean = torch::empty({kC - 1});
  EXPECT_THROW(capflow::model::channel_mean_var(rows, short_mean, var), c10::Error);
  auto y = torch::empty_like(rows);
  EXPECT_THROW(capflow::model::scale_shift_act(rows, mean, var, rows.to(torch::kBFloat16), true, y),
               c10::Error);
}

// The backward's passes with one activation: sums and dx (k1..k3 of the forward's sizes).
std::pair<torch::Tensor, torch::Tensor> backward_passes(const torch::Tensor& dy,
                                                        const torch::Tensor& x,
                                                        const torch::Tensor& mean,
                                                        const capflow::model::BackwardAct& act) {
  auto sum_g = torch::empty({kC}), sum_gx = torch::empty({kC});
  capflow::model::batch_norm_act_sums(dy, x, mean, act, sum_g, sum_gx);
  const auto k = torch::linspace(0.5, 1.5, kC);
  auto dx = torch::empty_like(x), dr = torch::Tensor();
  capflow::model::batch_norm_act_grads(dy, x, mean, k, sum_g / 40, sum_gx / 40, act, dx, dr);
  return {torch::cat({sum_g, sum_gx}), dx};
}

// Without a residual the backward takes the ReLU's mask from x and the forward's coefficients
// rather than from y: the same bits, pre-activations of exactly zero included (channel 0: scale
// 1, shift −1, integer x). With a residual's gradient to write, the mask must come from y.
TEST(BatchNormAct, ReluMaskFromXGivesTheMaskFromY) {
  for (const auto dtype : {torch::kFloat, torch::kBFloat16}) {
    torch::manual_seed(3);
    const auto x =
        torch::randint(-3, 4, {2, kC, 5, 4}).to(dtype).contiguous(at::MemoryFormat::ChannelsLast);
    auto scale = torch::rand({kC}) + 0.5, shift = torch::randn({kC});
    scale[0] = 1.0;
    shift[0] = -1.0;
    auto y = torch::empty_like(x);
    capflow::model::scale_shift_act(x, scale, shift, torch::Tensor(), true, y);
    const auto dy = torch::randn(x.sizes()).to(dtype).contiguous(at::MemoryFormat::ChannelsLast);
    const auto mean = torch::randn({kC});
    const auto [sums_y, dx_y] = backward_passes(dy, x, mean, {true, y, {}, {}});
    const auto [sums_x, dx_x] = backward_passes(dy, x, mean, {true, {}, scale, shift});
    EXPECT_TRUE(torch::equal(sums_x, sums_y)) << dtype;
    EXPECT_TRUE(torch::equal(dx_x, dx_y)) << dtype;
    EXPECT_FALSE(torch::equal(dx_x, backward_passes(dy, x, mean, {}).second)) << dtype;
    auto dx = torch::empty_like(x), dr = torch::empty_like(x);
    EXPECT_THROW(capflow::model::batch_norm_act_grads(dy, x, mean, scale, scale, scale,
                                                      {true, {}, scale, shift}, dx, dr),
                 c10::Error);
  }
}

}  // namespace

namespace {

using capflow::model::max_pool_3x3s2;

// Small integers: many ties, which the winner's choice (first in row order) must break as
// LibTorch does, or the gradients land elsewhere.
// kC (19) channels take the portable rows, 32 the AVX-512 ones where the CPU has them.
torch::Tensor pool_input(torch::ScalarType dtype, int64_t h, int64_t w, int64_t channels = kC) {
  torch::manual_seed(11);
  return torch::randint(-2, 3, {2, channels, h, w})
      .to(dtype)
      .contiguous(at::MemoryFormat::ChannelsLast)
      .requires_grad_(true);
}

TEST(MaxPool3x3s2, MatchesLibTorchForwardAndBackward) {
  for (const auto dtype : {torch::kFloat, torch::kBFloat16}) {
    for (const auto& [h, w, channels] : {std::tuple<int64_t, int64_t, int64_t>{7, 9, kC},
                                         {8, 6, kC},
                                         {1, 2, kC},
                                         {7, 9, 32},
                                         {8, 6, 16},
                                         {1, 2, 16}}) {
      SCOPED_TRACE(std::to_string(channels) + " channels");
      const auto x = pool_input(dtype, h, w, channels);
      const auto y = max_pool_3x3s2(x);
      const auto x_ref = x.detach().to(torch::kDouble).requires_grad_(true);
      const auto y_ref = torch::max_pool2d(x_ref, 3, 2, 1);
      ASSERT_EQ(y.sizes(), y_ref.sizes()) << h << "x" << w;
      EXPECT_TRUE(y.is_contiguous(at::MemoryFormat::ChannelsLast));
      EXPECT_EQ(max_error(y, y_ref), 0.0) << dtype << " " << h << "x" << w;
      const auto dy = torch::randn(y.sizes()).to(dtype);
      y.backward(dy);
      y_ref.backward(dy.to(torch::kDouble));
      // Up to four windows' gradients meet at one input: summed in float, rounded once.
      EXPECT_LT(max_error(x.grad(), x_ref.grad()), dtype == torch::kFloat ? 1e-6 : 0.05)
          << dtype << " " << h << "x" << w;
    }
  }
}

// Values with ties (a ReLU's zeros, a few levels) and NaNs: which tap wins among equals, and
// which of two NaNs, is where a tree of comparisons could part from the sequential scan.
torch::Tensor tied_values(at::IntArrayRef sizes) {
  auto v = torch::relu(torch::randint(-3, 3, sizes).to(torch::kFloat));
  return v.masked_fill(torch::rand(sizes) < 0.05, std::numeric_limits<float>::quiet_NaN());
}

// a and b hold the same bit patterns (NaNs included), float or bfloat16.
bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
  const auto as = a.scalar_type() == torch::kFloat ? torch::kInt : torch::kShort;
  return torch::equal(a.view(as), b.view(as));
}

// The AVX-512 rows (32 channels) give the portable rows' bits (the same values in the first 32
// of 33 channels): outputs, winners and the rounded sums of the gradients; distinct values, and
// values with ties and NaNs.
TEST(MaxPool3x3s2, VectorRowsGiveThePortableRowsBits) {
  for (const auto dtype : {torch::kFloat, torch::kBFloat16}) {
    for (const bool tied : {false, true}) {
      SCOPED_TRACE(tied ? "ties and NaNs" : "distinct values");
      torch::manual_seed(5);
      const auto wide =
          (tied ? tied_values({2, 33, 9, 11}) : torch::randn({2, 33, 9, 11})).to(dtype);
      const auto x = wide.narrow(1, 0, 32).contiguous(at::MemoryFormat::ChannelsLast);
      const auto x33 = wide.contiguous(at::MemoryFormat::ChannelsLast);
      auto y =
          torch::empty({2, 32, 5, 6}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
      auto y33 =
          torch::empty({2, 33, 5, 6}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
      auto won = torch::empty({2, 5, 6, 32}, torch::kByte),
           won33 = torch::empty({2, 5, 6, 33}, torch::kByte);
      capflow::model::max_pool_3x3s2_forward(x, y, won);
      capflow::model::max_pool_3x3s2_forward(x33, y33, won33);
      EXPECT_TRUE(same_bits(y, y33.narrow(1, 0, 32))) << dtype;
      EXPECT_TRUE(torch::equal(won, won33.narrow(3, 0, 32))) << dtype;
      const auto dy33 =
          (torch::randn({2, 33, 5, 6}) * 100).to(dtype).contiguous(at::MemoryFormat::ChannelsLast);
      const auto dy = dy33.narrow(1, 0, 32).contiguous(at::MemoryFormat::ChannelsLast);
      auto dx = torch::empty_like(x), dx33 = torch::empty_like(x33);
      capflow::model::max_pool_3x3s2_backward(dy, won, dx);
      capflow::model::max_pool_3x3s2_backward(dy33, won33, dx33);
      EXPECT_TRUE(same_bits(dx, dx33.narrow(1, 0, 32))) << dtype;
    }
  }
}

TEST(MaxPool3x3s2, NanWinsAndOtherLayoutsFallBack) {
  for (const int64_t channels : {3, 16}) {
    auto x = torch::zeros({1, channels, 4, 4}).contiguous(at::MemoryFormat::ChannelsLast);
    x[0][1][2][2] = std::numeric_limits<float>::quiet_NaN();
    for (const auto dtype : {torch::kFloat, torch::kBFloat16}) {
      const auto y = max_pool_3x3s2(x.to(dtype));
      EXPECT_TRUE(std::isnan(y[0][1][1][1].item<float>())) << channels << " " << dtype;
      EXPECT_FALSE(std::isnan(y[0][0][1][1].item<float>())) << channels << " " << dtype;
    }
  }
  const auto nchw = torch::randn({2, 3, 5, 5});
  EXPECT_TRUE(torch::equal(max_pool_3x3s2(nchw), torch::max_pool2d(nchw, 3, 2, 1)));
  auto out = torch::empty({2, 3, 2, 2}).contiguous(at::MemoryFormat::ChannelsLast);
  auto winner = torch::empty({2, 3, 3, 3}, torch::kByte);
  EXPECT_THROW(capflow::model::max_pool_3x3s2_forward(
                   nchw.contiguous(at::MemoryFormat::ChannelsLast), out, winner),
               c10::Error);
}

}  // namespace
