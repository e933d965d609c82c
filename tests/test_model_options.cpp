// The model options that change what is learnt: encoder stages and width, the auxiliary
// formula head (shapes, its gradient reaching the encoder), per-part learning rates and
// gradient norms, and the learning-rate schedule that decays over a time budget.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "graph/errors.h"
#include "nodes/model/attention_decoder.h"
#include "nodes/model/lr_schedule.h"
#include "nodes/model/resnet_encoder.h"
#include "nodes/model/trainer.h"
#include "nodes/text/inchi_formula.h"
#include "tests/one_torch_thread.h"

namespace capflow::model {
namespace {

std::vector<int64_t> shape_of(const torch::Tensor& t) { return t.sizes().vec(); }

TEST(ModelOptions, EncoderStagesSetTheOutputStrideAndWidthTheChannels) {
  torch::manual_seed(1);
  const auto x = torch::randn({2, 1, 64, 96});
  EncoderOptions o;
  o.stages = 3;
  o.width = 16;
  ResNetEncoder three(o);
  EXPECT_EQ(three->feature_channels(), 64);
  EXPECT_EQ(shape_of(three->forward(x)), (std::vector<int64_t>{2, 64, 4, 6}));  // stride 16
  EXPECT_EQ(three->layers().size(), 3u);
  EXPECT_EQ(three->named_parameters().find("layer4.0.conv1.weight"), nullptr);
  o.stages = 4;
  ResNetEncoder four(o);
  EXPECT_EQ(four->feature_channels(), 128);
  EXPECT_EQ(shape_of(four->forward(x)), (std::vector<int64_t>{2, 128, 2, 3}));  // stride 32
  EXPECT_EQ(shape_of(four->named_parameters()["conv1.weight"]),
            (std::vector<int64_t>{16, 1, 7, 7}));
  o.stages = 5;
  EXPECT_THROW(ResNetEncoder{o}, ConfigError);
  o.stages = 3;
  o.width = 4;
  EXPECT_THROW(ResNetEncoder{o}, ConfigError);
}

DecoderOptions decoder_options(int channels, int formula_head) {
  DecoderOptions o;
  o.vocab_size = 12;
  o.embed = 8;
  o.hidden = 16;
  o.attention = 8;
  o.encoder_channels = channels;
  o.dropout = 0.0;
  o.formula_head = formula_head;
  return o;
}

TEST(ModelOptions, FormulaHeadShapesAndItsGradientReachesTheEncoder) {
  torch::manual_seed(3);
  EncoderOptions eo;
  eo.stages = 2;
  eo.width = 8;
  ResNetEncoder encoder(eo);
  AttentionDecoder decoder(decoder_options(encoder->feature_channels(), 32));
  const auto features = encoder->forward(torch::randn({3, 1, 32, 32}));
  const auto predicted = decoder->predict_formula(features);
  EXPECT_EQ(shape_of(predicted),
            (std::vector<int64_t>{3, static_cast<int64_t>(text::kFormulaSlots)}));
  const auto counts = torch::full({3, static_cast<int64_t>(text::kFormulaSlots)}, 2.0);
  formula_loss(predicted, counts).backward();
  // The loss alone (no captions) moves the encoder's first convolution and the head.
  EXPECT_GT(encoder->conv1->weight.grad().abs().sum().item<float>(), 0.0f);
  for (const auto& p : decoder->named_parameters()) {
    const bool head = p.key().rfind("formula_head.", 0) == 0;
    const bool has_grad =
        p.value().grad().defined() && p.value().grad().abs().sum().item<float>() > 0;
    EXPECT_EQ(has_grad, head) << p.key();
  }
  // log(1 + count) targets: a prediction of log(3) for counts of 2 has zero loss.
  const auto exact = torch::full_like(counts, std::log(3.0));
  EXPECT_NEAR(formula_loss(exact, counts).item<double>(), 0.0, 1e-6);
  AttentionDecoder no_head(decoder_options(encoder->feature_channels(), 0));
  EXPECT_EQ(no_head->named_parameters().find("formula_head.0.weight"), nullptr);
  EXPECT_THROW(no_head->predict_formula(features), c10::Error);
}

// Token dropout hides teacher-forced inputs in training only: the first step (after <sos>)
// never changes, later ones do, and evaluation sees every token.
TEST(ModelOptions, TokenDropoutHidesInputsOnlyInTraining) {
  const auto features = torch::randn({2, 8, 3, 3});
  const auto tokens =
      torch::tensor({{1, 4, 5, 6, 7, 8, 9, 10, 2}, {1, 11, 10, 9, 8, 7, 6, 2, 0}}, torch::kLong);
  torch::manual_seed(5);
  AttentionDecoder plain(decoder_options(8, 0));
  auto o = decoder_options(8, 0);
  o.token_dropout = 0.9;
  torch::manual_seed(5);
  AttentionDecoder hiding(o);
  torch::NoGradGuard no_grad;
  const auto expected = plain->forward(features, tokens);
  const auto trained = hiding->forward(features, tokens);
  EXPECT_TRUE(torch::allclose(trained.select(1, 0), expected.select(1, 0)));
  EXPECT_FALSE(torch::allclose(trained.narrow(1, 1, 7), expected.narrow(1, 1, 7)));
  hiding->eval();
  EXPECT_TRUE(torch::allclose(hiding->forward(features, tokens), expected));
}

TEST(ModelOptions, FormulaHeadLearnsToCountFromTheImage) {
  // Images with k bright squares; the head must learn k from the features within 150 steps.
  torch::manual_seed(4);
  EncoderOptions eo;
  eo.stages = 2;
  eo.width = 8;
  ResNetEncoder encoder(eo);
  AttentionDecoder decoder(decoder_options(encoder->feature_channels(), 32));
  std::vector<torch::Tensor> params = encoder->parameters();
  for (auto& p : decoder->formula_head->parameters()) params.push_back(p);
  torch::optim::Adam adam(params, torch::optim::AdamOptions(3e-3));
  auto images = torch::zeros({8, 1, 32, 32});
  auto counts = torch::zeros({8, static_cast<int64_t>(text::kFormulaSlots)});
  for (int i = 0; i < 8; ++i) {
    for (int k = 0; k < i; ++k) images[i][0].narrow(0, 4 * k, 3).narrow(1, 4 * k, 3).fill_(1.0);
    counts[i][0] = i;
  }
  double first = 0, last = 0;
  for (int step = 0; step < 150; ++step) {
    adam.zero_grad();
    const auto loss = formula_loss(decoder->predict_formula(encoder->forward(images)), counts);
    loss.backward();
    adam.step();
    (step == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_LT(last, first * 0.1);
}

TEST(ModelOptions, TrainerScalesTheEncoderRateAndReportsNormsPerGroup) {
  auto a = torch::ones({3}, torch::requires_grad());
  auto b = torch::ones({2}, torch::requires_grad());
  TrainerOptions o;
  o.schedule.base = 0.1;
  o.schedule.cosine = false;
  Trainer trainer({{"decoder", {a}, 1.0}, {"encoder", {b}, 4.0}}, o);
  ASSERT_EQ(trainer.optimizer().param_groups().size(), 2u);
  (a.sum() * 2 + b.sum() * 3).backward();
  ASSERT_TRUE(trainer.after_backward(1.0));
  ASSERT_EQ(trainer.last_group_norms().size(), 2u);
  EXPECT_NEAR(trainer.last_group_norms()[0], std::sqrt(3 * 4.0), 1e-5);
  EXPECT_NEAR(trainer.last_group_norms()[1], std::sqrt(2 * 9.0), 1e-5);
  EXPECT_NEAR(trainer.optimizer().param_groups()[0].options().get_lr(), 0.1, 1e-12);
  EXPECT_NEAR(trainer.optimizer().param_groups()[1].options().get_lr(), 0.4, 1e-12);
  // Adam's first step moves each weight by about its rate.
  EXPECT_NEAR(a[0].item<double>(), 0.9, 1e-3);
  EXPECT_NEAR(b[0].item<double>(), 0.6, 1e-3);
  // All scales 1: one group, as earlier checkpoints hold.
  Trainer plain({{"decoder", {a}, 1.0}, {"encoder", {b}, 1.0}}, o);
  EXPECT_EQ(plain.optimizer().param_groups().size(), 1u);
  EXPECT_THROW(Trainer({{"decoder", {a}, 0.0}}, o), ConfigError);
  // With clipping, the global norm reported is that of both groups together.
  o.clip_norm = 1.0;
  Trainer clipped({{"decoder", {a}, 1.0}, {"encoder", {b}, 4.0}}, o);
  (a.sum() * 2 + b.sum() * 3).backward();
  ASSERT_TRUE(clipped.after_backward(1.0));
  EXPECT_NEAR(clipped.last_grad_norm(), std::sqrt(3 * 4.0 + 2 * 9.0), 1e-5);
}

TEST(ModelOptions, ScheduleDecaysOverTheTimeBudget) {
  LrSchedule s;
  s.base = 1.0;
  s.warmup_steps = 10;
  s.min_ratio = 0.1;
  s.by_time = true;
  EXPECT_NEAR(s.at(4, 0.5), 0.5, 1e-12);  // warm-up still by steps
  EXPECT_NEAR(s.at(100, 0.0), 1.0, 1e-12);
  EXPECT_NEAR(s.at(100, 0.5), 0.55, 1e-12);  // half-way down the cosine
  EXPECT_NEAR(s.at(100, 1.0), 0.1, 1e-12);
  EXPECT_NEAR(s.at(100, 1.7), 0.1, 1e-12);               // past the budget: the floor
  EXPECT_NEAR(s.at(5000, 0.25), s.at(20, 0.25), 1e-12);  // steps do not matter
  s.by_time = false;
  s.total_steps = 110;
  EXPECT_NEAR(s.at(60, 0.99), 0.55, 1e-12);  // by steps: progress is ignored
}

}  // namespace
}  // namespace capflow::model
