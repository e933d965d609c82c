// The transformer caption decoder: shapes and gradients, causality, the step API (with its
// key and value cache) against teacher forcing, greedy and beam search through it, learning,
// bad options, and the position codes.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "graph/errors.h"
#include "nodes/model/caption_search.h"
#include "nodes/model/transformer_decoder.h"
#include "tests/one_torch_thread.h"

namespace capflow::model {
namespace {

constexpr int kSos = 1, kEos = 2;

DecoderOptions tiny_transformer(int layers = 2) {
  DecoderOptions o;
  o.kind = DecoderKind::kTransformer;
  o.vocab_size = 12;
  o.hidden = 16;
  o.layers = layers;
  o.heads = 4;
  o.ffn = 24;
  o.encoder_channels = 8;
  o.dropout = 0.0;
  return o;
}

// Rows of different lengths, padded with <pad> = 0.
torch::Tensor padded_tokens() {
  return torch::tensor({1, 5, 6, 2, 0, 0, 1, 7, 7, 8, 9, 2, 1, 4, 2, 0, 0, 0}, torch::kLong)
      .view({3, 6});
}

TEST(TransformerDecoder, ShapesAndEveryParameterLearns) {
  torch::manual_seed(1);
  auto o = tiny_transformer();
  o.dropout = 0.2;
  TransformerDecoder decoder(o);
  EXPECT_EQ(decoder->options().embed, 16);  // the width
  const auto features = torch::randn({3, 8, 2, 3});
  const auto logits = decoder->forward(features, padded_tokens());
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{3, 5, 12}));
  caption_loss(logits, padded_tokens()).backward();
  for (const auto& p : decoder->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<float>(), 0.0f) << p.key();
  }
  EXPECT_TRUE(decoder->named_parameters().contains("layers.1.cross_kv.weight"));
}

// A token never sees the tokens after it: changing the last input changes only the last
// position's logits; padding after a row's end changes nothing before it.
TEST(TransformerDecoder, NoPositionSeesTheTokensAfterIt) {
  torch::manual_seed(2);
  TransformerDecoder decoder(tiny_transformer());
  decoder->eval();
  torch::NoGradGuard no_grad;
  const auto features = torch::randn({1, 8, 3, 3});
  auto tokens = torch::tensor({1, 5, 6, 7, 8, 2}, torch::kLong).view({1, 6});
  const auto a = decoder->forward(features, tokens);
  tokens[0][4] = 11;  // the input at position 4
  const auto b = decoder->forward(features, tokens);
  EXPECT_TRUE(torch::allclose(a.narrow(1, 0, 4), b.narrow(1, 0, 4), 1e-6, 1e-6));
  EXPECT_FALSE(torch::allclose(a.select(1, 4), b.select(1, 4), 1e-3, 1e-3));
  const auto shorter = decoder->forward(features, tokens.narrow(1, 0, 3));
  EXPECT_TRUE(torch::allclose(shorter, b.narrow(1, 0, 2), 1e-5, 1e-5));
}

// The step API with its caches computes the same model as teacher forcing, in every layer,
// while the caches grow.
TEST(TransformerDecoder, StepsMatchTeacherForcing) {
  torch::manual_seed(3);
  TransformerDecoder decoder(tiny_transformer(3));
  decoder->eval();
  const auto features = torch::randn({2, 8, 3, 3});
  // 40 steps: the caches grow twice (16, 32, 64 positions).
  auto tokens = torch::randint(4, 12, {2, 41}, torch::kLong);
  tokens.select(1, 0).fill_(kSos);
  torch::NoGradGuard no_grad;
  const auto expected = torch::log_softmax(decoder->forward(features, tokens), 2);
  auto state = decoder->init_state(features);
  for (int t = 0; t < 40; ++t) {
    torch::Tensor alpha;
    const auto log_probs = decoder->step(state, tokens.select(1, t).contiguous(), &alpha);
    EXPECT_TRUE(torch::allclose(log_probs, expected.select(1, t), 1e-5, 1e-5)) << "step " << t;
    ASSERT_EQ(alpha.sizes(), (std::vector<int64_t>{2, 9}));
    EXPECT_TRUE(torch::allclose(alpha.sum(1), torch::ones({2}), 1e-5, 1e-5));
  }
  EXPECT_EQ(state.position, 40);
  EXPECT_EQ(state.keys.at(2).size(2), 64);  // room for a key per fed token, doubled
}

// Greedy decoding through the step API writes what teacher forcing on its own output argmaxes,
// row by row or batched (finished rows leave the batch); a beam of 1 is greedy.
TEST(TransformerDecoder, GreedyAndBeamSearchRunThroughTheCaches) {
  torch::manual_seed(4);
  auto decoder = make_decoder(tiny_transformer());
  decoder->eval();
  {
    torch::NoGradGuard no_grad;
    for (auto& p : decoder->parameters()) p.normal_(0.0, 0.5);
  }
  const auto features = torch::randn({3, 8, 2, 2});
  const auto out = greedy_decode(*decoder, features, 8, kSos, kEos);
  ASSERT_EQ(out.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(greedy_decode(*decoder, features.narrow(0, i, 1), 8, kSos, kEos)[0], out[i]);
    std::vector<int64_t> fed{kSos};
    for (const int token : out[i]) fed.push_back(token);
    fed.push_back(kEos);
    const auto tokens = torch::tensor(fed, torch::kLong).view({1, -1});
    torch::NoGradGuard no_grad;
    const auto argmax = decoder->forward(features.narrow(0, i, 1), tokens).argmax(2)[0];
    for (std::size_t t = 0; t < out[i].size(); ++t)
      EXPECT_EQ(argmax[static_cast<int64_t>(t)].item<int64_t>(), out[i][t]) << "row " << i;
  }
  EXPECT_EQ(beam_search(*decoder, features, 1, 8, kSos, kEos), out);
  const auto beams = beam_search(*decoder, features, 3, 8, kSos, kEos);
  EXPECT_EQ(beams.size(), 3u);
}

TEST(TransformerDecoder, LearnsToWriteTheCaptionsOfTwoPictures) {
  torch::manual_seed(5);
  TransformerDecoder decoder(tiny_transformer());
  const auto features = torch::randn({2, 8, 2, 2});
  const auto tokens = torch::tensor({1, 5, 6, 7, 2, 1, 9, 4, 10, 2}, torch::kLong).view({2, 5});
  torch::optim::Adam adam(decoder->parameters(), torch::optim::AdamOptions(1e-2));
  double first = 0, last = 0;
  for (int i = 0; i < 60; ++i) {
    adam.zero_grad();
    const auto loss = caption_loss(decoder->forward(features, tokens), tokens);
    loss.backward();
    adam.step();
    (i == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_GT(first, 1.5);
  EXPECT_LT(last, 0.05);
  decoder->eval();
  const auto written = greedy_decode(*decoder, features, 8, kSos, kEos);
  EXPECT_EQ(written[0], (std::vector<int>{5, 6, 7}));
  EXPECT_EQ(written[1], (std::vector<int>{9, 4, 10}));
}

TEST(TransformerDecoder, BadOptionsAreConfigErrors) {
  auto o = tiny_transformer();
  o.heads = 3;  // 16 is not a multiple of 3
  EXPECT_THROW(TransformerDecoder{o}, ConfigError);
  o = tiny_transformer();
  o.hidden = 18;  // not a multiple of 4
  o.heads = 2;
  EXPECT_THROW(TransformerDecoder{o}, ConfigError);
  o = tiny_transformer(0);
  EXPECT_THROW(TransformerDecoder{o}, ConfigError);
  o = tiny_transformer();
  o.formula_head = 8;
  EXPECT_THROW(TransformerDecoder{o}, ConfigError);
  o = tiny_transformer();
  o.vocab_size = 3;
  EXPECT_THROW(make_decoder(o), ConfigError);
  EXPECT_THROW(parse_decoder_kind("gru"), std::invalid_argument);
  EXPECT_EQ(parse_decoder_kind(decoder_kind_name(DecoderKind::kTransformer)),
            DecoderKind::kTransformer);
}

TEST(TransformerDecoder, SinusoidPositionsAreSinesAndCosines) {
  const auto pe = sinusoid_positions(torch::arange(3), 4);
  ASSERT_EQ(pe.sizes(), (std::vector<int64_t>{3, 4}));
  // Column 2i: sin(p / 10000^(2i/4)); column 2i+1: its cosine.
  EXPECT_NEAR(pe[2][0].item<float>(), std::sin(2.0), 1e-6);
  EXPECT_NEAR(pe[2][1].item<float>(), std::cos(2.0), 1e-6);
  EXPECT_NEAR(pe[2][2].item<float>(), std::sin(2.0 / 100.0), 1e-6);
  EXPECT_NEAR(pe[2][3].item<float>(), std::cos(2.0 / 100.0), 1e-6);
}

}  // namespace
}  // namespace capflow::model
