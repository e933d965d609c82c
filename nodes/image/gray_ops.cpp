#include "nodes/image/gray_ops.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace capflow::image {

GrayImage crop_white_margins(const GrayImage& img, std::uint8_t threshold) {
  int x0 = img.width, y0 = img.height, x1 = -1, y1 = -1;
  for (int y = 0; y < img.height; ++y) {
    const std::uint8_t* row = &img.pixels[static_cast<std::size_t>(y) * img.width];
    for (int x = 0; x < img.width; ++x) {
      if (row[x] < threshold) {
        x0 = std::min(x0, x);
        x1 = std::max(x1, x);
        y0 = std::min(y0, y);
        y1 = std::max(y1, y);
      }
    }
  }
  if (x1 < 0) return img;
  GrayImage out(x1 - x0 + 1, y1 - y0 + 1);
  for (int y = 0; y < out.height; ++y) {
    std::memcpy(&out.pixels[static_cast<std::size_t>(y) * out.width],
                &img.pixels[static_cast<std::size_t>(y + y0) * img.width + x0],
                static_cast<std::size_t>(out.width));
  }
  return out;
}

GrayImage add_border(const GrayImage& img, int left, int top, int right, int bottom,
                     std::uint8_t value) {
  if (left < 0 || top < 0 || right < 0 || bottom < 0) throw std::invalid_argument("negative border");
  GrayImage out(img.width + left + right, img.height + top + bottom, value);
  for (int y = 0; y < img.height; ++y) {
    std::memcpy(&out.pixels[static_cast<std::size_t>(y + top) * out.width + left],
                &img.pixels[static_cast<std::size_t>(y) * img.width],
                static_cast<std::size_t>(img.width));
  }
  return out;
}

GrayImage resize_nearest(const GrayImage& img, int width, int height) {
  if (width < 1 || height < 1 || img.empty()) throw std::invalid_argument("resize_nearest: empty size");
  GrayImage out(width, height);
  std::vector<int> xs(static_cast<std::size_t>(width));
  for (int x = 0; x < width; ++x) {
    xs[static_cast<std::size_t>(x)] =
        std::min(img.width - 1, static_cast<int>((static_cast<std::int64_t>(2 * x + 1) * img.width) / (2 * width)));
  }
  for (int y = 0; y < height; ++y) {
    const int sy = std::min(img.height - 1,
                            static_cast<int>((static_cast<std::int64_t>(2 * y + 1) * img.height) / (2 * height)));
    const std::uint8_t* src = &img.pixels[static_cast<std::size_t>(sy) * img.width];
    std::uint8_t* dst = &out.pixels[static_cast<std::size_t>(y) * width];
    for (int x = 0; x < width; ++x) dst[x] = src[xs[static_cast<std::size_t>(x)]];
  }
  return out;
}

void binarize(GrayImage& img, std::uint8_t threshold) {
  for (auto& p : img.pixels) p = p < threshold ? 0 : 255;
}

void salt_and_pepper(GrayImage& img, double density, double pepper_share, SeededRng& rng) {
  if (img.empty() || density <= 0) return;
  const auto n = static_cast<std::size_t>(density * static_cast<double>(img.pixels.size()) + 0.5);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t at = rng.index(img.pixels.size());
    img.pixels[at] = rng.bernoulli(pepper_share) ? 0 : 255;
  }
}

}  // namespace capflow::image
