// Caption decoding with a caption decoder (caption_decoder.h): batched greedy decoding and batched
// beam search, both on the decoder's step API (the encoder projection is computed once per batch).
#pragma once

#include <torch/torch.h>

#include <vector>

#include "nodes/model/caption_decoder.h"

namespace capflow::model {

// Greedy decoding of a batch. features [N, C, h, w] → N token sequences, each without <sos>
// and <eos>. Decodes at most max_length steps (the <eos> step included: a sequence of
// max_length tokens never emitted <eos>) and stops as soon as every row has emitted <eos>.
// Runs without gradients and without dropout.
std::vector<std::vector<int>> greedy_decode(CaptionDecoderImpl& decoder,
                                            const torch::Tensor& features, int max_length, int sos,
                                            int eos);

// One final hypothesis of a beam search.
struct Hypothesis {
  std::vector<int> tokens;  // without <sos> and <eos>
  double score = 0;         // summed log-probability, the <eos> token's included
};

// Beam search with beam_width K per image, all images' beams batched as N*K decoder rows.
// Hypotheses are ranked by their plain summed log-probability (the <eos> token's included; no
// length normalisation), and a finished hypothesis keeps its score and its slot in the beam.
// The best of the K final hypotheses is returned per image, without <sos> and <eos>.
// beam_width 1 returns exactly greedy_decode's result. Throws std::invalid_argument when
// beam_width is not in [1, vocab_size].
std::vector<std::vector<int>> beam_search(CaptionDecoderImpl& decoder,
                                          const torch::Tensor& features, int beam_width,
                                          int max_length, int sos, int eos);

// The same search, returning all K final hypotheses of each image, best first (equal scores
// keep their beam order); beam_search returns the first of each. Same exceptions.
std::vector<std::vector<Hypothesis>> beam_search_ranked(CaptionDecoderImpl& decoder,
                                                        const torch::Tensor& features,
                                                        int beam_width, int max_length, int sos,
                                                        int eos);

}  // namespace capflow::model
