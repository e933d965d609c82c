// Plain kernels on grayscale images, shared by the dataset maker and the augment node.
// Random ones take the generator explicitly, so their output depends only on its seed.
#pragma once

#include <cstddef>
#include <cstdint>

#include "graph/seeded_random.h"
#include "nodes/io/gray_image.h"

namespace capflow::image {

using io::GrayImage;

// Smallest rectangle holding every pixel darker than `threshold`; the whole image when it is
// blank. Returns a copy of that rectangle.
GrayImage crop_white_margins(const GrayImage& img, std::uint8_t threshold = 250);

// Adds `left, top, right, bottom` pixels of `value` around the image.
GrayImage add_border(const GrayImage& img, int left, int top, int right, int bottom,
                     std::uint8_t value = 255);

// Nearest-neighbour resize to width x height (both >= 1).
GrayImage resize_nearest(const GrayImage& img, int width, int height);

// A read-only window into 8-bit gray pixels: `stride` bytes between rows (>= width).
struct GrayView {
  const std::uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  std::ptrdiff_t stride = 0;

  const std::uint8_t* row(int y) const { return data + static_cast<std::ptrdiff_t>(y) * stride; }
  bool empty() const { return width <= 0 || height <= 0; }
};

inline GrayView view(const GrayImage& img) {
  return {img.pixels.data(), img.width, img.height, img.width};
}
// The window [x, x + width) x [y, y + height), which must lie inside the image.
GrayView view(const GrayImage& img, int x, int y, int width, int height);

// A rectangle in pixel coordinates.
struct Rect {
  int x = 0, y = 0, width = 0, height = 0;
};

// Smallest rectangle holding every pixel darker than `threshold`; the whole image when it is
// blank. Like crop_white_margins, without the copy.
Rect ink_bounds(const GrayImage& img, std::uint8_t threshold = 250);

// A copy of the rectangle `r`, which must lie inside the image (else std::invalid_argument).
GrayImage crop(const GrayImage& img, const Rect& r);

// Area-averaging resize (box filter with fractional pixel coverage, like OpenCV's INTER_AREA)
// for shrinking axes; bilinear (pixel centres aligned) for growing ones, in 16-bit fixed point
// (within 0.5 + taps / 128 gray levels of the exact filter; area_resize.h). Exact for the
// identity size. width, height >= 1.
GrayImage resize_area(const GrayImage& img, int width, int height);
// The same, reading a window and writing width x height pixels at `dst` (rows `dst_stride`
// bytes apart): lets a crop and a resize into a padded canvas be one pass.
void resize_area_into(const GrayView& src, std::uint8_t* dst, std::ptrdiff_t dst_stride, int width,
                      int height);

// The picture turned 90 degrees, clockwise or counter-clockwise: width and height swap.
GrayImage rotate90(const GrayImage& img, bool clockwise);
GrayImage rotate90(const GrayView& src, bool clockwise);
// The same, writing src.height x src.width pixels at `dst` (rows `dst_stride` bytes apart).
void rotate90_into(const GrayView& src, std::uint8_t* dst, std::ptrdiff_t dst_stride,
                   bool clockwise);

// Pixels below `threshold` become 0, the rest 255.
void binarize(GrayImage& img, std::uint8_t threshold = 128);

// Sets about `density * pixels` random pixels: to black (pepper) with probability
// `pepper_share`, else to white (salt).
void salt_and_pepper(GrayImage& img, double density, double pepper_share, SeededRng& rng);

}  // namespace capflow::image
