// What every caption decoder offers the training nodes, decoding and checkpoints: teacher-forced
// logits, a step API for greedy decoding and beam search, and its options. Two decoders
// implement it: the attention LSTM (attention_decoder.h, Show, Attend and Tell) and the
// transformer decoder (transformer_decoder.h), which trains every token of a caption at once.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace capflow::model {

struct PackedStepWeights;  // attention_decoder.cpp

enum class DecoderKind { kAttentionLstm, kTransformer };

// "attention_lstm" | "transformer_decoder": the pipeline node kinds, and what checkpoints record.
const char* decoder_kind_name(DecoderKind kind);
// The inverse; std::invalid_argument naming the accepted values otherwise.
DecoderKind parse_decoder_kind(const std::string& name);

struct DecoderOptions {
  DecoderKind kind = DecoderKind::kAttentionLstm;
  int vocab_size = 0;          // V, including the special tokens (<pad>=0, <sos>, <eos>, <unk>)
  int embed = 256;             // E, token embedding size (the transformer: its width, = hidden)
  int hidden = 512;            // H, LSTM hidden and cell size; the transformer's width d
  int attention = 256;         // A, attention MLP size (LSTM only)
  int encoder_channels = 512;  // C, channels of the encoder's feature map
  double dropout = 0.5;        // LSTM: before the output layer; transformer: after each sublayer
  // Training only: the share of teacher-forced input tokens (not <sos>, not <pad>) replaced by
  // <unk>, so the next token must come from the picture more often than from the text so far.
  double token_dropout = 0;
  int formula_head = 0;  // hidden size of the auxiliary formula head (0: no head; LSTM only)
  int atom_classes = 0;  // classes of the auxiliary atom head (0: no head; LSTM only)
  // The transformer only: layers, attention heads (d / heads per head), feed-forward size.
  int layers = 0, heads = 0, ffn = 0;
};

// Decoding state of B rows (images, or images × beams): what init_state computes once and
// step() advances. The encoder-side tensors are fixed for the whole decode.
struct DecoderState {
  // [B, P, C] flattened encoder features (LSTM), or the transformer's memory [B, P, d].
  torch::Tensor features;
  // The attention LSTM's.
  torch::Tensor enc_proj;     // [B, P, A] encoder projection of the attention
  torch::Tensor token_gates;  // [V, 4H] input-gate contribution of every token's embedding
  torch::Tensor h, c;         // [B, H] LSTM state (float)
  // Decoding on the CPU in fp32, or in bf16 where its products are packed (init_state without
  // autograd; step_weight.h): the step's weights in the compute dtype, packed once for all
  // steps, shared by every copy of the state. Null otherwise.
  std::shared_ptr<const PackedStepWeights> packed;
  // The transformer's, per layer: the cross-attention keys and values of the memory
  // [B, heads, P, d/heads] (fixed), and the self-attention keys and values of the tokens fed so
  // far: the first `position` of [B, heads, capacity, d/heads] (grown by doubling).
  std::vector<torch::Tensor> memory_keys, memory_values, keys, values;
  int64_t position = 0;  // tokens fed so far

  int64_t rows() const { return features.size(0); }
  // Keeps (and repeats or reorders) the rows listed in `rows` (int64 [B']) in every per-row
  // tensor: e.g. expanding N images to N*K beams, or dropping finished rows.
  void select_rows(const torch::Tensor& rows);
  // Reorders only what differs between the beams of one image (the LSTM state, the
  // transformer's self-attention cache): enough while rows of the same image share features.
  void select_beam_rows(const torch::Tensor& rows);
};

class CaptionDecoderImpl : public torch::nn::Module {
 public:
  explicit CaptionDecoderImpl(const DecoderOptions& options) : options_(options) {}

  // Teacher forcing. features [N, C, h, w] (any memory format; P = h*w pixels), tokens int64
  // [N, T] starting with <sos> and padded with <pad>=0 → logits [N, T-1, V] predicting
  // tokens[:, 1:]. Dropout applies in training mode only.
  virtual torch::Tensor forward(const torch::Tensor& features, const torch::Tensor& tokens) = 0;

  // Step API shared by greedy decoding and beam search (no dropout, ever).
  // features [N, C, h, w] → state with N rows.
  virtual DecoderState init_state(const torch::Tensor& features) = 0;
  // Feeds tokens (int64 [B]), advances the state and returns the log-probabilities of the next
  // token, float [B, V]. When `alpha` is given, it receives the step's attention weights over
  // the P = h*w pixels, float [B, P] (rows sum to 1; the transformer's last layer, mean of its
  // heads).
  virtual torch::Tensor step(DecoderState& state, const torch::Tensor& tokens,
                             torch::Tensor* alpha = nullptr) = 0;

  // The auxiliary heads (attention_decoder.h); a decoder without them throws.
  virtual torch::Tensor predict_formula(const torch::Tensor& features);
  virtual torch::Tensor predict_atoms(const torch::Tensor& features);

  const DecoderOptions& options() const { return options_; }
  // Where training draws dropout and token dropout from: a generator of this decoder's own
  // (model replicas training at once, each seeded per batch), or none: LibTorch's default.
  void set_generator(std::optional<at::Generator> generator) { generator_ = std::move(generator); }
  const std::optional<at::Generator>& generator() const { return generator_; }

 protected:
  // [N, C, h, w] → [N, P, C] (a view for channels-last features), in the autocast dtype
  // when autocast is on. Checks the shape against options().encoder_channels.
  torch::Tensor flatten_features(const torch::Tensor& features) const;
  // Training: `inputs` with token_dropout of the real tokens turned into <unk>.
  torch::Tensor drop_input_tokens(const torch::Tensor& inputs) const;
  // Training: dropout at options().dropout, from generator_ when there is one.
  torch::Tensor drop(const torch::Tensor& x) const;

  DecoderOptions options_;
  std::optional<at::Generator> generator_;
};
TORCH_MODULE(CaptionDecoder);

// A new decoder of options.kind (random weights, training mode). ConfigError on bad options.
CaptionDecoder make_decoder(const DecoderOptions& options);

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
