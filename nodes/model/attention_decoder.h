// Show, Attend and Tell decoder: an LSTM that at every step attends over the encoder's feature
// map (soft attention with the β gate), trained with teacher forcing. Everything that does not
// depend on the step is computed once per batch: the encoder side of the attention, the
// embeddings of all input tokens and their LSTM input-gate contribution, and the output layer
// (one matmul over all steps). The LSTM cell uses explicit gate matmuls; the three
// projections of the previous hidden state (attention, β gate, hidden-to-gates) are one fused
// matmul per step. Teacher forcing runs the recurrence as one autograd function whose backward
// computes each weight gradient as one matmul over all steps (attention_recurrence.h).
#pragma once

#include <torch/torch.h>

#include "nodes/model/caption_decoder.h"

namespace capflow::model {

// Parameters (all under torch::nn::Module names):
//   embedding     Embedding(V, E)
//   embed_gates   Linear(E → 4H)        input-to-gates for the token (with the LSTM's b_ih)
//   context_gates Linear(C → 4H, no bias) input-to-gates for the attended context
//   hidden_proj   Linear(H → A + C + 4H) the previous hidden state's three projections, rows
//                 [0, A) attention decoder side, [A, A+C) β gate (f_beta), [A+C, A+C+4H) LSTM
//                 hidden-to-gates; gate order i, f, g, o as in torch::nn::LSTM
//   enc_att       Linear(C → A)          attention encoder side
//   full_att      Linear(A → 1, no bias) attention score
//   init_h, init_c Linear(C → H)         initial state from the mean feature
//   fc            Linear(H → V)          output layer
//   formula_head  Sequential(Linear(2C → F), ReLU, Linear(F → kFormulaSlots)), only when
//                 options.formula_head = F > 0: atom counts per element from the pooled
//                 features, an auxiliary loss that reaches the encoder without the recurrence
//   atom_head     Linear(C → K), only when options.atom_classes = K > 0: which element (or none)
//                 is drawn in each cell of the feature grid, a dense auxiliary loss that
//                 teaches the encoder where the atoms are (io/atom_positions.h)
// Attention: e = full_att(tanh(enc_att(f) + W_dec·h)), α = softmax over pixels, context =
// sigmoid(f_beta(h)) ⊙ Σ α f. Under bf16 autocast the matmuls and the attention's tanh run in
// bf16 (the attention scores and their softmax in float, except on the kStepwise path with
// autograd), while the LSTM gates and state (h, c) stay float: 100 steps of recurrence in bf16
// would accumulate its 8-bit-mantissa rounding.
class AttentionDecoderImpl : public CaptionDecoderImpl {
 public:
  explicit AttentionDecoderImpl(const DecoderOptions& options);

  // How teacher forcing runs the recurrence: kFused is one autograd function with a
  // hand-written backward (attention_recurrence.h), the default; kStepwise records every
  // step's operations with autograd, the reference kFused is tested against.
  enum class Recurrence { kFused, kStepwise };

  // Teacher forcing (caption_decoder.h), the recurrence run the given way.
  torch::Tensor forward(const torch::Tensor& features, const torch::Tensor& tokens,
                        Recurrence recurrence);
  torch::Tensor forward(const torch::Tensor& features, const torch::Tensor& tokens) override {
    return forward(features, tokens, Recurrence::kFused);
  }

  // Step API (caption_decoder.h): h and c start from the mean feature.
  DecoderState init_state(const torch::Tensor& features) override;
  torch::Tensor step(DecoderState& state, const torch::Tensor& tokens,
                     torch::Tensor* alpha = nullptr) override;

  // The formula head's prediction, log(1 + count) per element slot (text/inchi_formula.h),
  // float [N, kFormulaSlots], from features [N, C, h, w] pooled by mean and max over the pixels.
  // Requires options().formula_head > 0.
  torch::Tensor predict_formula(const torch::Tensor& features) override;
  // The atom head's logits per grid cell, float [N, P, K] (P = h*w in row-major order), from
  // features [N, C, h, w]. Requires options().atom_classes > 0.
  torch::Tensor predict_atoms(const torch::Tensor& features) override;

  torch::nn::Embedding embedding{nullptr};
  torch::nn::Linear embed_gates{nullptr}, context_gates{nullptr}, hidden_proj{nullptr};
  torch::nn::Linear enc_att{nullptr}, full_att{nullptr};
  torch::nn::Linear init_h{nullptr}, init_c{nullptr}, fc{nullptr};
  torch::nn::Sequential formula_head{nullptr};
  torch::nn::Linear atom_head{nullptr};

 private:
  // One LSTM step with attention: in_gates [B, 4H] is the token's input-gate contribution.
  // alpha_out, when given, receives the attention weights [B, P].
  void cell(const torch::Tensor& feats, const torch::Tensor& enc_proj,
            const torch::Tensor& in_gates, torch::Tensor& h, torch::Tensor& c,
            torch::Tensor* alpha_out = nullptr);
  // The same step without autograd, with the state's packed weights and the fused LSTM cell.
  void packed_cell(DecoderState& state, const torch::Tensor& in_gates,
                   torch::Tensor* alpha_out = nullptr);
};
TORCH_MODULE(AttentionDecoder);

}  // namespace capflow::model
