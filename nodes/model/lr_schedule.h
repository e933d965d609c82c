// Learning-rate schedule: linear warm-up, then cosine decay to min_ratio × base over
// total_steps (or constant after warm-up when total_steps is 0). A plain function of the step,
// so a resumed run continues the same curve. A time-bounded run (`by_time`) decays over its
// time budget instead: the cosine's position is the share of train.max_seconds used so far.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace capflow::model {

struct LrSchedule {
  double base = 3e-4;
  std::uint64_t warmup_steps = 0;
  std::uint64_t total_steps = 0;  // 0: constant after warm-up
  double min_ratio = 0.05;
  bool cosine = true;
  bool by_time = false;  // the cosine runs over the time budget (progress), not total_steps

  // Learning rate for optimizer step `step` (0-based); `progress` is the share of the time
  // budget used (0..1), read only when by_time.
  double at(std::uint64_t step, double progress = 0.0) const {
    if (warmup_steps > 0 && step < warmup_steps)
      return base * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
    if (!cosine) return base;
    double t = 0;
    if (by_time) {
      t = std::max(0.0, std::min(1.0, progress));
    } else {
      if (total_steps <= warmup_steps) return base;
      t = std::min(1.0, static_cast<double>(step - warmup_steps) /
                            static_cast<double>(total_steps - warmup_steps));
    }
    const double floor = base * min_ratio;
    return floor + (base - floor) * 0.5 * (1.0 + std::cos(3.14159265358979323846 * t));
  }
};

}  // namespace capflow::model
