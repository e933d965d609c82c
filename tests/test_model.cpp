// Model kernels: the ResNet encoder's torchvision names and shapes, the attention decoder
// (shapes, step API against teacher forcing, learning), greedy and beam search, precision
// (autocast guard, model input, channels-last).
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "graph/errors.h"
#include "nodes/model/attention_decoder.h"
#include "nodes/model/attention_kernels.h"
#include "nodes/model/caption_search.h"
#include "nodes/model/lstm_cell_kernels.h"
#include "nodes/model/precision.h"
#include "nodes/model/precision_choice.h"
#include "nodes/model/resnet_encoder.h"
#include "nodes/model/step_weight.h"
#include "nodes/model/torch_runtime.h"
#include "tests/one_torch_thread.h"

namespace capflow::model {
namespace {

constexpr int kSos = 1, kEos = 2;

// torchvision's resnet18 parameters (without fc), with a 1-channel stem.
const std::vector<std::pair<std::string, std::vector<int64_t>>> kResNet18Parameters = {
    {"conv1.weight", {64, 1, 7, 7}},
    {"bn1.weight", {64}},
    {"bn1.bias", {64}},
    {"layer1.0.conv1.weight", {64, 64, 3, 3}},
    {"layer1.0.bn1.weight", {64}},
    {"layer1.0.bn1.bias", {64}},
    {"layer1.0.conv2.weight", {64, 64, 3, 3}},
    {"layer1.0.bn2.weight", {64}},
    {"layer1.0.bn2.bias", {64}},
    {"layer1.1.conv1.weight", {64, 64, 3, 3}},
    {"layer1.1.bn1.weight", {64}},
    {"layer1.1.bn1.bias", {64}},
    {"layer1.1.conv2.weight", {64, 64, 3, 3}},
    {"layer1.1.bn2.weight", {64}},
    {"layer1.1.bn2.bias", {64}},
    {"layer2.0.conv1.weight", {128, 64, 3, 3}},
    {"layer2.0.bn1.weight", {128}},
    {"layer2.0.bn1.bias", {128}},
    {"layer2.0.conv2.weight", {128, 128, 3, 3}},
    {"layer2.0.bn2.weight", {128}},
    {"layer2.0.bn2.bias", {128}},
    {"layer2.0.downsample.0.weight", {128, 64, 1, 1}},
    {"layer2.0.downsample.1.weight", {128}},
    {"layer2.0.downsample.1.bias", {128}},
    {"layer2.1.conv1.weight", {128, 128, 3, 3}},
    {"layer2.1.bn1.weight", {128}},
    {"layer2.1.bn1.bias", {128}},
    {"layer2.1.conv2.weight", {128, 128, 3, 3}},
    {"layer2.1.bn2.weight", {128}},
    {"layer2.1.bn2.bias", {128}},
    {"layer3.0.conv1.weight", {256, 128, 3, 3}},
    {"layer3.0.bn1.weight", {256}},
    {"layer3.0.bn1.bias", {256}},
    {"layer3.0.conv2.weight", {256, 256, 3, 3}},
    {"layer3.0.bn2.weight", {256}},
    {"layer3.0.bn2.bias", {256}},
    {"layer3.0.downsample.0.weight", {256, 128, 1, 1}},
    {"layer3.0.downsample.1.weight", {256}},
    {"layer3.0.downsample.1.bias", {256}},
    {"layer3.1.conv1.weight", {256, 256, 3, 3}},
    {"layer3.1.bn1.weight", {256}},
    {"layer3.1.bn1.bias", {256}},
    {"layer3.1.conv2.weight", {256, 256, 3, 3}},
    {"layer3.1.bn2.weight", {256}},
    {"layer3.1.bn2.bias", {256}},
    {"layer4.0.conv1.weight", {512, 256, 3, 3}},
    {"layer4.0.bn1.weight", {512}},
    {"layer4.0.bn1.bias", {512}},
    {"layer4.0.conv2.weight", {512, 512, 3, 3}},
    {"layer4.0.bn2.weight", {512}},
    {"layer4.0.bn2.bias", {512}},
    {"layer4.0.downsample.0.weight", {512, 256, 1, 1}},
    {"layer4.0.downsample.1.weight", {512}},
    {"layer4.0.downsample.1.bias", {512}},
    {"layer4.1.conv1.weight", {512, 512, 3, 3}},
    {"layer4.1.bn1.weight", {512}},
    {"layer4.1.bn1.bias", {512}},
    {"layer4.1.conv2.weight", {512, 512, 3, 3}},
    {"layer4.1.bn2.weight", {512}},
    {"layer4.1.bn2.bias", {512}},
};

std::vector<int64_t> shape_of(const torch::Tensor& t) { return t.sizes().vec(); }

TEST(ModelEncoder, ResNet18NamesAndShapesAreTorchvisions) {
  ResNetEncoder encoder;
  const auto params = encoder->named_parameters();
  ASSERT_EQ(params.size(), kResNet18Parameters.size());  // 60: 20 convs + 20 bn × 2
  size_t k = 0;
  for (const auto& p : params) {  // same names, same shapes, same (registration) order
    EXPECT_EQ(p.key(), kResNet18Parameters[k].first);
    EXPECT_EQ(shape_of(p.value()), kResNet18Parameters[k].second) << p.key();
    ++k;
  }
  // 20 batch norms × (running_mean, running_var, num_batches_tracked).
  const auto buffers = encoder->named_buffers();
  EXPECT_EQ(buffers.size(), 60u);
  ASSERT_NE(buffers.find("layer2.0.downsample.1.running_var"), nullptr);
  EXPECT_EQ(shape_of(buffers["layer2.0.downsample.1.running_var"]), std::vector<int64_t>{128});
  ASSERT_NE(buffers.find("layer4.1.bn2.num_batches_tracked"), nullptr);
  EXPECT_EQ(encoder->feature_channels(), 512);
}

TEST(ModelEncoder, ResNet34NamesAndShapes) {
  ResNetEncoder encoder(EncoderOptions{34, 1});
  const auto params = encoder->named_parameters();
  EXPECT_EQ(params.size(), 108u);  // 36 convs + 36 bn × 2
  EXPECT_EQ(encoder->named_buffers().size(), 108u);
  const std::vector<std::pair<std::string, std::vector<int64_t>>> some = {
      {"conv1.weight", {64, 1, 7, 7}},
      {"layer1.2.conv2.weight", {64, 64, 3, 3}},
      {"layer2.3.bn1.weight", {128}},
      {"layer3.0.downsample.0.weight", {256, 128, 1, 1}},
      {"layer3.5.conv2.weight", {256, 256, 3, 3}},
      {"layer4.2.bn2.bias", {512}}};
  for (const auto& [name, shape] : some) {
    ASSERT_NE(params.find(name), nullptr) << name;
    EXPECT_EQ(shape_of(params[name]), shape) << name;
  }
  EXPECT_EQ(params.find("layer3.6.conv1.weight"), nullptr);
  EXPECT_THROW(ResNetEncoder(EncoderOptions{50, 1}), ConfigError);
}

TEST(ModelEncoder, ForwardShapeInBothMemoryFormats) {
  torch::manual_seed(0);
  ResNetEncoder encoder;
  encoder->eval();
  const auto x = torch::rand({2, 1, 64, 64});
  torch::NoGradGuard no_grad;
  const auto y = encoder->forward(x);
  EXPECT_EQ(shape_of(y), (std::vector<int64_t>{2, 512, 2, 2}));
  const auto y_cl = encoder->forward(x.contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(torch::allclose(y, y_cl, 1e-4, 1e-4));
  // Channels-last weights: same features, channels-last output.
  to_channels_last(*encoder);
  EXPECT_TRUE(encoder->conv1->weight.is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(encoder->layers()[1]->ptr(0)->as<BasicBlockImpl>()->conv1->weight.is_contiguous(
      at::MemoryFormat::ChannelsLast));
  const auto y_w = encoder->forward(x);
  EXPECT_TRUE(y_w.is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(torch::allclose(y, y_w, 1e-4, 1e-4));
  // Odd sizes round up like the strided convolutions: 40 → 20 → 10 → 5 → 3 → 2.
  EXPECT_EQ(shape_of(encoder->forward(torch::rand({1, 1, 40, 72}))),
            (std::vector<int64_t>{1, 512, 2, 3}));
}

TEST(ModelEncoder, Bf16AutocastChannelsLastTrainsAndStaysClose) {
  torch::manual_seed(1);
  ResNetEncoder encoder;
  to_channels_last(*encoder);
  const auto x = torch::rand({2, 1, 64, 64}).contiguous(at::MemoryFormat::ChannelsLast);
  encoder->eval();
  torch::Tensor reference, y;
  {
    torch::NoGradGuard no_grad;
    reference = encoder->forward(x);
    AutocastGuard guard(Precision::kBf16);
    y = encoder->forward(x);
  }
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  const auto diff = (y.to(torch::kFloat) - reference).abs().max().item<float>();
  EXPECT_LT(diff, 0.05f * reference.abs().max().item<float>());
  encoder->train();
  {
    AutocastGuard guard(Precision::kBf16);
    y = encoder->forward(x);
  }
  y.to(torch::kFloat).sum().backward();
  EXPECT_EQ(encoder->conv1->weight.grad().scalar_type(), torch::kFloat);
  EXPECT_GT(encoder->conv1->weight.grad().abs().sum().item<float>(), 0.0f);
}

DecoderOptions tiny_options(int vocab = 12) {
  DecoderOptions o;
  o.vocab_size = vocab;
  o.embed = 16;
  o.hidden = 32;
  o.attention = 16;
  o.encoder_channels = 8;
  o.dropout = 0.0;
  return o;
}

TEST(ModelDecoder, ForwardShapeAndEveryParameterLearns) {
  torch::manual_seed(2);
  auto options = tiny_options();
  options.dropout = 0.5;
  AttentionDecoder decoder(options);
  const auto features = torch::randn({3, 8, 2, 3});
  const auto tokens =
      torch::tensor({1, 5, 6, 2, 0, 0, 1, 7, 7, 8, 9, 2, 1, 4, 2, 0, 0, 0}, torch::kLong)
          .view({3, 6});
  const auto logits = decoder->forward(features, tokens);
  EXPECT_EQ(shape_of(logits), (std::vector<int64_t>{3, 5, 12}));
  caption_loss(logits, tokens).backward();
  for (const auto& p : decoder->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<float>(), 0.0f) << p.key();
  }
  EXPECT_THROW(AttentionDecoder(tiny_options(2)), ConfigError);
}

TEST(ModelDecoder, LossIgnoresPadTargets) {
  const auto tokens = torch::tensor({1, 5, 2, 0, 1, 6, 7, 2}, torch::kLong).view({2, 4});
  auto logits = torch::randn({2, 3, 12});
  const auto loss = caption_loss(logits, tokens).item<float>();
  logits[0][2] += 100.0f;  // predicts tokens[0][3] = <pad>
  EXPECT_FLOAT_EQ(caption_loss(logits, tokens).item<float>(), loss);
  // Mean over the 5 real targets.
  const auto lp = torch::log_softmax(logits, 2);
  const float expected =
      -(lp[0][0][5] + lp[0][1][2] + lp[1][0][6] + lp[1][1][7] + lp[1][2][2]).item<float>() / 5.0f;
  EXPECT_NEAR(caption_loss(logits, tokens).item<float>(), expected, 1e-5);
}

TEST(ModelDecoder, LabelSmoothingMixesTheTargetWithTheMeanOverClasses) {
  torch::manual_seed(5);
  const auto tokens = torch::tensor({1, 5, 2, 0, 1, 6, 7, 2}, torch::kLong).view({2, 4});
  const auto logits = torch::randn({2, 3, 12});
  EXPECT_FLOAT_EQ(caption_loss(logits, tokens, 0).item<float>(),
                  caption_loss(logits, tokens).item<float>());
  // (1 - e) * CE + e * mean over the 12 classes of -log p, over the 5 real targets.
  const auto lp = torch::log_softmax(logits, 2);
  const double ce = caption_loss(logits, tokens).item<double>();
  const double uniform =
      -(lp[0][0].mean() + lp[0][1].mean() + lp[1][0].mean() + lp[1][1].mean() + lp[1][2].mean())
           .item<double>() /
      5.0;
  const double e = 0.1;
  EXPECT_NEAR(caption_loss(logits, tokens, e).item<double>(), (1 - e) * ce + e * uniform, 1e-5);
  // A confident right prediction costs more when smoothed: it is pushed off certainty.
  auto sure = torch::full({1, 1, 12}, -20.0f);
  sure[0][0][5] = 20.0f;
  const auto one = torch::tensor({1, 5}, torch::kLong).view({1, 2});
  EXPECT_LT(caption_loss(sure, one).item<float>(), 1e-6f);
  EXPECT_GT(caption_loss(sure, one, e).item<float>(), 1.0f);
}

// The step API computes the same model as teacher forcing.
TEST(ModelDecoder, StepsMatchTeacherForcing) {
  torch::manual_seed(3);
  AttentionDecoder decoder(tiny_options());
  decoder->eval();
  const auto features = torch::randn({2, 8, 3, 3});
  const auto tokens = torch::tensor({1, 5, 6, 7, 2, 1, 9, 4, 10, 11}, torch::kLong).view({2, 5});
  torch::NoGradGuard no_grad;
  const auto expected = torch::log_softmax(decoder->forward(features, tokens), 2);
  auto state = decoder->init_state(features);
  for (int t = 0; t < 4; ++t) {
    const auto log_probs = decoder->step(state, tokens.select(1, t).contiguous());
    EXPECT_TRUE(torch::allclose(log_probs, expected.select(1, t), 1e-5, 1e-5)) << "step " << t;
  }
}

// Padded rows of different lengths: forward computes only the rows still captioning at each
// step (longest first); at every real position the logits equal those of the row alone.
TEST(ModelDecoder, PaddedRowsOfDifferentLengthsMatchTheRowsAlone) {
  torch::manual_seed(4);
  AttentionDecoder decoder(tiny_options());
  decoder->eval();
  const auto features = torch::randn({3, 8, 3, 3});
  const auto tokens = torch::tensor({1, 5, 2, 0, 0, 0,    // length 3
                                     1, 9, 4, 10, 11, 2,  // length 6
                                     1, 6, 7, 2, 0, 0},   // length 4
                                    torch::kLong)
                          .view({3, 6});
  const int lengths[] = {3, 6, 4};
  const auto logits = decoder->forward(features, tokens);
  ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{3, 5, tiny_options().vocab_size}));
  for (int r = 0; r < 3; ++r) {
    const auto alone =
        decoder->forward(features.narrow(0, r, 1), tokens.narrow(0, r, 1).narrow(1, 0, lengths[r]));
    EXPECT_TRUE(
        torch::allclose(logits.narrow(0, r, 1).narrow(1, 0, lengths[r] - 1), alone, 1e-5, 1e-5))
        << "row " << r;
  }
}

// The fused recurrence (hand-written backward) computes what autograd computes step by step:
// the same logits and the same gradient for every parameter and for the features, with rows
// of different lengths.
TEST(ModelDecoder, FusedRecurrenceMatchesStepwiseAutograd) {
  torch::manual_seed(6);
  AttentionDecoder decoder(tiny_options());
  {
    torch::NoGradGuard no_grad;
    for (auto& p : decoder->parameters()) p.normal_(0.0, 0.3);
  }
  // Rows that end at different steps, one with <sos> only (no step at all), and a padding
  // column past the longest caption (a last step with no row).
  const auto tokens = torch::tensor({1, 5, 2, 0,  0,  0, 0,   // length 3
                                     1, 9, 4, 10, 11, 2, 0,   // length 6
                                     1, 0, 0, 0,  0,  0, 0,   // length 1
                                     1, 6, 7, 2,  0,  0, 0},  // length 4
                                    torch::kLong)
                          .view({4, 7});
  using R = AttentionDecoderImpl::Recurrence;
  struct Result {
    torch::Tensor logits, feature_grad;
    std::vector<torch::Tensor> grads;
  };
  auto run = [&](R recurrence, bool bf16) {
    torch::manual_seed(7);
    const auto features = torch::randn({4, 8, 2, 3}).requires_grad_();
    decoder->zero_grad();
    Result r;
    {
      AutocastGuard guard(bf16 ? Precision::kBf16 : Precision::kFp32);
      r.logits = decoder->forward(features, tokens, recurrence);
    }
    // A loss that weighs every position and vocabulary entry differently.
    const auto weights = torch::linspace(-1.0, 1.0, r.logits.numel()).view(r.logits.sizes());
    (r.logits.to(torch::kFloat) * weights).sum().backward();
    r.feature_grad = features.grad().clone();
    for (const auto& p : decoder->parameters()) r.grads.push_back(p.grad().clone());
    return r;
  };
  for (const bool bf16 : {false, true}) {
    const auto fused = run(R::kFused, bf16);
    const auto stepwise = run(R::kStepwise, bf16);
    // bf16 rounds each matmul's inputs: compare against the gradient's scale.
    const double tol = bf16 ? 3e-2 : 1e-5;
    auto close = [&](const torch::Tensor& a, const torch::Tensor& b) {
      const double scale = b.abs().max().item<double>() + 1e-6;
      return (a.to(torch::kFloat) - b.to(torch::kFloat)).abs().max().item<double>() <= tol * scale;
    };
    EXPECT_TRUE(close(fused.logits, stepwise.logits)) << (bf16 ? "bf16" : "fp32");
    EXPECT_TRUE(close(fused.feature_grad, stepwise.feature_grad)) << (bf16 ? "bf16" : "fp32");
    // hidden_proj's three row blocks (attention, β gate, gates) on their own scales too.
    const auto names = decoder->named_parameters().keys();
    const auto hp = static_cast<size_t>(
        std::find(names.begin(), names.end(), "hidden_proj.weight") - names.begin());
    ASSERT_LT(hp, names.size());
    const int64_t A = tiny_options().attention, C = tiny_options().encoder_channels;
    const int64_t G = fused.grads[hp].size(0);
    const std::pair<int64_t, int64_t> blocks[] = {{0, A}, {A, C}, {A + C, G - A - C}};
    for (const auto& [from, count] : blocks) {
      EXPECT_TRUE(
          close(fused.grads[hp].narrow(0, from, count), stepwise.grads[hp].narrow(0, from, count)))
          << "hidden_proj.weight rows from " << from << (bf16 ? " bf16" : " fp32");
    }
    for (size_t i = 0; i < names.size(); ++i) {
      EXPECT_TRUE(close(fused.grads[i], stepwise.grads[i]))
          << names[i] << (bf16 ? " bf16" : " fp32") << ": fused "
          << fused.grads[i].abs().sum().item<float>() << " stepwise "
          << stepwise.grads[i].abs().sum().item<float>();
    }
  }
}

// Decoding step by step in bf16 (with the packed bf16 products and the fused read-out where the
// CPU has AVX512-BF16) gives the teacher-forced forward's log-probabilities, to bf16 rounding.
TEST(ModelDecoder, Bf16StepsMatchTheTeacherForcedForward) {
  torch::manual_seed(8);
  AttentionDecoder decoder(tiny_options());
  decoder->eval();
  {  // weights large enough that the outputs depend strongly on the state
    torch::NoGradGuard no_grad;
    for (auto& p : decoder->parameters()) p.normal_(0.0, 0.3);
  }
  const auto features = torch::randn({3, 8, 3, 3});
  const auto tokens =
      torch::tensor({1, 5, 6, 7, 2, 1, 9, 4, 10, 11, 1, 3, 3, 8, 2}, torch::kLong).view({3, 5});
  torch::NoGradGuard no_grad;
  AutocastGuard guard(Precision::kBf16);
  const auto expected = torch::log_softmax(decoder->forward(features, tokens).to(torch::kFloat), 2);
  auto state = decoder->init_state(features);
  EXPECT_EQ(state.packed != nullptr, capflow::model::bf16_step_products_packed());
  for (int t = 0; t < 4; ++t) {
    const auto log_probs = decoder->step(state, tokens.select(1, t).contiguous());
    const double diff = (log_probs - expected.select(1, t)).abs().max().item<double>();
    const double spread = (log_probs.max() - log_probs.min()).item<double>();
    EXPECT_GT(spread, 1.0) << "step " << t;  // far from uniform: the state matters
    EXPECT_LT(diff, 0.02 * spread) << "step " << t << ": " << diff;
  }
}

TEST(ModelDecoder, Bf16AutocastKeepsTheLstmStateInFloat) {
  torch::manual_seed(5);
  AttentionDecoder decoder(tiny_options());
  decoder->eval();
  const auto features = torch::randn({2, 8, 3, 3});
  const auto tokens = torch::tensor({1, 5, 6, 7, 2, 1, 9, 4, 10, 11}, torch::kLong).view({2, 5});
  const auto reference = caption_loss(decoder->forward(features, tokens), tokens).item<float>();
  torch::Tensor logits;
  {
    AutocastGuard guard(Precision::kBf16);
    logits = decoder->forward(features, tokens);
    auto state = decoder->init_state(features);
    EXPECT_EQ(state.features.scalar_type(), torch::kBFloat16);  // cast once, not per step
    const auto log_probs = decoder->step(state, tokens.select(1, 0).contiguous());
    EXPECT_EQ(state.h.scalar_type(), torch::kFloat);
    EXPECT_EQ(state.c.scalar_type(), torch::kFloat);
    EXPECT_EQ(log_probs.scalar_type(), torch::kFloat);
  }
  const auto loss = caption_loss(logits, tokens);
  EXPECT_EQ(loss.scalar_type(), torch::kFloat);
  EXPECT_NEAR(loss.item<float>(), reference, 0.02f * reference);
  loss.backward();
  EXPECT_EQ(decoder->hidden_proj->weight.grad().scalar_type(), torch::kFloat);
}

TEST(ModelDecoder, Fp32DecoderTakesBf16Features) {
  // A bf16 encoder (precision: bf16) under an fp32 decoder: the decoder computes in float and
  // the gradient reaches the bf16 features.
  torch::manual_seed(6);
  AttentionDecoder decoder(tiny_options());
  const auto features = torch::randn({2, 8, 3, 3});
  const auto tokens = torch::tensor({1, 5, 6, 7, 2, 1, 9, 4, 10, 11}, torch::kLong).view({2, 5});
  const auto reference = caption_loss(decoder->forward(features, tokens), tokens).item<float>();
  const auto bf16 = features.to(torch::kBFloat16).requires_grad_(true);
  const auto loss = caption_loss(decoder->forward(bf16, tokens), tokens);
  EXPECT_EQ(loss.scalar_type(), torch::kFloat);
  EXPECT_NEAR(loss.item<float>(), reference, 0.02f * reference);
  loss.backward();
  ASSERT_TRUE(bf16.grad().defined());
  EXPECT_EQ(bf16.grad().scalar_type(), torch::kBFloat16);
  auto state = decoder->init_state(bf16.detach());
  EXPECT_EQ(state.features.scalar_type(), torch::kFloat);
}

TEST(ModelDecoder, AdamMemorisesTwoCaptions) {
  torch::manual_seed(4);
  AttentionDecoder decoder(tiny_options());
  const auto features = torch::randn({2, 8, 2, 2});
  const auto tokens =
      torch::tensor({1, 5, 6, 7, 8, 2, 0, 0, 1, 9, 4, 10, 11, 7, 5, 2}, torch::kLong).view({2, 8});
  torch::optim::Adam adam(decoder->parameters(), torch::optim::AdamOptions(2e-2));
  float first = 0.0f, last = 0.0f;
  for (int step = 0; step < 30; ++step) {
    adam.zero_grad();
    const auto loss = caption_loss(decoder->forward(features, tokens), tokens);
    loss.backward();
    adam.step();
    (step == 0 ? first : last) = loss.item<float>();
  }
  EXPECT_NEAR(first, std::log(12.0f), 0.3f);
  EXPECT_LT(last, 0.2f * first);
  const auto decoded = greedy_decode(*decoder, features, 10, kSos, kEos);
  EXPECT_EQ(decoded[0], (std::vector<int>{5, 6, 7, 8}));
  EXPECT_EQ(decoded[1], (std::vector<int>{9, 4, 10, 11, 7, 5}));
}

// Summed log-probability of `seq` (then <eos> unless it ran to max_length) under the model.
double sequence_log_prob(AttentionDecoder& decoder, const torch::Tensor& features, int row,
                         const std::vector<int>& seq, int max_length) {
  std::vector<int64_t> ids = {kSos};
  ids.insert(ids.end(), seq.begin(), seq.end());
  if (static_cast<int>(seq.size()) < max_length) ids.push_back(kEos);
  const auto tokens = torch::tensor(ids, torch::kLong).unsqueeze(0);
  torch::NoGradGuard no_grad;
  const auto lp = torch::log_softmax(
      decoder->forward(features.narrow(0, row, 1), tokens).to(torch::kDouble), 2);
  double total = 0.0;
  for (size_t t = 1; t < ids.size(); ++t) total += lp[0][t - 1][ids[t]].item<double>();
  return total;
}

// A random decoder whose <eos> is likely enough that sequences end at varied lengths.
AttentionDecoder random_decoder(int seed) {
  torch::manual_seed(seed);
  AttentionDecoder decoder(tiny_options());
  torch::NoGradGuard no_grad;
  for (auto& p : decoder->parameters()) p.normal_(0.0, 0.5);
  decoder->fc->bias[kEos] += 1.0f;
  decoder->eval();
  return decoder;
}

TEST(ModelSearch, GreedyRespectsLimitsAndSpecialTokens) {
  auto decoder = random_decoder(5);
  const auto features = torch::randn({4, 8, 2, 2});
  const auto out = greedy_decode(*decoder, features, 6, kSos, kEos);
  ASSERT_EQ(out.size(), 4u);
  for (const auto& seq : out) {
    EXPECT_LE(seq.size(), 6u);
    for (int token : seq) {
      EXPECT_NE(token, kEos);
      EXPECT_GE(token, 0);
      EXPECT_LT(token, 12);
    }
  }
  // Each row decoded alone gives the same sequence as in the batch.
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(greedy_decode(*decoder, features.narrow(0, i, 1), 6, kSos, kEos)[0], out[i]);
  }
  EXPECT_TRUE(greedy_decode(*decoder, features, 0, kSos, kEos)[0].empty());
}

TEST(ModelSearch, BeamWidthOneIsGreedy) {
  int ended = 0, nonempty = 0;
  for (int seed = 10; seed < 16; ++seed) {
    auto decoder = random_decoder(seed);
    const auto features = torch::randn({4, 8, 2, 2});
    const auto greedy = greedy_decode(*decoder, features, 15, kSos, kEos);
    EXPECT_EQ(beam_search(*decoder, features, 1, 15, kSos, kEos), greedy) << "seed " << seed;
    for (const auto& seq : greedy) {
      ended += seq.size() < 15;
      nonempty += !seq.empty();
    }
  }
  EXPECT_GT(ended, 0);  // both rows that emitted <eos> and rows that did not
  EXPECT_LT(ended, 24);
  EXPECT_GT(nonempty, 0);
  auto decoder = random_decoder(0);
  EXPECT_THROW(beam_search(*decoder, torch::randn({1, 8, 2, 2}), 0, 5, kSos, kEos),
               std::invalid_argument);
  EXPECT_THROW(beam_search(*decoder, torch::randn({1, 8, 2, 2}), 13, 5, kSos, kEos),
               std::invalid_argument);
}

TEST(ModelSearch, BeamFindsAtLeastGreedysLogProb) {
  constexpr int kMax = 12;
  int strictly_better = 0;
  for (int seed = 20; seed < 26; ++seed) {
    auto decoder = random_decoder(seed);
    const auto features = torch::randn({3, 8, 2, 2});
    const auto greedy = greedy_decode(*decoder, features, kMax, kSos, kEos);
    const auto beam = beam_search(*decoder, features, 3, kMax, kSos, kEos);
    ASSERT_EQ(beam.size(), 3u);
    for (int i = 0; i < 3; ++i) {
      const double g = sequence_log_prob(decoder, features, i, greedy[i], kMax);
      const double b = sequence_log_prob(decoder, features, i, beam[i], kMax);
      EXPECT_GE(b, g - 1e-4) << "seed " << seed << " row " << i;
      if (b > g + 1e-4) ++strictly_better;
      for (int token : beam[i]) EXPECT_NE(token, kEos);
      EXPECT_LE(beam[i].size(), static_cast<size_t>(kMax));
    }
  }
  EXPECT_GT(strictly_better, 0);  // the search does explore beyond the greedy path
}

TEST(ModelSearch, StepReportsAttentionWeightsWhenAsked) {
  auto decoder = random_decoder(40);
  const auto features = torch::randn({3, 8, 2, 3});
  auto plain = decoder->init_state(features);
  auto traced = decoder->init_state(features);
  auto tokens = torch::full({3}, kSos, torch::kLong);
  torch::NoGradGuard no_grad;
  for (int t = 0; t < 4; ++t) {
    torch::Tensor alpha;
    const auto expected = decoder->step(plain, tokens);
    const auto got = decoder->step(traced, tokens, &alpha);
    EXPECT_TRUE(torch::equal(got, expected)) << "step " << t;
    ASSERT_EQ(alpha.sizes(), (std::vector<int64_t>{3, 6}));
    EXPECT_EQ(alpha.scalar_type(), torch::kFloat);
    EXPECT_TRUE(torch::allclose(alpha.sum(1), torch::ones({3}), 1e-5, 1e-5));
    EXPECT_TRUE(alpha.ge(0).all().item<bool>());
    tokens = expected.argmax(1);
  }
}

TEST(ModelSearch, RankedBeamListsKHypothesesBestFirst) {
  constexpr int kMax = 12, kBeam = 4;
  auto decoder = random_decoder(30);
  const auto features = torch::randn({3, 8, 2, 2});
  const auto ranked = beam_search_ranked(*decoder, features, kBeam, kMax, kSos, kEos);
  const auto best = beam_search(*decoder, features, kBeam, kMax, kSos, kEos);
  ASSERT_EQ(ranked.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(ranked[i].size(), static_cast<size_t>(kBeam));
    EXPECT_EQ(ranked[i].front().tokens, best[i]);
    for (int k = 0; k < kBeam; ++k) {
      const auto& h = ranked[i][k];
      if (k > 0) {
        EXPECT_GE(ranked[i][k - 1].score, h.score);
      }
      for (int token : h.tokens) EXPECT_NE(token, kEos);
      // The score is the hypothesis' own log-probability (<eos> included when it ended).
      EXPECT_NEAR(h.score, sequence_log_prob(decoder, features, i, h.tokens, kMax), 1e-3)
          << "row " << i << " hypothesis " << k;
    }
  }
}

TEST(ModelPrecision, ParsesNames) {
  EXPECT_EQ(parse_precision("fp32"), Precision::kFp32);
  EXPECT_EQ(parse_precision("bf16"), Precision::kBf16);
  EXPECT_EQ(parse_precision("bfloat16"), Precision::kBf16);
  EXPECT_STREQ(precision_name(Precision::kBf16), "bf16");
  try {
    parse_precision("fp16");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("fp16"), std::string::npos);
  }
}

TEST(ModelPrecision, AutoTakesBf16OnlyWhereItIsTheFasterPrecision) {
  EXPECT_EQ(choose_precision("auto", /*on_cuda=*/false, /*bf16_fast=*/true), "bf16");
  EXPECT_EQ(choose_precision("auto", false, false), "fp32");
  EXPECT_EQ(choose_precision("auto", true, false), "bf16");
  // What is asked for explicitly is what runs.
  EXPECT_EQ(choose_precision("bf16", false, false), "bf16");
  EXPECT_EQ(choose_precision("bfloat16", false, false), "bf16");
  EXPECT_EQ(choose_precision("fp32", true, true), "fp32");
  EXPECT_THROW(choose_precision("fp16", false, true), ConfigError);
  // This machine: auto follows its instructions and measured peak, and only an explicit bf16
  // that is slower here is warned about, with the figures.
  const bool fast = cpu_runs_bf16_fast();
  EXPECT_TRUE(!fast || cpu_has_bf16_instructions());
  EXPECT_EQ(choose_precision("auto", false), fast ? "bf16" : "fp32");
  EXPECT_EQ(slow_bf16_warning("bf16", false).empty(), fast);
  if (!fast) {
    EXPECT_NE(slow_bf16_warning("bf16", false).find(bf16_speed_basis()), std::string::npos);
  }
  EXPECT_FALSE(bf16_speed_basis().empty());
  EXPECT_TRUE(slow_bf16_warning("auto", false).empty());
  EXPECT_TRUE(slow_bf16_warning("fp32", false).empty());
  EXPECT_TRUE(slow_bf16_warning("bf16", true).empty());
}

TEST(ModelPrecision, AutocastGuardScopesBf16) {
  const auto a = torch::rand({8, 8}), b = torch::rand({8, 8});
  ASSERT_FALSE(at::autocast::is_cpu_enabled());
  {
    AutocastGuard bf16(Precision::kBf16);
    EXPECT_TRUE(at::autocast::is_cpu_enabled());
    EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kBFloat16);
    {
      AutocastGuard fp32(Precision::kFp32);
      EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat);
    }
    EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kBFloat16);
  }
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat);
}

TEST(ModelPrecision, ModelInputValuesAndLayout) {
  // 2 images of 3×4: pixel (n, y, x) = 10 * (n * 12 + y * 4 + x) + 5.
  std::vector<uint8_t> pixels(2 * 3 * 4);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(10 * i + 5);
  pixels[0] = 0;
  pixels[1] = 255;
  for (bool channels_last : {false, true}) {
    const auto x = to_model_input(pixels.data(), 2, 3, 4, channels_last);
    EXPECT_EQ(shape_of(x), (std::vector<int64_t>{2, 1, 3, 4}));
    EXPECT_EQ(x.scalar_type(), torch::kFloat);
    EXPECT_FLOAT_EQ(x[0][0][0][0].item<float>(), 1.0f);  // black ink
    EXPECT_FLOAT_EQ(x[0][0][0][1].item<float>(), 0.0f);  // white paper
    EXPECT_FLOAT_EQ(x[1][0][2][1].item<float>(), (255.0f - (10 * 21 + 5)) / 255.0f);
    EXPECT_FLOAT_EQ(x[0][0][1][3].item<float>(), (255.0f - (10 * 7 + 5)) / 255.0f);
    if (channels_last) {
      EXPECT_EQ(x.strides().vec(), (std::vector<int64_t>{12, 1, 4, 1}));
      EXPECT_TRUE(x.is_contiguous(at::MemoryFormat::ChannelsLast));
      EXPECT_EQ(x.suggest_memory_format(), at::MemoryFormat::ChannelsLast);
    } else {
      EXPECT_EQ(x.strides().vec(), (std::vector<int64_t>{12, 12, 4, 1}));
      EXPECT_EQ(x.suggest_memory_format(), at::MemoryFormat::Contiguous);
    }
  }
}

// The fused attention passes against the same formulas in double, forward and backward, for
// float and bfloat16 (the hand-written loops) and double (the ATen fallback), with the decoder
// side as a strided column block (as in the decoder).
TEST(ModelAttentionKernels, MatchTheFormulasInDouble) {
  for (float x = -12.0f; x <= 12.0f; x += 0.01f) {
    ASSERT_NEAR(fast_tanh(x), std::tanh(static_cast<double>(x)), 5e-7) << x;
  }
  torch::manual_seed(8);
  const int64_t n = 5, P = 7, A = 19;
  for (const auto dtype : {torch::kFloat, torch::kBFloat16, torch::kDouble}) {
    const auto enc = torch::randn({n, P, A}).to(dtype);
    const auto wide = torch::randn({n, A + 3}).to(dtype);
    const auto dec = wide.narrow(1, 2, A);
    const auto w = torch::randn({A}).to(dtype);
    auto u = torch::empty({n, P, A}, dtype);
    auto scores = torch::empty({n, P});
    attention_scores(enc, dec, w, u, scores);
    const auto ud = torch::tanh(enc.to(torch::kDouble) + dec.to(torch::kDouble).unsqueeze(1));
    const double tol = dtype == torch::kBFloat16 ? 2e-2 : 1e-5;
    EXPECT_LT((u.to(torch::kDouble) - ud).abs().max().item<double>(), tol) << dtype;
    // The scores come from the unrounded tanh: the rational tanh's error only, for any dtype.
    const auto expected_scores = torch::matmul(ud, w.to(torch::kDouble));
    EXPECT_LT((scores.to(torch::kDouble) - expected_scores).abs().max().item<double>(), 1e-4)
        << dtype;

    const auto d_scores = torch::randn({n, P});
    auto d_enc = torch::ones({n, P, A});  // accumulates
    auto wide_grad = torch::zeros({n, A + 3}, dtype);
    auto d_dec = wide_grad.narrow(1, 2, A);
    auto d_w = torch::full({A}, 2.0);  // accumulates
    attention_scores_backward(u, d_scores, w, d_enc, d_dec, d_w);
    const auto g = d_scores.to(torch::kDouble).unsqueeze(2) * w.to(torch::kDouble) *
                   (1 - u.to(torch::kDouble).square());
    EXPECT_LT((d_enc.to(torch::kDouble) - 1 - g).abs().max().item<double>(), 1e-5) << dtype;
    const auto expected_dw = (d_scores.to(torch::kDouble).unsqueeze(2) * u.to(torch::kDouble))
                                 .sum(at::IntArrayRef{0, 1});
    EXPECT_LT((d_w.to(torch::kDouble) - 2 - expected_dw).abs().max().item<double>(), 1e-4) << dtype;
    const double dec_tol =
        dtype == torch::kBFloat16 ? 2e-2 * g.sum(1).abs().max().item<double>() : 1e-5;
    EXPECT_LT((d_dec.to(torch::kDouble) - g.sum(1)).abs().max().item<double>(), dec_tol) << dtype;
    // Only its block written.
    EXPECT_EQ(wide_grad.narrow(1, 0, 2).abs().sum().item<double>(), 0.0);
    EXPECT_EQ(wide_grad.narrow(1, A + 2, 1).abs().sum().item<double>(), 0.0);
  }
}

// The fused LSTM cell, forward and backward, against its formulas in double: the hand-written
// loop (float, rows strided inside wider matrices, the gradient's copy in float and in bfloat16)
// and the ATen fallback (double).
TEST(ModelLstmCellKernels, MatchTheFormulasInDouble) {
  torch::manual_seed(9);
  const int64_t n = 3, H = 21;
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    for (const auto copy_dtype : {dtype, torch::kBFloat16}) {
      const auto pre = (3 * torch::randn({n, 4 * H + 5})).to(dtype);
      auto gates = pre.narrow(1, 2, 4 * H).clone();
      const auto wide = torch::randn({n, H + 4}).to(dtype);
      const auto c_prev = wide.narrow(1, 1, H);
      auto c_out = torch::zeros({n, H}, dtype), h_out = torch::zeros({n, H + 2}, dtype);
      auto h_rows = h_out.narrow(1, 2, H);
      lstm_cell_forward(gates, c_prev, c_out, h_rows);

      const auto p = pre.narrow(1, 2, 4 * H).to(torch::kDouble);
      const auto i = torch::sigmoid(p.narrow(1, 0, H)), f = torch::sigmoid(p.narrow(1, H, H));
      const auto g = torch::tanh(p.narrow(1, 2 * H, H)), o = torch::sigmoid(p.narrow(1, 3 * H, H));
      const auto c = f * c_prev.to(torch::kDouble) + i * g;
      const auto h = o * torch::tanh(c);
      auto err = [](const torch::Tensor& a, const torch::Tensor& b) {
        return (a.to(torch::kDouble) - b).abs().max().item<double>();
      };
      EXPECT_LT(err(gates, torch::cat({i, f, g, o}, 1)), 1e-6) << dtype;
      EXPECT_LT(err(c_out, c), 1e-5) << dtype;
      EXPECT_LT(err(h_rows, h), 1e-5) << dtype;
      EXPECT_EQ(h_out.narrow(1, 0, 2).abs().sum().item<double>(), 0.0);

      const auto grad_h = torch::randn({n, H}).to(dtype), dh = torch::randn({n, H}).to(dtype);
      const auto dc_in = torch::randn({n, H}).to(dtype);
      auto dc = dc_in.clone();
      auto d_gates = torch::empty({n, 4 * H}, dtype);
      auto copy_wide = torch::zeros({n, 4 * H + 3}, copy_dtype);
      auto d_copy = copy_wide.narrow(1, 3, 4 * H);
      lstm_cell_backward(gates, c_prev, c_out, grad_h, dh, dc, d_gates, d_copy);
      const auto dht = (grad_h + dh).to(torch::kDouble);
      const auto tc = torch::tanh(c);
      const auto dct = dc_in.to(torch::kDouble) + dht * o * (1 - tc * tc);
      const auto expected =
          torch::cat({dct * g * i * (1 - i), dct * c_prev.to(torch::kDouble) * f * (1 - f),
                      dct * i * (1 - g * g), dht * tc * o * (1 - o)},
                     1);
      const double scale = expected.abs().max().item<double>();
      EXPECT_LT(err(d_gates, expected), 1e-5 * scale) << dtype;
      EXPECT_LT(err(dc, dct * f), 1e-5 * scale) << dtype;
      const double copy_tol = copy_dtype == torch::kBFloat16 ? 1e-2 * scale : 1e-5 * scale;
      EXPECT_LT(err(d_copy, expected), copy_tol) << copy_dtype;
      EXPECT_EQ(copy_wide.narrow(1, 0, 3).abs().sum().item<double>(), 0.0);
    }
  }
}

}  // namespace
}  // namespace capflow::model
