#include "nodes/image/median_filter.h"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

namespace capflow::image {

namespace {

// A histogram of the window's pixels that tracks its median as pixels come and go: `below`
// counts the pixels darker than `median`, and `rank` is the median's 0-based rank.
class WindowHistogram {
 public:
  explicit WindowHistogram(int rank) : rank_(rank) {}

  void add(std::uint8_t v) {
    ++counts_[v];
    if (v < median_) ++below_;
  }
  void remove(std::uint8_t v) {
    --counts_[v];
    if (v < median_) --below_;
  }
  // The smallest value with more than `rank` pixels at or below it.
  std::uint8_t median() {
    while (below_ > rank_) below_ -= counts_[--median_];
    while (below_ + counts_[median_] <= rank_) below_ += counts_[median_++];
    return static_cast<std::uint8_t>(median_);
  }

 private:
  std::array<int, 256> counts_{};
  int rank_;
  int median_ = 0;
  int below_ = 0;
};

}  // namespace

io::GrayImage median_filter(const io::GrayImage& img, int radius) {
  if (radius < 1)
    throw std::invalid_argument("median_filter: radius must be at least 1, got " +
                                std::to_string(radius));
  io::GrayImage out(img.width, img.height);
  if (img.empty()) return out;
  const int side = 2 * radius + 1;
  auto at = [&img](int x, int y) {
    return img.at(std::clamp(x, 0, img.width - 1), std::clamp(y, 0, img.height - 1));
  };
  for (int y = 0; y < img.height; ++y) {
    WindowHistogram window(side * side / 2);
    for (int dy = -radius; dy <= radius; ++dy)
      for (int dx = -radius; dx <= radius; ++dx) window.add(at(dx, y + dy));
    out.at(0, y) = window.median();
    for (int x = 1; x < img.width; ++x) {
      for (int dy = -radius; dy <= radius; ++dy) {
        window.remove(at(x - radius - 1, y + dy));
        window.add(at(x + radius, y + dy));
      }
      out.at(x, y) = window.median();
    }
  }
  return out;
}

}  // namespace capflow::image
