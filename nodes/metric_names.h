// The names of the values nodes report (NodeContext::report → metrics.jsonl) that tools read
// back: the progress line, summary.json, `capflow report`, bench/time_to_quality.sh. Writers
// and readers use these constants; metrics.jsonl's documentation is docs/pipelines.md.
#pragma once

#include <string>

namespace capflow::metrics {

// Per optimizer step (node "optimize").
inline constexpr const char* kLoss = "loss";
inline constexpr const char* kFormulaLoss = "loss.formula";
inline constexpr const char* kAtomLoss = "loss.atoms";
inline constexpr const char* kLearningRate = "lr";
inline constexpr const char* kGradNorm = "grad_norm";  // + "." + part: per-part norms
inline constexpr const char* kImages = "images";
// Per step of a multi-rank run (node "reduce").
inline constexpr const char* kImagesAllRanks = "images_all_ranks";
inline constexpr const char* kCommunicationSeconds = "communication_seconds";
// Once, from the source (node "read"): samples per epoch on this rank.
inline constexpr const char* kEpochImages = "epoch_images";
// Evaluations on data.val_root: kEvalPrefix + one of the names below.
inline constexpr const char* kEvalPrefix = "eval.";
inline constexpr const char* kEvalTrainSeconds = "eval.train_seconds";
inline constexpr const char* kEvalLevenshtein = "eval.levenshtein_mean";
inline constexpr const char* kEvalExactMatch = "eval.exact_match";
inline constexpr const char* kEvalValidInchi = "eval.valid_inchi_fraction";
inline constexpr const char* kEvalImages = "eval.images";
inline constexpr const char* kEvalImagesPerSecond = "eval.images_per_second";
inline constexpr const char* kEvalBeam = "eval.beam";  // beam width (1: greedy)

inline bool is_eval(const std::string& name) { return name.rfind(kEvalPrefix, 0) == 0; }
// The part after kEvalPrefix ("levenshtein_mean").
inline std::string eval_field(const std::string& name) {
  return name.substr(std::char_traits<char>::length(kEvalPrefix));
}

}  // namespace capflow::metrics
