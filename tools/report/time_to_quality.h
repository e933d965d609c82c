// Time to quality (MLPerf Training's measure): training time until the held-out mean
// Levenshtein first reaches a target. Plain functions over the evaluation rows of a run's
// metrics.jsonl; no files, no JSON.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace capflow::report {

// The targets of docs/benchmarks.md, from easy to hard.
inline const std::vector<double> kQualityTargets = {60, 40, 20, 10};

// One metric of one metrics.jsonl node row: {"step": N, "node": …, NAME: VALUE, "seconds": S}.
struct MetricRow {
  double step = 0;
  double seconds = 0;  // wall seconds since the process started
  std::string name;    // "eval.levenshtein_mean", "eval.train_seconds", …
  double value = 0;
};

// One held-out evaluation.
struct EvalPoint {
  double step = 0;
  double seconds = 0;           // eval.train_seconds of the step, else the row's wall seconds
  bool train_seconds = false;   // `seconds` is training time (eval.train_seconds)
  double levenshtein = 0;       // eval.levenshtein_mean
  std::optional<double> exact;  // eval.exact_match, 0..1
  std::optional<double> valid;  // eval.valid_inchi_fraction, 0..1
};

// The evaluations in `rows` (other names are ignored), one per step that has an
// eval.levenshtein_mean, by step. A step evaluated twice (a resumed run) keeps its last values.
std::vector<EvalPoint> eval_curve(const std::vector<MetricRow>& rows);

struct TargetTime {
  double target = 0;
  std::optional<double> seconds;  // first evaluation at or below the target
  std::optional<double> step;
};

struct TimeToQuality {
  std::vector<TargetTime> targets;  // in the order asked
  std::optional<EvalPoint> best;    // lowest Levenshtein (the earliest of equals)
  std::optional<EvalPoint> last;    // the final evaluation
};

// Reads the targets off a curve in time order. An empty curve reaches nothing and has no best.
TimeToQuality time_to_quality(const std::vector<EvalPoint>& curve,
                              const std::vector<double>& targets = kQualityTargets);

// "12.5 min", or "not reached, best 62.1 at 14.0 min" (minutes with one decimal).
std::string describe_target(const TargetTime& t, const TimeToQuality& q);

}  // namespace capflow::report
