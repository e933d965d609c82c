// What the caption decoders share (see caption_decoder.h): the decoding state's row selection,
// the base class's dropout and feature helpers, the factory, the losses.
#include "nodes/model/caption_decoder.h"

#include <ATen/CPUGeneratorImpl.h>

#include <stdexcept>
#include <string>

#include "graph/errors.h"
#include "nodes/model/attention_decoder.h"
#include "nodes/model/dropout_mask.h"
#include "nodes/model/precision.h"
#include "nodes/model/transformer_decoder.h"
#include "nodes/text/vocabulary.h"

namespace capflow::model {
namespace {

void select_each(std::vector<torch::Tensor>& tensors, const torch::Tensor& rows) {
  for (auto& t : tensors)
    if (t.defined()) t = t.index_select(0, rows);
}

void select_if_defined(torch::Tensor& t, const torch::Tensor& rows) {
  if (t.defined()) t = t.index_select(0, rows);
}

}  // namespace

const char* decoder_kind_name(DecoderKind kind) {
  return kind == DecoderKind::kTransformer ? "transformer_decoder" : "attention_lstm";
}

DecoderKind parse_decoder_kind(const std::string& name) {
  if (name == "attention_lstm") return DecoderKind::kAttentionLstm;
  if (name == "transformer_decoder") return DecoderKind::kTransformer;
  throw std::invalid_argument("decoder must be attention_lstm or transformer_decoder, got '" +
                              name + "'");
}

void DecoderState::select_rows(const torch::Tensor& rows) {
  features = features.index_select(0, rows);
  select_if_defined(enc_proj, rows);
  select_each(memory_keys, rows);
  select_each(memory_values, rows);
  select_beam_rows(rows);
}

void DecoderState::select_beam_rows(const torch::Tensor& rows) {
  select_if_defined(h, rows);
  select_if_defined(c, rows);
  select_each(keys, rows);
  select_each(values, rows);
}

torch::Tensor CaptionDecoderImpl::predict_formula(const torch::Tensor&) {
  throw ConfigError(std::string(decoder_kind_name(options_.kind)) + ": no formula head");
}

torch::Tensor CaptionDecoderImpl::predict_atoms(const torch::Tensor&) {
  throw ConfigError(std::string(decoder_kind_name(options_.kind)) + ": no atom head");
}

torch::Tensor CaptionDecoderImpl::flatten_features(const torch::Tensor& features) const {
  TORCH_CHECK(features.dim() == 4 && features.size(1) == options_.encoder_channels,
              decoder_kind_name(options_.kind), ": features must be [N, ",
              options_.encoder_channels, ", h, w], got ", features.sizes());
  const auto n = features.size(0);
  auto feats = features.permute({0, 2, 3, 1}).reshape({n, -1, features.size(1)});
  // Under autocast, cast once here rather than in every step's bmm. Without it the decoder
  // computes in float, whatever the encoder gave (a bf16 encoder under an fp32 decoder).
  if (feats.is_floating_point()) {
    const auto dtype = active_autocast_dtype(feats);
    feats = feats.to(dtype ? *dtype : at::kFloat);
  }
  return feats;
}

torch::Tensor CaptionDecoderImpl::drop_input_tokens(const torch::Tensor& inputs) const {
  if (!is_training() || options_.token_dropout <= 0) return inputs;
  // Real tokens only (ids above <unk>): <sos> starts every row, <pad> stays <pad>.
  c10::optional<at::Generator> generator;  // none: LibTorch's default
  if (generator_) generator = *generator_;
  const auto drop =
      torch::rand(inputs.sizes(), generator, torch::TensorOptions().device(inputs.device()))
          .lt(options_.token_dropout)
          .logical_and(inputs.gt(text::Vocabulary::kUnk));
  return torch::where(drop, torch::full_like(inputs, text::Vocabulary::kUnk), inputs);
}

torch::Tensor CaptionDecoderImpl::drop(const torch::Tensor& x) const {
  if (!is_training() || options_.dropout <= 0) return x;
  const double keep = 1.0 - options_.dropout;
  auto mask = torch::empty(x.sizes(), x.options().dtype(torch::kFloat));
  if (!x.device().is_cpu()) {
    if (!generator_) return torch::dropout(x, options_.dropout, true);
    mask.bernoulli_(keep, *generator_).div_(keep);
  } else {
    // One seed from the replica's generator (or LibTorch's default), the mask from it.
    const auto& generator = generator_ ? *generator_ : at::detail::getDefaultCPUGenerator();
    fill_dropout_mask(mask, keep, draw_seed(generator));
  }
  return x * mask.to(x.scalar_type());
}

CaptionDecoder make_decoder(const DecoderOptions& options) {
  std::shared_ptr<CaptionDecoderImpl> impl;
  if (options.kind == DecoderKind::kTransformer) {
    impl = std::make_shared<TransformerDecoderImpl>(options);
  } else {
    impl = std::make_shared<AttentionDecoderImpl>(options);
  }
  return CaptionDecoder(std::move(impl));
}

torch::Tensor atom_loss(const torch::Tensor& logits, const torch::Tensor& cells) {
  const auto K = logits.size(-1);
  return torch::nn::functional::cross_entropy(logits.reshape({-1, K}).to(torch::kFloat),
                                              cells.reshape({-1}));
}

torch::Tensor formula_loss(const torch::Tensor& predicted, const torch::Tensor& counts) {
  return torch::mse_loss(predicted.to(torch::kFloat), torch::log1p(counts.to(torch::kFloat)));
}

torch::Tensor caption_loss(const torch::Tensor& logits, const torch::Tensor& tokens,
                           double label_smoothing) {
  const auto V = logits.size(-1);
  const auto targets = tokens.narrow(1, 1, tokens.size(1) - 1).reshape({-1});
  return torch::nn::functional::cross_entropy(
      logits.reshape({-1, V}).to(torch::kFloat), targets,
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(0).label_smoothing(
          label_smoothing));
}

}  // namespace capflow::model
