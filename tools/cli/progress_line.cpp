// The progress line.
#include "tools/cli/progress_line.h"

#include <algorithm>
#include <cstdio>

namespace capflow::cli {

namespace {

std::string duration(double s) {
  char buf[48];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%.0f s", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%d min %02d s", static_cast<int>(s) / 60,
                  static_cast<int>(s) % 60);
  else
    std::snprintf(buf, sizeof buf, "%d h %02d min", static_cast<int>(s) / 3600,
                  (static_cast<int>(s) % 3600) / 60);
  return buf;
}

}  // namespace

double eta_seconds(const ProgressFigures& f) {
  const double rate = f.seconds > 0 ? static_cast<double>(f.images) / f.seconds : 0;
  double eta = -1;
  auto consider = [&eta](double left) { eta = eta < 0 ? left : std::min(eta, left); };
  if (f.max_seconds > 0) consider(std::max(0.0, f.max_seconds - f.seconds));
  if (rate > 0) {
    if (f.planned_images > 0)
      consider(
          std::max(0.0, static_cast<double>(f.planned_images) - static_cast<double>(f.images)) /
          rate);
    if (f.epoch_images > 0 && f.epochs > 0) {
      const double total = static_cast<double>(f.epoch_images) * static_cast<double>(f.epochs);
      consider(std::max(0.0, total - static_cast<double>(f.images)) / rate);
    }
  }
  return eta;
}

std::string format_progress(const ProgressFigures& f) {
  const double rate = f.seconds > 0 ? static_cast<double>(f.images) / f.seconds : 0;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%llu images, %.1f images/s",
                static_cast<unsigned long long>(f.images), rate);
  std::string line = buf;
  if (f.have_loss) {
    std::snprintf(buf, sizeof buf, ", step %llu, loss %.4f",
                  static_cast<unsigned long long>(f.step), f.loss);
    line += buf;
  }
  std::snprintf(buf, sizeof buf, ", epoch %llu", static_cast<unsigned long long>(f.epoch));
  line += buf;
  if (f.epoch_images > 0) {
    const double done = static_cast<double>(f.images) -
                        static_cast<double>(f.epoch) * static_cast<double>(f.epoch_images);
    const double pct = std::clamp(100.0 * done / static_cast<double>(f.epoch_images), 0.0, 100.0);
    std::snprintf(buf, sizeof buf, " (%.0f%%)", pct);
    line += buf;
  }
  const double eta = eta_seconds(f);
  if (eta >= 0) line += ", ETA " + duration(eta);
  line += ", " + duration(f.seconds);
  return line;
}

}  // namespace capflow::cli
