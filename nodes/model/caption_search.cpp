// Greedy decoding and beam search over the attention decoder's step API.
#include "nodes/model/caption_search.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

namespace capflow::model {

std::vector<std::vector<int>> greedy_decode(CaptionDecoderImpl& decoder,
                                            const torch::Tensor& features, int max_length, int sos,
                                            int eos) {
  torch::NoGradGuard no_grad;
  const int64_t n = features.size(0);
  std::vector<std::vector<int>> out(n);
  if (n == 0 || max_length <= 0) return out;
  auto state = decoder.init_state(features);
  const auto on_device = torch::TensorOptions().dtype(torch::kLong).device(features.device());
  auto tokens = torch::full({n}, sos, on_device);
  // rows[j]: the image of the j-th row still decoding; finished rows leave the batch, so the
  // later steps compute only the captions still open.
  std::vector<int64_t> rows(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) rows[static_cast<std::size_t>(i)] = i;
  for (int t = 0; t < max_length && !rows.empty(); ++t) {
    const auto log_probs = decoder.step(state, tokens);
    tokens = log_probs.argmax(1);
    const auto tokens_host = tokens.to(torch::kCPU);  // a no-op on the CPU
    const auto* next = tokens_host.data_ptr<int64_t>();
    std::vector<int64_t> keep;
    keep.reserve(rows.size());
    for (std::size_t j = 0; j < rows.size(); ++j) {
      if (next[j] == eos) continue;
      out[static_cast<std::size_t>(rows[j])].push_back(static_cast<int>(next[j]));
      keep.push_back(static_cast<int64_t>(j));
    }
    if (keep.size() == rows.size()) continue;
    std::vector<int64_t> still;
    still.reserve(keep.size());
    for (const int64_t j : keep) still.push_back(rows[static_cast<std::size_t>(j)]);
    rows = std::move(still);
    if (rows.empty()) break;
    const auto index = torch::tensor(keep, torch::kLong).to(features.device());
    state.select_rows(index);
    tokens = tokens.index_select(0, index);
  }
  return out;
}

namespace {

// Follows the back pointers of every final beam: the K hypotheses of each image, best first.
std::vector<std::vector<Hypothesis>> backtrack(const std::vector<torch::Tensor>& parents,
                                               const std::vector<torch::Tensor>& chosen,
                                               const torch::Tensor& scores, int eos) {
  const auto scores_t = scores.to(torch::kCPU);  // read on the host
  const auto scores_a = scores_t.accessor<double, 2>();
  const auto parent_t = torch::stack(parents).to(torch::kCPU);  // [steps, N, K]
  const auto chosen_t = torch::stack(chosen).to(torch::kCPU);
  const auto parent_a = parent_t.accessor<int64_t, 3>();
  const auto chosen_a = chosen_t.accessor<int64_t, 3>();
  const int64_t steps = parent_t.size(0), n = scores_t.size(0), K = scores_t.size(1);
  std::vector<std::vector<Hypothesis>> out(static_cast<std::size_t>(n));
  std::vector<int> seq(static_cast<std::size_t>(steps));
  for (int64_t i = 0; i < n; ++i) {
    auto& hyps = out[static_cast<std::size_t>(i)];
    for (int64_t k = 0; k < K; ++k) {
      int64_t beam = k;
      for (int64_t t = steps - 1; t >= 0; --t) {
        seq[static_cast<std::size_t>(t)] = static_cast<int>(chosen_a[t][i][beam]);
        beam = parent_a[t][i][beam];
      }
      Hypothesis h;
      h.score = scores_a[i][k];
      for (const int token : seq) {
        if (token == eos) break;
        h.tokens.push_back(token);
      }
      hyps.push_back(std::move(h));
    }
    std::stable_sort(hyps.begin(), hyps.end(),
                     [](const Hypothesis& a, const Hypothesis& b) { return a.score > b.score; });
  }
  return out;
}

}  // namespace

std::vector<std::vector<Hypothesis>> beam_search_ranked(CaptionDecoderImpl& decoder,
                                                        const torch::Tensor& features,
                                                        int beam_width, int max_length, int sos,
                                                        int eos) {
  const int64_t V = decoder.options().vocab_size;
  if (beam_width < 1 || beam_width > V) {
    throw std::invalid_argument("beam_search: beam_width must be in [1, " + std::to_string(V) +
                                "], got " + std::to_string(beam_width));
  }
  torch::NoGradGuard no_grad;
  const int64_t n = features.size(0), K = beam_width;
  if (n == 0 || max_length <= 0) {
    return std::vector<std::vector<Hypothesis>>(static_cast<std::size_t>(n),
                                                std::vector<Hypothesis>(1));
  }

  auto state = decoder.init_state(features);
  const auto on = torch::TensorOptions().device(features.device());
  state.select_rows(torch::arange(n, on.dtype(torch::kLong)).repeat_interleave(K));   // N*K rows
  const auto row_base = (torch::arange(n, on.dtype(torch::kLong)) * K).unsqueeze(1);  // [N, 1]
  const double inf = std::numeric_limits<double>::infinity();
  // All K beams start identical: only beam 0 may expand at the first step.
  auto scores = torch::full({n, K}, -inf, on.dtype(torch::kDouble));
  scores.select(1, 0).zero_();
  auto finished = torch::zeros({n, K}, on.dtype(torch::kBool));
  auto tokens = torch::full({n * K}, sos, on.dtype(torch::kLong));
  // A finished hypothesis can only continue with <eos> at no cost.
  auto eos_only =
      torch::full({V}, -std::numeric_limits<float>::infinity(), on.dtype(torch::kFloat));
  eos_only[eos] = 0.0f;

  std::vector<torch::Tensor> parents, chosen;  // per step, [N, K]
  for (int t = 0; t < max_length; ++t) {
    auto log_probs = decoder.step(state, tokens).view({n, K, V});
    log_probs = torch::where(finished.unsqueeze(2), eos_only, log_probs);
    // The global top K must each be in the top K of their own beam: select in two stages.
    const auto [top_lp, top_tok] = log_probs.topk(K, 2);  // [N, K, K]
    const auto candidates = (scores.unsqueeze(2) + top_lp.to(torch::kDouble)).view({n, K * K});
    const auto [new_scores, flat] = candidates.topk(K, 1);  // [N, K]
    const auto parent = flat.div(K, "floor");
    const auto token = top_tok.view({n, K * K}).gather(1, flat);
    finished = finished.gather(1, parent).logical_or(token == eos);
    scores = new_scores;
    state.select_beam_rows((row_base + parent).view({-1}));
    tokens = token.reshape({-1});
    parents.push_back(parent);
    chosen.push_back(token);
    if (finished.all().item<bool>()) break;
  }
  return backtrack(parents, chosen, scores, eos);
}

std::vector<std::vector<int>> beam_search(CaptionDecoderImpl& decoder,
                                          const torch::Tensor& features, int beam_width,
                                          int max_length, int sos, int eos) {
  auto ranked = beam_search_ranked(decoder, features, beam_width, max_length, sos, eos);
  std::vector<std::vector<int>> out;
  out.reserve(ranked.size());
  for (auto& hyps : ranked) out.push_back(std::move(hyps.front().tokens));
  return out;
}

}  // namespace capflow::model
