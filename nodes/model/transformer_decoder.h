// A transformer decoder for captions (Vaswani et al. 2017, pre-norm layers as in PyTorch's
// TransformerDecoderLayer(norm_first=True) with ReLU), the decoder most top BMS solutions used
// (../shared/QUALITY-NOTES.md). Teacher forcing computes every token of every caption at once
// (causal self-attention), where the attention LSTM walks the tokens one step at a time; so a
// training step is a few large matrix products instead of ~100 small sequential ones.
//
//   memory  = memory_proj(features as [N, P, C]) + 2-D sinusoidal position (d/2 for the row,
//             d/2 for the column of each grid cell)
//   x       = embedding(tokens) · √d + 1-D sinusoidal position
//   layer   x += SelfAttn(LN(x), causal);  x += CrossAttn(LN(x), memory);
//           x += W2 · ReLU(W1 · LN(x))     (dropout after each sublayer in training)
//   logits  = fc(LN(x))
// Attention probabilities are computed in float (softmax of float scores) under bf16 autocast;
// the residual stream stays float. Decoding keeps every layer's keys and values of the tokens
// fed so far and of the memory (DecoderState), so a step costs one token's work.
#pragma once

#include <torch/torch.h>

#include <utility>

#include "nodes/model/caption_decoder.h"

namespace capflow::model {

// Parameters (torch::nn::Module names) of one layer of width d with F feed-forward units.
class TransformerLayerImpl : public torch::nn::Module {
 public:
  TransformerLayerImpl(int d, int ffn);

  torch::nn::LayerNorm self_norm{nullptr}, cross_norm{nullptr}, ffn_norm{nullptr};
  torch::nn::Linear self_qkv{nullptr};  // d → 3d: queries, keys, values of the tokens
  torch::nn::Linear self_out{nullptr};  // d → d
  torch::nn::Linear cross_q{nullptr};   // d → d: queries of the tokens
  torch::nn::Linear cross_kv{nullptr};  // d → 2d: keys and values of the memory
  torch::nn::Linear cross_out{nullptr};
  torch::nn::Linear ffn_in{nullptr}, ffn_out{nullptr};  // d → F → d
};
TORCH_MODULE(TransformerLayer);

// Parameters: embedding Embedding(V, d), memory_proj Linear(C → d), layers.<i> (above),
// final_norm LayerNorm(d), fc Linear(d → V). Options: hidden = d, layers, heads (d divisible
// by heads and by 4), ffn, dropout, token_dropout; no formula or atom head (ConfigError).
class TransformerDecoderImpl : public CaptionDecoderImpl {
 public:
  explicit TransformerDecoderImpl(const DecoderOptions& options);

  torch::Tensor forward(const torch::Tensor& features, const torch::Tensor& tokens) override;
  DecoderState init_state(const torch::Tensor& features) override;
  torch::Tensor step(DecoderState& state, const torch::Tensor& tokens,
                     torch::Tensor* alpha = nullptr) override;

  torch::nn::Embedding embedding{nullptr};
  torch::nn::Linear memory_proj{nullptr};
  torch::nn::ModuleList layers{nullptr};
  torch::nn::LayerNorm final_norm{nullptr};
  torch::nn::Linear fc{nullptr};

 private:
  // features [N, C, h, w] → memory [N, P, d] with the grid positions added.
  torch::Tensor memory_of(const torch::Tensor& features);
  // Token embeddings [N, T, d] of tokens [N, T] at positions first, first + 1, ...
  torch::Tensor embed(const torch::Tensor& tokens, int64_t first);
  TransformerLayerImpl& layer(std::size_t i) const;
  // Layer i's keys and values of the memory [N, P, d], each [N, heads, P, d/heads].
  std::pair<torch::Tensor, torch::Tensor> memory_keys_values(std::size_t i,
                                                             const torch::Tensor& memory);
  // Layer i on x [B, T, d], attending to the memory's keys and values. Training (no state): the
  // tokens attend to each other under `mask`, with dropout after each sublayer. Decoding: the
  // tokens' keys and values are appended to the state's cache and attended to whole, without
  // dropout. `probs`, when given, receives the attention over the memory [B, heads, T, P].
  torch::Tensor run_layer(std::size_t i, torch::Tensor x, const torch::Tensor& memory_k,
                          const torch::Tensor& memory_v, const torch::Tensor& mask,
                          DecoderState* state, torch::Tensor* probs);
};
TORCH_MODULE(TransformerDecoder);

// Sinusoidal position codes (Vaswani et al.): [positions.size(0), dim] float, dim even;
// column 2i is sin(p / 10000^(2i/dim)), column 2i+1 its cosine.
torch::Tensor sinusoid_positions(const torch::Tensor& positions, int64_t dim);

}  // namespace capflow::model
