// Time to quality from evaluation rows.
#include "tools/report/time_to_quality.h"

#include <cstdio>
#include <map>

#include "nodes/metric_names.h"

namespace capflow::report {

namespace {

struct StepRows {
  std::optional<double> levenshtein, wall_seconds, train_seconds, exact, valid;
};

void add_row(StepRows& s, const MetricRow& row) {
  if (row.name == metrics::kEvalLevenshtein) {
    s.levenshtein = row.value;
    s.wall_seconds = row.seconds;
  } else if (row.name == metrics::kEvalTrainSeconds) {
    s.train_seconds = row.value;
  } else if (row.name == metrics::kEvalExactMatch) {
    s.exact = row.value;
  } else if (row.name == metrics::kEvalValidInchi) {
    s.valid = row.value;
  }
}

std::string minutes(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f min", seconds / 60);
  return buf;
}

}  // namespace

std::vector<EvalPoint> eval_curve(const std::vector<MetricRow>& rows) {
  std::map<double, StepRows> by_step;
  for (const MetricRow& row : rows) add_row(by_step[row.step], row);
  std::vector<EvalPoint> curve;
  for (const auto& [step, s] : by_step) {
    if (!s.levenshtein) continue;
    EvalPoint p;
    p.step = step;
    p.train_seconds = s.train_seconds.has_value();
    p.seconds = s.train_seconds ? *s.train_seconds : *s.wall_seconds;
    p.levenshtein = *s.levenshtein;
    p.exact = s.exact;
    p.valid = s.valid;
    curve.push_back(p);
  }
  return curve;
}

TimeToQuality time_to_quality(const std::vector<EvalPoint>& curve,
                              const std::vector<double>& targets) {
  TimeToQuality q;
  for (double target : targets) q.targets.push_back({target, std::nullopt, std::nullopt});
  for (const EvalPoint& p : curve) {
    if (!q.best || p.levenshtein < q.best->levenshtein) q.best = p;
    for (TargetTime& t : q.targets) {
      if (t.seconds || p.levenshtein > t.target) continue;
      t.seconds = p.seconds;
      t.step = p.step;
    }
  }
  if (!curve.empty()) q.last = curve.back();
  return q;
}

std::string describe_target(const TargetTime& t, const TimeToQuality& q) {
  if (t.seconds) return minutes(*t.seconds);
  if (!q.best) return "not reached, no evaluation";
  char best[32];
  std::snprintf(best, sizeof best, "%.1f", q.best->levenshtein);
  return std::string("not reached, best ") + best + " at " + minutes(q.best->seconds);
}

}  // namespace capflow::report
