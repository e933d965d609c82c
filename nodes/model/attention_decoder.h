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

#include <memory>
#include <optional>

namespace capflow::model {

struct PackedStepWeights;  // attention_decoder.cpp

struct DecoderOptions {
  int vocab_size = 0;          // V, including the special tokens (<pad>=0, <sos>, <eos>, <unk>)
  int embed = 256;             // E, token embedding size
  int hidden = 512;            // H, LSTM hidden and cell size
  int attention = 256;         // A, attention MLP size
  int encoder_channels = 512;  // C, channels of the encoder's feature map
  double dropout = 0.5;        // dropout on the hidden state before the output layer (training)
  // Training only: the share of teacher-forced input tokens (not <sos>, not <pad>) replaced by
  // <unk>, so the next token must come from the picture more often than from the text so far.
  double token_dropout = 0;
  int formula_head = 0;  // hidden size of the auxiliary formula head (0: no head)
  int atom_classes = 0;  // classes of the auxiliary atom head (0: no head)
};

// Decoding state of B rows (images, or images × beams): what init_state computes once and
// step() advances. The encoder-side tensors are fixed for the whole decode.
struct DecoderState {
  torch::Tensor features;     // [B, P, C] flattened encoder features
  torch::Tensor enc_proj;     // [B, P, A] encoder projection of the attention
  torch::Tensor token_gates;  // [V, 4H] input-gate contribution of every token's embedding
  torch::Tensor h, c;         // [B, H] LSTM state (float)
  // Decoding in fp32 on the CPU (init_state without autograd): the step's weights packed once
  // for all steps (step_weight.h), shared by every copy of the state. Null otherwise.
  std::shared_ptr<const PackedStepWeights> packed;

  int64_t rows() const { return h.size(0); }
  // Keeps (and repeats or reorders) the rows listed in `rows` (int64 [B']) in every per-row
  // tensor: e.g. expanding N images to N*K beams, or reordering beams.
  void select_rows(const torch::Tensor& rows);
  // Reorders only h and c: enough while rows of the same image share features.
  void select_lstm_rows(const torch::Tensor& rows);
};

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
class AttentionDecoderImpl : public torch::nn::Module {
 public:
  explicit AttentionDecoderImpl(const DecoderOptions& options);

  // How teacher forcing runs the recurrence: kFused is one autograd function with a
  // hand-written backward (attention_recurrence.h), the default; kStepwise records every
  // step's operations with autograd, the reference kFused is tested against.
  enum class Recurrence { kFused, kStepwise };

  // Teacher forcing. features [N, C, h, w] (any memory format; P = h*w pixels), tokens int64
  // [N, T] starting with <sos> and padded with <pad>=0 → logits [N, T-1, V] predicting
  // tokens[:, 1:]. Dropout applies in training mode only.
  torch::Tensor forward(const torch::Tensor& features, const torch::Tensor& tokens,
                        Recurrence recurrence = Recurrence::kFused);

  // Step API shared by greedy decoding and beam search (no dropout, ever).
  // features [N, C, h, w] → state with N rows, h and c from the mean feature.
  DecoderState init_state(const torch::Tensor& features);
  // Feeds tokens (int64 [B]) to the LSTM, advances state.h/state.c, and returns the
  // log-probabilities of the next token, float [B, V]. When `alpha` is given, it receives the
  // step's attention weights over the P = h*w pixels, float [B, P] (rows sum to 1).
  torch::Tensor step(DecoderState& state, const torch::Tensor& tokens,
                     torch::Tensor* alpha = nullptr);

  // The formula head's prediction, log(1 + count) per element slot (text/inchi_formula.h),
  // float [N, kFormulaSlots], from features [N, C, h, w] pooled by mean and max over the pixels.
  // Requires options().formula_head > 0.
  torch::Tensor predict_formula(const torch::Tensor& features);
  // The atom head's logits per grid cell, float [N, P, K] (P = h*w in row-major order), from
  // features [N, C, h, w]. Requires options().atom_classes > 0.
  torch::Tensor predict_atoms(const torch::Tensor& features);

  const DecoderOptions& options() const { return options_; }
  // Where training draws dropout and token dropout from: a generator of this decoder's own
  // (model replicas training at once, each seeded per batch), or none: LibTorch's default.
  void set_generator(std::optional<at::Generator> generator) { generator_ = std::move(generator); }
  const std::optional<at::Generator>& generator() const { return generator_; }

  torch::nn::Embedding embedding{nullptr};
  torch::nn::Linear embed_gates{nullptr}, context_gates{nullptr}, hidden_proj{nullptr};
  torch::nn::Linear enc_att{nullptr}, full_att{nullptr};
  torch::nn::Linear init_h{nullptr}, init_c{nullptr}, fc{nullptr};
  torch::nn::Sequential formula_head{nullptr};
  torch::nn::Linear atom_head{nullptr};

 private:
  // Training: dropout of the output layer's input, from generator_ when there is one.
  torch::Tensor drop_hidden(const torch::Tensor& all_h) const;
  // Training: `inputs` with token_dropout of the real tokens turned into <unk>.
  torch::Tensor drop_input_tokens(const torch::Tensor& inputs) const;
  // [N, C, h, w] → [N, P, C] (a view for channels-last features), in the autocast dtype
  // when autocast is on.
  torch::Tensor flatten_features(const torch::Tensor& features) const;
  // One LSTM step with attention: in_gates [B, 4H] is the token's input-gate contribution.
  // alpha_out, when given, receives the attention weights [B, P].
  void cell(const torch::Tensor& feats, const torch::Tensor& enc_proj,
            const torch::Tensor& in_gates, torch::Tensor& h, torch::Tensor& c,
            torch::Tensor* alpha_out = nullptr);
  // The same step without autograd, with the state's packed weights and the fused LSTM cell.
  void packed_cell(DecoderState& state, const torch::Tensor& in_gates,
                   torch::Tensor* alpha_out = nullptr);

  DecoderOptions options_;
  std::optional<at::Generator> generator_;
};
TORCH_MODULE(AttentionDecoder);

// Mean cross entropy of logits [N, T-1, V] against tokens[:, 1:] (tokens int64 [N, T]),
// ignoring <pad>=0 targets. Computed in float whatever the logits' dtype. label_smoothing ε:
// against targets that put 1 - ε on the token and ε spread evenly over the V classes
// ((1 - ε) · CE + ε · mean over classes of -log p).
torch::Tensor caption_loss(const torch::Tensor& logits, const torch::Tensor& tokens,
                           double label_smoothing = 0);

// Mean squared error between predict_formula's output [N, S] and log(1 + counts), counts float
// [N, S] (text::formula_counts per row).
torch::Tensor formula_loss(const torch::Tensor& predicted, const torch::Tensor& counts);

// Mean cross entropy of predict_atoms's logits [N, P, K] against the cell classes, int64 [N, P].
torch::Tensor atom_loss(const torch::Tensor& logits, const torch::Tensor& cells);

}  // namespace capflow::model
