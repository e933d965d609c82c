// An 8-bit grayscale image, row-major, no padding: the pixel type of the whole data path
// (BMS images are black-and-white line drawings).
#pragma once

#include <cstdint>
#include <vector>

namespace capflow::io {

struct GrayImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;  // width * height bytes, 0 = black, 255 = white

  GrayImage() = default;
  GrayImage(int w, int h, std::uint8_t fill = 255)
      : width(w),
        height(h),
        pixels(static_cast<std::size_t>(w) * static_cast<std::size_t>(h), fill) {}

  std::uint8_t& at(int x, int y) { return pixels[static_cast<std::size_t>(y) * width + x]; }
  std::uint8_t at(int x, int y) const { return pixels[static_cast<std::size_t>(y) * width + x]; }
  bool empty() const { return width == 0 || height == 0; }
};

}  // namespace capflow::io
