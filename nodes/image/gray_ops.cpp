#include "nodes/image/gray_ops.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "nodes/image/area_resize.h"
#include "nodes/image/cpu_dispatch.h"

namespace capflow::image {

GrayImage crop_white_margins(const GrayImage& img, std::uint8_t threshold) {
  return crop(img, ink_bounds(img, threshold));
}

GrayImage crop(const GrayImage& img, const Rect& r) {
  if (r.x < 0 || r.y < 0 || r.width < 0 || r.height < 0 || r.x + r.width > img.width ||
      r.y + r.height > img.height)
    throw std::invalid_argument("crop: the rectangle lies outside the image");
  GrayImage out(r.width, r.height);
  for (int y = 0; y < out.height; ++y) {
    std::memcpy(&out.pixels[static_cast<std::size_t>(y) * out.width],
                &img.pixels[static_cast<std::size_t>(y + r.y) * img.width + r.x],
                static_cast<std::size_t>(out.width));
  }
  return out;
}

GrayImage add_border(const GrayImage& img, int left, int top, int right, int bottom,
                     std::uint8_t value) {
  if (left < 0 || top < 0 || right < 0 || bottom < 0)
    throw std::invalid_argument("negative border");
  GrayImage out(img.width + left + right, img.height + top + bottom, value);
  for (int y = 0; y < img.height; ++y) {
    std::memcpy(&out.pixels[static_cast<std::size_t>(y + top) * out.width + left],
                &img.pixels[static_cast<std::size_t>(y) * img.width],
                static_cast<std::size_t>(img.width));
  }
  return out;
}

GrayImage resize_nearest(const GrayImage& img, int width, int height) {
  if (width < 1 || height < 1 || img.empty())
    throw std::invalid_argument("resize_nearest: empty size");
  GrayImage out(width, height);
  std::vector<int> xs(static_cast<std::size_t>(width));
  for (int x = 0; x < width; ++x) {
    xs[static_cast<std::size_t>(x)] = std::min(
        img.width - 1,
        static_cast<int>((static_cast<std::int64_t>(2 * x + 1) * img.width) / (2 * width)));
  }
  for (int y = 0; y < height; ++y) {
    const int sy = std::min(
        img.height - 1,
        static_cast<int>((static_cast<std::int64_t>(2 * y + 1) * img.height) / (2 * height)));
    const std::uint8_t* src = &img.pixels[static_cast<std::size_t>(sy) * img.width];
    std::uint8_t* dst = &out.pixels[static_cast<std::size_t>(y) * width];
    for (int x = 0; x < width; ++x) dst[x] = src[xs[static_cast<std::size_t>(x)]];
  }
  return out;
}

GrayView view(const GrayImage& img, int x, int y, int width, int height) {
  if (x < 0 || y < 0 || width < 0 || height < 0 || x + width > img.width ||
      y + height > img.height) {
    throw std::invalid_argument("view: window outside the image");
  }
  return {img.pixels.data() + static_cast<std::ptrdiff_t>(y) * img.width + x, width, height,
          img.width};
}

namespace {

// Inlined into each variant below, so its loops are vectorized for that variant's target.
__attribute__((always_inline)) inline Rect ink_bounds_body(const GrayImage& img,
                                                           std::uint8_t threshold) {
  const int w = img.width, h = img.height;
  const auto row = [&](int y) { return &img.pixels[static_cast<std::size_t>(y) * w]; };
  const auto has_ink = [&](int y) {  // a min-reduction: vectorizes, no per-pixel branch
    const std::uint8_t* r = row(y);
    std::uint8_t lowest = 255;
    for (int x = 0; x < w; ++x) lowest = std::min(lowest, r[x]);
    return lowest < threshold;
  };
  int top = 0;
  while (top < h && !has_ink(top)) ++top;
  if (top == h) return {0, 0, w, h};
  int bottom = h - 1;
  while (bottom > top && !has_ink(bottom)) --bottom;
  // Column minima over the ink rows (vectorizes; four rows per pass over the minima), then the
  // first and last inked column.
  std::vector<std::uint8_t> column_min(row(top), row(top) + w);
  std::uint8_t* const cm = column_min.data();
  int y = top + 1;
  for (; y + 3 <= bottom; y += 4) {
    const std::uint8_t *r0 = row(y), *r1 = row(y + 1), *r2 = row(y + 2), *r3 = row(y + 3);
    for (int x = 0; x < w; ++x) {
      cm[x] = std::min(cm[x], std::min(std::min(r0[x], r1[x]), std::min(r2[x], r3[x])));
    }
  }
  for (; y <= bottom; ++y) {
    const std::uint8_t* r = row(y);
    for (int x = 0; x < w; ++x) cm[x] = std::min(cm[x], r[x]);
  }
  int left = 0, right = w - 1;
  while (cm[left] >= threshold) ++left;
  while (cm[right] >= threshold) --right;
  return {left, top, right - left + 1, bottom - top + 1};
}

#if CAPFLOW_HAS_AVX2_PATH
CAPFLOW_AVX2 Rect ink_bounds_avx2(const GrayImage& img, std::uint8_t threshold) {
  return ink_bounds_body(img, threshold);
}
#endif

}  // namespace

Rect ink_bounds(const GrayImage& img, std::uint8_t threshold) {
#if CAPFLOW_HAS_AVX2_PATH
  if (has_avx2()) return ink_bounds_avx2(img, threshold);
#endif
  return ink_bounds_body(img, threshold);
}

void resize_area_into(const GrayView& src, std::uint8_t* dst, std::ptrdiff_t dst_stride, int width,
                      int height) {
  resize_area_turned_into(src, width, height, /*turns=*/0, dst, dst_stride);
}

GrayImage resize_area(const GrayImage& img, int width, int height) {
  if (width < 1 || height < 1 || img.empty()) {
    throw std::invalid_argument("resize_area: empty size");
  }
  GrayImage out;
  out.width = width;
  out.height = height;
  out.pixels.resize(static_cast<std::size_t>(width) * static_cast<std::size_t>(height));
  resize_area_into(view(img), out.pixels.data(), width, width, height);
  return out;
}

void rotate90_into(const GrayView& src, std::uint8_t* dst, std::ptrdiff_t dst_stride,
                   bool clockwise) {
  const int w = src.width, h = src.height;
  // Tiles keep both the reads and the scattered writes in cache.
  constexpr int kTile = 32;
  for (int y0 = 0; y0 < h; y0 += kTile) {
    const int y1 = std::min(h, y0 + kTile);
    for (int x0 = 0; x0 < w; x0 += kTile) {
      const int x1 = std::min(w, x0 + kTile);
      for (int y = y0; y < y1; ++y) {
        const std::uint8_t* r = src.row(y);
        if (clockwise) {  // in(x, y) -> out(h - 1 - y, x)
          std::uint8_t* col = dst + (h - 1 - y);
          for (int x = x0; x < x1; ++x) col[x * dst_stride] = r[x];
        } else {  // in(x, y) -> out(y, w - 1 - x)
          std::uint8_t* col = dst + y;
          for (int x = x0; x < x1; ++x) col[(w - 1 - x) * dst_stride] = r[x];
        }
      }
    }
  }
}

GrayImage rotate90(const GrayView& src, bool clockwise) {
  GrayImage out;
  out.width = src.height;
  out.height = src.width;
  out.pixels.resize(static_cast<std::size_t>(src.width) * static_cast<std::size_t>(src.height));
  rotate90_into(src, out.pixels.data(), out.width, clockwise);
  return out;
}

GrayImage rotate90(const GrayImage& img, bool clockwise) { return rotate90(view(img), clockwise); }

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
