// Recording the attention weights of a decode (see attention_maps.h).
#include "nodes/model/attention_maps.h"

#include "nodes/model/caption_search.h"
#include "nodes/model/captioning.h"
#include "nodes/model/device_batch.h"

namespace capflow::model {

namespace {

// Feeds <sos> and then `sequence` to the decoder, one step per token and one more for <eos>
// when `ended`, and returns α of every step, float [steps, P] on the host.
torch::Tensor replay_attention(CaptionDecoder& decoder, const torch::Tensor& features,
                               const std::vector<int>& sequence, bool ended) {
  auto state = decoder->init_state(features);
  const auto on = torch::TensorOptions().dtype(torch::kLong).device(features.device());
  std::vector<torch::Tensor> alphas;
  int previous = text::Vocabulary::kSos;
  const std::size_t steps = sequence.size() + (ended ? 1 : 0);
  for (std::size_t t = 0; t < steps; ++t) {
    torch::Tensor alpha;
    decoder->step(state, torch::full({1}, previous, on), &alpha);
    alphas.push_back(alpha.squeeze(0).to(torch::kCPU));
    if (t < sequence.size()) previous = sequence[t];
  }
  if (alphas.empty()) return torch::zeros({0, features.size(2) * features.size(3)});
  return torch::stack(alphas);
}

std::vector<std::string> step_tokens(const text::Vocabulary& vocabulary,
                                     const std::vector<int>& sequence, bool ended) {
  std::vector<std::string> out;
  for (const int id : sequence) out.push_back(vocabulary.token(id));
  if (ended) out.emplace_back("<eos>");
  return out;
}

}  // namespace

AttentionTrace trace_attention(const std::string& checkpoint, const std::string& image_path,
                               int beam, int max_length) {
  CaptionModel model = load_caption_model(checkpoint);
  AttentionTrace trace;
  trace.image = load_model_image(model, image_path);
  torch::NoGradGuard no_grad;
  const torch::Device device = module_device(*model.encoder);
  const auto x =
      to_model_input(trace.image.pixels.data(), 1, model.height, model.width, model.channels_last)
          .to(device);
  AutocastGuard autocast(model.precision, device.type());
  const auto features = model.encoder->forward(x);
  trace.grid_height = static_cast<int>(features.size(2));
  trace.grid_width = static_cast<int>(features.size(3));
  const int sos = text::Vocabulary::kSos, eos = text::Vocabulary::kEos;
  const std::vector<int> sequence =
      beam > 1 ? beam_search(*model.decoder, features, beam, max_length, sos, eos)[0]
               : greedy_decode(*model.decoder, features, max_length, sos, eos)[0];
  const bool ended = static_cast<int>(sequence.size()) < max_length;
  const auto alpha = replay_attention(model.decoder, features, sequence, ended).contiguous();
  for (int64_t t = 0; t < alpha.size(0); ++t) {
    const float* row = alpha[t].data_ptr<float>();
    trace.alpha.emplace_back(row, row + alpha.size(1));
  }
  trace.tokens = step_tokens(model.vocabulary, sequence, ended);
  trace.inchi = model.vocabulary.decode(sequence);
  return trace;
}

}  // namespace capflow::model
