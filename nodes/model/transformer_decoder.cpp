// Transformer caption decoder (see transformer_decoder.h).
#include "nodes/model/transformer_decoder.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "graph/errors.h"

namespace capflow::model {
namespace {

// [B, T, d] → [B, heads, T, d / heads]
torch::Tensor split_heads(const torch::Tensor& x, int64_t heads) {
  return x.view({x.size(0), x.size(1), heads, x.size(2) / heads}).transpose(1, 2);
}

// [B, heads, T, d / heads] → [B, T, d]
torch::Tensor merge_heads(const torch::Tensor& x) {
  return x.transpose(1, 2).reshape({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

// Scaled dot-product attention of q [B, h, Tq, e] over k, v [B, h, Tk, e]; mask (float
// [Tq, Tk], added to the scores) may be undefined. The probabilities in float; `probs` receives
// them [B, h, Tq, Tk] when given.
torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                     const torch::Tensor& mask, torch::Tensor* probs = nullptr) {
  auto scores = torch::matmul(q, k.transpose(-2, -1)).to(torch::kFloat);
  scores.mul_(1.0 / std::sqrt(static_cast<double>(q.size(-1))));
  if (mask.defined()) scores.add_(mask);
  const auto p = torch::softmax(scores, -1);
  if (probs) *probs = p;
  return torch::matmul(p.to(v.scalar_type()), v);
}

// -inf above the diagonal: position t sees positions 0..t.
torch::Tensor causal_mask(int64_t t, const torch::Device& device) {
  return torch::full({t, t}, -std::numeric_limits<float>::infinity(),
                     torch::TensorOptions().device(device))
      .triu(1);
}

// Writes `fresh` [B, h, 1, e] at position `used` of the cache [B, h, capacity, e], growing it
// (doubling) when full, and returns the keys or values so far, [B, h, used + 1, e]: each step
// copies one token's, where concatenating would copy all the earlier ones again.
torch::Tensor append_to_cache(torch::Tensor& cache, const torch::Tensor& fresh, int64_t used) {
  if (!cache.defined() || cache.size(2) == used) {
    auto sizes = fresh.sizes().vec();
    sizes[2] = std::max<int64_t>(16, 2 * used);
    auto grown = torch::empty(sizes, fresh.options());
    if (used > 0) grown.narrow(2, 0, used).copy_(cache.narrow(2, 0, used));
    cache = grown;
  }
  cache.narrow(2, used, 1).copy_(fresh);
  return cache.narrow(2, 0, used + 1);
}

void check_options(const DecoderOptions& o) {
  const bool sizes_ok = o.vocab_size >= 4 && o.hidden >= 4 && o.hidden % 4 == 0 && o.layers >= 1 &&
                        o.heads >= 1 && o.hidden % o.heads == 0 && o.ffn >= 1 &&
                        o.encoder_channels >= 1;
  if (!sizes_ok || o.dropout < 0.0 || o.dropout >= 1.0) {
    throw ConfigError(
        "transformer decoder: need vocab_size >= 4, hidden a multiple of 4 and of heads, "
        "positive layers, heads, ffn and dropout in [0, 1); got vocab_size " +
        std::to_string(o.vocab_size) + ", hidden " + std::to_string(o.hidden) + ", layers " +
        std::to_string(o.layers) + ", heads " + std::to_string(o.heads) + ", ffn " +
        std::to_string(o.ffn) + ", dropout " + std::to_string(o.dropout));
  }
  if (o.formula_head > 0 || o.atom_classes > 0)
    throw ConfigError("transformer decoder: no formula or atom head (those are attention_lstm's)");
}

}  // namespace

torch::Tensor sinusoid_positions(const torch::Tensor& positions, int64_t dim) {
  TORCH_CHECK(dim % 2 == 0, "sinusoid_positions: dim must be even, got ", dim);
  const auto opts = torch::TensorOptions().dtype(torch::kFloat).device(positions.device());
  const auto rates =
      torch::exp(torch::arange(0, dim, 2, opts) * (-std::log(10000.0) / static_cast<double>(dim)));
  const auto angles = positions.to(torch::kFloat).unsqueeze(1) * rates.unsqueeze(0);  // [n, d/2]
  return torch::stack({angles.sin(), angles.cos()}, 2).reshape({positions.size(0), dim});
}

TransformerLayerImpl::TransformerLayerImpl(int d, int ffn) {
  using torch::nn::LayerNorm;
  using torch::nn::LayerNormOptions;
  using torch::nn::Linear;
  self_norm = register_module("self_norm", LayerNorm(LayerNormOptions({d})));
  self_qkv = register_module("self_qkv", Linear(d, 3 * d));
  self_out = register_module("self_out", Linear(d, d));
  cross_norm = register_module("cross_norm", LayerNorm(LayerNormOptions({d})));
  cross_q = register_module("cross_q", Linear(d, d));
  cross_kv = register_module("cross_kv", Linear(d, 2 * d));
  cross_out = register_module("cross_out", Linear(d, d));
  ffn_norm = register_module("ffn_norm", LayerNorm(LayerNormOptions({d})));
  ffn_in = register_module("ffn_in", Linear(d, ffn));
  ffn_out = register_module("ffn_out", Linear(ffn, d));
}

TransformerDecoderImpl::TransformerDecoderImpl(const DecoderOptions& options)
    : CaptionDecoderImpl(options) {
  check_options(options);
  const int d = options.hidden;
  options_.embed = d;
  options_.attention = 0;
  embedding = register_module("embedding", torch::nn::Embedding(options.vocab_size, d));
  memory_proj = register_module("memory_proj", torch::nn::Linear(options.encoder_channels, d));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int i = 0; i < options.layers; ++i) layers->push_back(TransformerLayer(d, options.ffn));
  final_norm =
      register_module("final_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  fc = register_module("fc", torch::nn::Linear(d, options.vocab_size));
  // Embeddings of unit scale after the √d factor, like the position codes.
  torch::NoGradGuard no_grad;
  embedding->weight.normal_(0.0, 1.0 / std::sqrt(static_cast<double>(d)));
}

TransformerLayerImpl& TransformerDecoderImpl::layer(std::size_t i) const {
  return *layers->ptr<TransformerLayerImpl>(i);
}

torch::Tensor TransformerDecoderImpl::memory_of(const torch::Tensor& features) {
  const int64_t h = features.size(2), w = features.size(3), d = options_.hidden;
  const auto on = torch::TensorOptions().dtype(torch::kLong).device(features.device());
  const auto rows = sinusoid_positions(torch::arange(h, on), d / 2);  // [h, d/2]
  const auto cols = sinusoid_positions(torch::arange(w, on), d / 2);  // [w, d/2]
  const auto grid =
      torch::cat({rows.unsqueeze(1).expand({h, w, d / 2}), cols.unsqueeze(0).expand({h, w, d / 2})},
                 2)
          .reshape({h * w, d});
  return memory_proj(flatten_features(features)) + grid;
}

torch::Tensor TransformerDecoderImpl::embed(const torch::Tensor& tokens, int64_t first) {
  const auto on = torch::TensorOptions().dtype(torch::kLong).device(tokens.device());
  const auto positions =
      sinusoid_positions(torch::arange(first, first + tokens.size(1), on), options_.hidden);
  return embedding(tokens) * std::sqrt(static_cast<double>(options_.hidden)) + positions;
}

std::pair<torch::Tensor, torch::Tensor> TransformerDecoderImpl::memory_keys_values(
    std::size_t i, const torch::Tensor& memory) {
  const auto kv = layer(i).cross_kv(memory).chunk(2, 2);
  return {split_heads(kv[0], options_.heads), split_heads(kv[1], options_.heads)};
}

torch::Tensor TransformerDecoderImpl::run_layer(std::size_t i, torch::Tensor x,
                                                const torch::Tensor& memory_k,
                                                const torch::Tensor& memory_v,
                                                const torch::Tensor& mask, DecoderState* state,
                                                torch::Tensor* probs) {
  TransformerLayerImpl& l = layer(i);
  const int64_t heads = options_.heads;
  // Decoding (a state) never drops out; training drops each sublayer's output.
  const auto add = [&](const torch::Tensor& residual, const torch::Tensor& out) {
    return residual + (state != nullptr ? out : drop(out));
  };
  const auto qkv = l.self_qkv(l.self_norm(x)).chunk(3, 2);
  auto k = split_heads(qkv[1], heads), v = split_heads(qkv[2], heads);
  if (state != nullptr) {
    k = append_to_cache(state->keys[i], k, state->position);
    v = append_to_cache(state->values[i], v, state->position);
  }
  x = add(x, l.self_out(merge_heads(attend(split_heads(qkv[0], heads), k, v, mask))));
  const auto cross =
      attend(split_heads(l.cross_q(l.cross_norm(x)), heads), memory_k, memory_v, {}, probs);
  x = add(x, l.cross_out(merge_heads(cross)));
  return add(x, l.ffn_out(torch::relu(l.ffn_in(l.ffn_norm(x)))));
}

torch::Tensor TransformerDecoderImpl::forward(const torch::Tensor& features,
                                              const torch::Tensor& tokens) {
  TORCH_CHECK(tokens.dim() == 2 && tokens.size(1) >= 2 && tokens.size(0) == features.size(0),
              "transformer decoder: tokens must be int64 [N, T>=2] with N = features' batch, got ",
              tokens.sizes(), " for features ", features.sizes());
  const int64_t steps = tokens.size(1) - 1;
  const auto memory = memory_of(features);
  auto x = drop(embed(drop_input_tokens(tokens.narrow(1, 0, steps)), 0));  // [N, T-1, d]
  const auto mask = causal_mask(steps, tokens.device());
  for (std::size_t i = 0; i < layers->size(); ++i) {
    const auto [memory_k, memory_v] = memory_keys_values(i, memory);
    x = run_layer(i, x, memory_k, memory_v, mask, nullptr, nullptr);
  }
  return fc(final_norm(x));
}

DecoderState TransformerDecoderImpl::init_state(const torch::Tensor& features) {
  DecoderState s;
  s.features = memory_of(features);
  for (std::size_t i = 0; i < layers->size(); ++i) {
    auto [memory_k, memory_v] = memory_keys_values(i, s.features);
    s.memory_keys.push_back(std::move(memory_k));
    s.memory_values.push_back(std::move(memory_v));
  }
  s.keys.resize(layers->size());
  s.values.resize(layers->size());
  return s;
}

torch::Tensor TransformerDecoderImpl::step(DecoderState& state, const torch::Tensor& tokens,
                                           torch::Tensor* alpha) {
  auto x = embed(tokens.unsqueeze(1), state.position);  // [B, 1, d]
  torch::Tensor probs;  // the last layer's attention over the grid, when asked for
  for (std::size_t i = 0; i < layers->size(); ++i) {
    const bool last = i + 1 == layers->size();
    x = run_layer(i, x, state.memory_keys[i], state.memory_values[i], {}, &state,
                  alpha != nullptr && last ? &probs : nullptr);
  }
  if (probs.defined()) *alpha = probs.mean(1).squeeze(1);  // [B, P], mean of the heads
  ++state.position;
  return torch::log_softmax(fc(final_norm(x)).squeeze(1).to(torch::kFloat), 1);
}

}  // namespace capflow::model
