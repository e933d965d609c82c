// Model replicas in one process (model_replicas.h): shared parameters with gradients of their
// own, merged gradients equal to one model's on the whole batch, averaged batch-norm
// statistics, deterministic dropout per replica, and the parallel runner.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "graph/errors.h"
#include "nodes/model/attention_decoder.h"
#include "nodes/model/model_replicas.h"
#include "nodes/model/resnet_encoder.h"
#include "tests/one_torch_thread.h"

namespace capflow::model {
namespace {

struct Model {
  ResNetEncoder encoder{nullptr};
  CaptionDecoder decoder{nullptr};
};

constexpr DecoderKind kBothDecoders[] = {DecoderKind::kAttentionLstm, DecoderKind::kTransformer};

Model small_model(double dropout, DecoderKind kind = DecoderKind::kAttentionLstm) {
  torch::manual_seed(11);
  EncoderOptions eo;
  eo.stages = 2;
  eo.width = 8;
  Model m{ResNetEncoder(eo), nullptr};
  DecoderOptions o;
  o.vocab_size = 12;
  o.embed = 8;
  o.hidden = 16;
  o.attention = 8;
  o.encoder_channels = m.encoder->feature_channels();
  o.dropout = dropout;
  o.kind = kind;
  o.layers = 2, o.heads = 2, o.ffn = 32;  // the transformer's
  m.decoder = make_decoder(o);
  return m;
}

// Four rows of equal caption length (<sos> = 1, <eos> = 2, tokens 4..11, no padding), so
// the mean loss over the whole batch equals the mean of the two halves' mean losses.
torch::Tensor tokens_of_equal_length() {
  torch::manual_seed(5);
  auto t = torch::randint(4, 12, {4, 6}, torch::kInt64);
  t.select(1, 0).fill_(1);
  t.select(1, 5).fill_(2);
  return t;
}

torch::Tensor loss_of(ResNetEncoder& e, CaptionDecoder& d, const torch::Tensor& x,
                      const torch::Tensor& tokens) {
  return caption_loss(d->forward(e->forward(x), tokens), tokens);
}

std::vector<torch::Tensor> gradients(const ModelReplica& r) {
  std::vector<torch::Tensor> out;
  for (const auto& p : r.decoder->parameters()) out.push_back(p.grad().clone());
  for (const auto& p : r.encoder->parameters()) out.push_back(p.grad().clone());
  return out;
}

TEST(ModelReplicas, ShareParameterValuesButNotGradients) {
  Model m = small_model(0.0);
  auto replicas = make_replicas(m.encoder, m.decoder, 3, /*channels_last=*/false);
  ASSERT_EQ(replicas.size(), 3u);
  EXPECT_EQ(replicas[0].encoder.get(), m.encoder.get());
  EXPECT_NE(replicas[1].encoder.get(), m.encoder.get());
  torch::Tensor original = m.decoder->named_parameters()["fc.weight"];
  torch::Tensor copy = replicas[2].decoder->named_parameters()["fc.weight"];
  {
    torch::NoGradGuard no_grad;
    original.add_(1.0);  // what the optimizer's in-place step does
  }
  EXPECT_TRUE(torch::equal(original, copy));
  copy.mutable_grad() = torch::ones_like(copy);
  EXPECT_FALSE(original.grad().defined());
  EXPECT_THROW(make_replicas(m.encoder, m.decoder, 0, false), ConfigError);
}

TEST(ModelReplicas, MergedGradientsEqualOneModelOnTheWholeBatch) {
  for (const DecoderKind kind : kBothDecoders) {
    SCOPED_TRACE(decoder_kind_name(kind));
    torch::manual_seed(2);
    const auto x = torch::rand({4, 1, 32, 32});
    const auto tokens = tokens_of_equal_length();
    // Batch norm from its running statistics, so that the halves see what the whole batch sees.
    Model whole = small_model(0.0, kind);
    whole.encoder->eval();
    loss_of(whole.encoder, whole.decoder, x, tokens).backward();
    const auto expected = gradients({whole.encoder, whole.decoder});

    Model split = small_model(0.0, kind);
    split.encoder->eval();
    auto replicas = make_replicas(split.encoder, split.decoder, 2, false);
    for_each_replica(2, 1, [&](int k) {
      auto& r = replicas[static_cast<std::size_t>(k)];
      (loss_of(r.encoder, r.decoder, x.narrow(0, 2 * k, 2), tokens.narrow(0, 2 * k, 2)) * 0.5)
          .backward();
    });
    merge_gradients(replicas);
    const auto merged = gradients(replicas[0]);
    ASSERT_EQ(merged.size(), expected.size());
    for (std::size_t i = 0; i < merged.size(); ++i)
      EXPECT_TRUE(torch::allclose(merged[i], expected[i], 1e-4, 1e-6)) << "parameter " << i;
    for (const auto& g : gradients(replicas[1])) EXPECT_EQ(g.abs().sum().item<double>(), 0.0);
  }
}

TEST(ModelReplicas, StatisticsBecomeTheReplicasMean) {
  Model m = small_model(0.0);
  auto replicas = make_replicas(m.encoder, m.decoder, 2, false);
  torch::manual_seed(4);
  for_each_replica(2, 1, [&](int k) {
    torch::NoGradGuard no_grad;
    replicas[static_cast<std::size_t>(k)].encoder->forward(torch::rand({2, 1, 32, 32}) * (k + 1));
  });
  const auto a = replicas[0].encoder->buffers();
  const auto b = replicas[1].encoder->buffers();
  std::vector<torch::Tensor> mean;
  for (std::size_t i = 0; i < a.size(); ++i) mean.push_back((a[i].to(torch::kDouble) + b[i]) / 2);
  EXPECT_FALSE(torch::equal(a[0], b[0]));  // each saw its own batch
  average_statistics(replicas);
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_floating_point()) continue;
    EXPECT_TRUE(torch::allclose(a[i].to(torch::kDouble), mean[i])) << "buffer " << i;
    EXPECT_TRUE(torch::equal(a[i], b[i])) << "buffer " << i;
  }
}

TEST(ModelReplicas, DropoutDrawsAreEachReplicasOwnAndRepeatable) {
  for (const DecoderKind kind : kBothDecoders) {
    SCOPED_TRACE(decoder_kind_name(kind));
    Model m = small_model(0.5, kind);
    auto replicas = make_replicas(m.encoder, m.decoder, 2, false);
    const auto features = torch::rand({2, m.encoder->feature_channels(), 2, 2});
    const auto tokens = tokens_of_equal_length().narrow(0, 0, 2);
    auto logits = [&](std::uint64_t seed0, std::uint64_t seed1) {
      std::vector<torch::Tensor> out(2);
      for_each_replica(2, 1, [&](int k) {
        auto& d = replicas[static_cast<std::size_t>(k)].decoder;
        at::Generator g = *d->generator();
        g.set_current_seed(k == 0 ? seed0 : seed1);
        torch::NoGradGuard no_grad;
        out[static_cast<std::size_t>(k)] = d->forward(features, tokens);
      });
      return out;
    };
    const auto first = logits(7, 8);
    const auto again = logits(7, 8);
    EXPECT_TRUE(torch::equal(first[0], again[0]));
    EXPECT_TRUE(torch::equal(first[1], again[1]));
    EXPECT_FALSE(torch::equal(first[0], first[1]));  // same weights and input, other draws
    const auto same = logits(7, 7);
    EXPECT_TRUE(torch::equal(same[0], same[1]));
  }
}

TEST(ModelReplicas, ForEachReplicaRunsEveryIndexOnceAndRethrows) {
  std::vector<std::atomic<int>> runs(4);
  for_each_replica(4, 1, [&](int k) { ++runs[static_cast<std::size_t>(k)]; });
  for (const auto& r : runs) EXPECT_EQ(r.load(), 1);
  std::atomic<int> finished{0};
  EXPECT_THROW(for_each_replica(3, 1,
                                [&](int k) {
                                  ++finished;
                                  if (k == 1) throw std::runtime_error("replica 1 failed");
                                }),
               std::runtime_error);
  EXPECT_EQ(finished.load(), 3);
}

}  // namespace
}  // namespace capflow::model
