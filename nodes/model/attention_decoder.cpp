// Show, Attend and Tell attention-LSTM decoder (see attention_decoder.h).
#include "nodes/model/attention_decoder.h"

#include <string>
#include <vector>

#include "graph/errors.h"
#include "nodes/model/attention_context.h"
#include "nodes/model/attention_kernels.h"
#include "nodes/model/attention_recurrence.h"
#include "nodes/model/lstm_cell_kernels.h"
#include "nodes/model/step_weight.h"
#include "nodes/text/inchi_formula.h"

namespace capflow::model {

// The weights of one decoding step on the CPU, in the compute dtype, the two products' weights
// packed (DecoderState::packed).
struct PackedStepWeights {
  StepWeight hidden;          // hidden_proj: [H] → [A + C + 4H]
  torch::Tensor hidden_bias;  // its bias
  StepWeight context;         // context_gates: [C] → [4H]
  torch::Tensor score;        // full_att's weight [1, A]
};

AttentionDecoderImpl::AttentionDecoderImpl(const DecoderOptions& options)
    : CaptionDecoderImpl(options) {
  const auto& o = options;
  if (o.vocab_size < 4 || o.embed < 1 || o.hidden < 1 || o.attention < 1 ||
      o.encoder_channels < 1 || o.dropout < 0.0 || o.dropout >= 1.0 || o.formula_head < 0 ||
      o.atom_classes < 0) {
    throw ConfigError(
        "attention decoder: need vocab_size >= 4, positive sizes and dropout in "
        "[0, 1); got vocab_size " +
        std::to_string(o.vocab_size) + ", embed " + std::to_string(o.embed) + ", hidden " +
        std::to_string(o.hidden) + ", attention " + std::to_string(o.attention) +
        ", encoder_channels " + std::to_string(o.encoder_channels) + ", dropout " +
        std::to_string(o.dropout));
  }
  const int H = o.hidden, A = o.attention, C = o.encoder_channels;
  using torch::nn::Linear;
  using torch::nn::LinearOptions;
  embedding = register_module("embedding", torch::nn::Embedding(o.vocab_size, o.embed));
  embed_gates = register_module("embed_gates", Linear(o.embed, 4 * H));
  context_gates = register_module("context_gates", Linear(LinearOptions(C, 4 * H).bias(false)));
  hidden_proj = register_module("hidden_proj", Linear(H, A + C + 4 * H));
  enc_att = register_module("enc_att", Linear(C, A));
  full_att = register_module("full_att", Linear(LinearOptions(A, 1).bias(false)));
  init_h = register_module("init_h", Linear(C, H));
  init_c = register_module("init_c", Linear(C, H));
  fc = register_module("fc", Linear(H, o.vocab_size));
  if (o.formula_head > 0) {
    formula_head = register_module(
        "formula_head", torch::nn::Sequential(Linear(2 * C, o.formula_head), torch::nn::ReLU(),
                                              Linear(o.formula_head, text::kFormulaSlots)));
  }
  if (o.atom_classes > 0) atom_head = register_module("atom_head", Linear(C, o.atom_classes));
  // As in Show, Attend and Tell implementations: small uniform embedding and output layer.
  torch::NoGradGuard no_grad;
  embedding->weight.uniform_(-0.1, 0.1);
  fc->weight.uniform_(-0.1, 0.1);
  fc->bias.zero_();
}

void AttentionDecoderImpl::cell(const torch::Tensor& feats, const torch::Tensor& enc_proj,
                                const torch::Tensor& in_gates, torch::Tensor& h, torch::Tensor& c,
                                torch::Tensor* alpha_out) {
  const int64_t A = options_.attention, C = options_.encoder_channels, H = options_.hidden;
  // One matmul for everything that reads the previous hidden state. split (not narrow or
  // select) so that backward concatenates once instead of zero-filling per slice.
  const auto hp = hidden_proj(h).split_with_sizes({A, C, 4 * H}, 1);
  const auto& dec_att = hp[0];  // stays in the compute dtype, like enc_proj
  const auto beta = torch::sigmoid(hp[1]);

  // Soft attention over the P pixels, in the compute dtype (bf16 under autocast). Without
  // autograd (decoding), one fused pass computes the scores.
  torch::Tensor scores;
  if (torch::GradMode::is_enabled()) {
    scores = full_att(torch::tanh(enc_proj + dec_att.unsqueeze(1))).squeeze(2);
  } else {
    auto u = torch::empty_like(enc_proj);
    scores =
        torch::empty({enc_proj.size(0), enc_proj.size(1)}, enc_proj.options().dtype(torch::kFloat));
    attention_scores(enc_proj, dec_att, full_att->weight.to(enc_proj.scalar_type()), u, scores);
  }
  const auto alpha = torch::softmax(scores, 1);  // [B, P]
  if (alpha_out) *alpha_out = alpha.to(torch::kFloat);
  const auto context =
      torch::bmm(alpha.unsqueeze(1).to(feats.scalar_type()), feats).squeeze(1);  // [B, C]

  // The LSTM gates and state in float.
  const auto gates = in_gates + hp[2].to(torch::kFloat) +
                     context_gates(beta * context.to(beta.scalar_type())).to(torch::kFloat);
  const auto chunks = gates.chunk(4, 1);
  const auto i = torch::sigmoid(chunks[0]);
  const auto f = torch::sigmoid(chunks[1]);
  const auto g = torch::tanh(chunks[2]);
  const auto o = torch::sigmoid(chunks[3]);
  c = f * c + i * g;
  h = o * torch::tanh(c);
}

torch::Tensor AttentionDecoderImpl::forward(const torch::Tensor& features,
                                            const torch::Tensor& tokens, Recurrence recurrence) {
  TORCH_CHECK(tokens.dim() == 2 && tokens.size(1) >= 2 && tokens.size(0) == features.size(0),
              "attention decoder: tokens must be int64 [N, T>=2] with N = features' batch, got ",
              tokens.sizes(), " for features ", features.sizes());
  const int64_t n = tokens.size(0);
  // Rows by caption length, longest first (stable): at step t only the rows whose caption still
  // has a token to predict are computed, a shrinking prefix, as in the reference Show, Attend
  // and Tell code. The others' outputs are zero hidden states, at <pad> targets the loss
  // ignores. The logits come back in the callers' row order.
  const auto lengths = tokens.ne(0).sum(1);  // <sos> ... <eos>
  const auto order = std::get<1>(lengths.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
  // Read on the host (a no-op on the CPU; one small copy from a GPU).
  const auto sorted_lengths =
      lengths.index_select(0, order).to(torch::kCPU, torch::kLong).contiguous();
  const int64_t* len = sorted_lengths.data_ptr<int64_t>();
  const auto toks = tokens.index_select(0, order);
  const auto all_feats = flatten_features(features).index_select(0, order);  // [N, P, C]
  const auto all_proj = enc_att(all_feats);                                  // [N, P, A], once
  const auto mean = all_feats.mean(1);
  auto h = init_h(mean).to(torch::kFloat);
  auto c = init_c(mean).to(torch::kFloat);

  const int64_t steps = tokens.size(1) - 1;
  // Input-gate contribution of every input token, one matmul for all steps.
  const auto in_gates = embed_gates(embedding(drop_input_tokens(toks.narrow(1, 0, steps)).t()))
                            .to(torch::kFloat);  // [T-1, N, 4H]
  std::vector<int64_t> active(steps);
  for (int64_t t = 0, rows = n; t < steps; ++t) {
    while (rows > 0 && len[rows - 1] - 1 <= t) --rows;  // row done: no target at t+1
    active[t] = rows;
  }
  torch::Tensor all_h;  // [N, T-1, H]
  if (recurrence == Recurrence::kFused) {
    all_h = attention_lstm_recurrence({all_feats, all_proj, in_gates, h, c, hidden_proj->weight,
                                       hidden_proj->bias, context_gates->weight, full_att->weight,
                                       active})
                .transpose(0, 1);
  } else {
    // Step by step under autograd (unbind: one stack in backward, where per-step select would
    // zero-fill the whole tensor every step).
    const auto step_gates = in_gates.unbind(0);  // T-1 × [N, 4H]
    std::vector<torch::Tensor> hs;
    hs.reserve(steps);
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t rows = active[t];
      if (rows == 0) {
        hs.push_back(torch::zeros({n, options_.hidden}, h.options()));
        continue;
      }
      if (rows < h.size(0)) {
        h = h.narrow(0, 0, rows);
        c = c.narrow(0, 0, rows);
      }
      const auto gates = rows == n ? step_gates[t] : step_gates[t].narrow(0, 0, rows);
      cell(all_feats.narrow(0, 0, rows), all_proj.narrow(0, 0, rows), gates, h, c);
      hs.push_back(rows == n ? h
                             : torch::cat({h, torch::zeros({n - rows, h.size(1)}, h.options())}));
    }
    all_h = torch::stack(hs, 1);
  }
  // Output layer once over all steps.
  const auto logits = fc(drop(all_h));
  return logits.index_select(0, order.argsort());
}

DecoderState AttentionDecoderImpl::init_state(const torch::Tensor& features) {
  DecoderState s;
  s.features = flatten_features(features);
  s.enc_proj = enc_att(s.features);
  const auto mean = s.features.mean(1);
  s.h = init_h(mean).to(torch::kFloat);
  s.c = init_c(mean).to(torch::kFloat);
  s.token_gates = embed_gates(embedding->weight).to(torch::kFloat);  // [V, 4H]
  const auto dt = s.features.scalar_type();
  if (!torch::GradMode::is_enabled() && s.features.device().is_cpu() &&
      (dt == torch::kFloat || (dt == torch::kBFloat16 && bf16_step_products_packed()))) {
    s.packed = std::make_shared<const PackedStepWeights>(PackedStepWeights{
        StepWeight(hidden_proj->weight.to(dt), /*transposed=*/true), hidden_proj->bias.to(dt),
        StepWeight(context_gates->weight.to(dt), /*transposed=*/true), full_att->weight.to(dt)});
  }
  return s;
}

void AttentionDecoderImpl::packed_cell(DecoderState& state, const torch::Tensor& in_gates,
                                       torch::Tensor* alpha_out) {
  const int64_t A = options_.attention, C = options_.encoder_channels, H = options_.hidden;
  const auto& w = *state.packed;
  const auto hp = w.hidden.times(state.h.to(state.features.scalar_type()), w.hidden_bias);
  const int64_t B = state.enc_proj.size(0), P = state.enc_proj.size(1);
  auto u = torch::empty_like(state.enc_proj);
  auto scores = torch::empty({B, P}, hp.options().dtype(torch::kFloat));
  attention_scores(state.enc_proj, hp.narrow(1, 0, A), w.score, u, scores);
  const auto probs = torch::softmax(scores, 1);  // [B, P] float
  if (alpha_out) *alpha_out = probs;
  auto alpha = torch::empty({B, P}, hp.options());
  auto beta = torch::empty({B, C}, hp.options()), context = torch::empty_like(beta),
       gated = torch::empty_like(beta);
  attention_context(probs, state.features, hp.narrow(1, A, C), alpha, beta, context, gated);
  auto gates = in_gates + hp.narrow(1, A + C, 4 * H);  // float
  w.context.into(gated, gates, /*accumulate=*/true);
  auto c = torch::empty_like(state.c), h = torch::empty_like(state.h);
  lstm_cell_forward(gates, state.c, c, h);
  state.c = c;
  state.h = h;
}

torch::Tensor AttentionDecoderImpl::step(DecoderState& state, const torch::Tensor& tokens,
                                         torch::Tensor* alpha) {
  const auto in_gates = state.token_gates.index_select(0, tokens);
  if (state.packed && !torch::GradMode::is_enabled()) {
    packed_cell(state, in_gates, alpha);
  } else {
    cell(state.features, state.enc_proj, in_gates, state.h, state.c, alpha);
  }
  return torch::log_softmax(fc(state.h).to(torch::kFloat), 1);
}

torch::Tensor AttentionDecoderImpl::predict_formula(const torch::Tensor& features) {
  TORCH_CHECK(!formula_head.is_empty(), "attention decoder: no formula head (formula_head 0)");
  const auto feats = flatten_features(features);  // [N, P, C]
  const auto pooled = torch::cat({feats.mean(1), std::get<0>(feats.max(1))}, 1);
  return formula_head->forward(pooled).to(torch::kFloat);
}

torch::Tensor AttentionDecoderImpl::predict_atoms(const torch::Tensor& features) {
  TORCH_CHECK(!atom_head.is_empty(), "attention decoder: no atom head (atom_classes 0)");
  return atom_head->forward(flatten_features(features)).to(torch::kFloat);
}

}  // namespace capflow::model
