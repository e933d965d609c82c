// The soft attention's fused read-out (attention_context.h), forward and backward, against the
// formulas in double with autograd, in float and bfloat16; the ATen path for other layouts
// gives the same; bad operands are refused.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "nodes/model/attention_context.h"

using capflow::model::attention_context;
using capflow::model::attention_context_backward;

namespace {

constexpr int64_t kN = 5, kP = 37, kC = 70;  // odd sizes: the vector loops' tails

// Max |a − b| over max |b|.
double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  const auto bd = b.to(torch::kDouble);
  return (a.to(torch::kDouble) - bd).abs().max().item<double>() /
         (bd.abs().max().item<double>() + 1e-12);
}

struct Inputs {
  torch::Tensor scores, features, beta_pre, dz;
};

// beta_pre as a column block of a wider matrix, as in the recurrence.
Inputs make_inputs(torch::Dtype dtype, int seed) {
  torch::manual_seed(seed);
  return {torch::randn({kN, kP}) * 3, torch::randn({kN, kP, kC}).to(dtype),
          torch::randn({kN, kC + 9}).to(dtype).narrow(1, 4, kC), torch::randn({kN, kC}).to(dtype)};
}

struct Outputs {
  torch::Tensor alpha, beta, context, gated, d_context, d_beta_pre, d_scores;
};

Outputs run_kernels(const Inputs& in) {
  const auto dt = in.features.options();
  Outputs o{torch::empty({kN, kP}, dt), torch::empty({kN, kC}, dt),
            torch::empty({kN, kC}, dt), torch::empty({kN, kC}, dt),
            torch::empty({kN, kC}, dt), torch::empty({kN, kC + 3}, dt).narrow(1, 1, kC),
            torch::empty({kN, kP})};
  attention_context(torch::softmax(in.scores, 1), in.features, in.beta_pre, o.alpha, o.beta,
                    o.context, o.gated);
  attention_context_backward(in.dz, o.beta, o.context, o.alpha, in.features, o.d_context,
                             o.d_beta_pre, o.d_scores);
  return o;
}

}  // namespace

TEST(AttentionContext, MatchesTheFormulasAndTheirGradientsInDouble) {
  for (const auto dtype : {torch::kFloat, torch::kBFloat16}) {
    const auto in = make_inputs(dtype, 1);
    const auto out = run_kernels(in);
    // The reference in double from the same (rounded) inputs, gradients by autograd.
    auto scores = in.scores.to(torch::kDouble).requires_grad_();
    auto pre = in.beta_pre.to(torch::kDouble).requires_grad_();
    const auto f = in.features.to(torch::kDouble);
    const auto alpha = torch::softmax(scores, 1);
    const auto context = torch::bmm(alpha.unsqueeze(1), f).squeeze(1);
    const auto beta = torch::sigmoid(pre);
    const auto gated = beta * context;
    (gated * in.dz.to(torch::kDouble)).sum().backward();
    // bf16 results carry 8 bits and are computed from rounded intermediates.
    const double tol = dtype == torch::kFloat ? 1e-5 : 2e-2;
    EXPECT_LE(relative_error(out.alpha, alpha), tol) << dtype;
    EXPECT_LE(relative_error(out.context, context), tol) << dtype;
    EXPECT_LE(relative_error(out.beta, beta), tol) << dtype;
    EXPECT_LE(relative_error(out.gated, gated), tol) << dtype;
    EXPECT_LE(relative_error(out.d_context, in.dz.to(torch::kDouble) * beta), tol) << dtype;
    EXPECT_LE(relative_error(out.d_beta_pre, pre.grad()), tol) << dtype;
    EXPECT_LE(relative_error(out.d_scores, scores.grad()), tol) << dtype;
    EXPECT_EQ(out.d_scores.scalar_type(), torch::kFloat);
  }
}

// Features that are not contiguous take LibTorch's operations: the same values.
TEST(AttentionContext, LibTorchPathForOtherLayoutsGivesTheSame) {
  for (const auto dtype : {torch::kFloat, torch::kBFloat16}) {
    const auto in = make_inputs(dtype, 2);
    const auto fused = run_kernels(in);
    auto strided = in;
    strided.features = in.features.transpose(1, 2).contiguous().transpose(1, 2);
    ASSERT_FALSE(strided.features.is_contiguous());
    const auto aten = run_kernels(strided);
    // One rounding against several in bf16 (ATen rounds each intermediate).
    const double tol = dtype == torch::kFloat ? 1e-5 : 2e-2;
    const std::vector<std::pair<torch::Tensor, torch::Tensor>> pairs = {
        {fused.alpha, aten.alpha},         {fused.beta, aten.beta},
        {fused.context, aten.context},     {fused.gated, aten.gated},
        {fused.d_context, aten.d_context}, {fused.d_beta_pre, aten.d_beta_pre},
        {fused.d_scores, aten.d_scores}};
    for (size_t i = 0; i < pairs.size(); ++i) {
      EXPECT_LE(relative_error(pairs[i].first, pairs[i].second), tol) << dtype << " output " << i;
    }
  }
}

TEST(AttentionContext, RefusesMismatchedOperands) {
  const auto in = make_inputs(torch::kFloat, 3);
  auto alpha = torch::empty({kN, kP}), beta = torch::empty({kN, kC}),
       context = torch::empty({kN, kC}), gated = torch::empty({kN, kC + 1});
  EXPECT_THROW(attention_context(torch::softmax(in.scores, 1), in.features, in.beta_pre, alpha,
                                 beta, context, gated),
               c10::Error);
  gated = torch::empty({kN, kC}, torch::kBFloat16);  // not the features' dtype
  EXPECT_THROW(attention_context(torch::softmax(in.scores, 1), in.features, in.beta_pre, alpha,
                                 beta, context, gated),
               c10::Error);
  auto d_scores = torch::empty({kN, kP}, torch::kBFloat16);  // must be float
  auto d_context = torch::empty({kN, kC}), d_pre = torch::empty({kN, kC});
  EXPECT_THROW(attention_context_backward(in.dz, beta, context, alpha, in.features, d_context,
                                          d_pre, d_scores),
               c10::Error);
}
