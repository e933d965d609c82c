#include "nodes/image/gray_ops.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

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

Rect ink_bounds(const GrayImage& img, std::uint8_t threshold) {
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
  // Column minima over the ink rows (vectorizes), then the first and last inked column.
  std::vector<std::uint8_t> column_min(row(top), row(top) + w);
  std::uint8_t* const cm = column_min.data();
  for (int y = top + 1; y <= bottom; ++y) {
    const std::uint8_t* r = row(y);
    for (int x = 0; x < w; ++x) cm[x] = std::min(cm[x], r[x]);
  }
  int left = 0, right = w - 1;
  while (cm[left] >= threshold) ++left;
  while (cm[right] >= threshold) --right;
  return {left, top, right - left + 1, bottom - top + 1};
}

namespace {

// Per-axis resampling weights with a fixed number of taps per output (zero-padded), so the
// inner loops have no data-dependent bounds: output i reads source pixels
// [start[i], start[i] + taps) with weights weight[i * taps ...].
struct AxisWeights {
  int taps = 1;
  std::vector<int> start;
  std::vector<float> weight;
};

AxisWeights axis_weights(int in, int out) {
  // Variable taps first: output o has weights flat[offset[o] .. offset[o + 1]) for source
  // pixels first[o], first[o] + 1, ...
  const auto n = static_cast<std::size_t>(out);
  std::vector<int> first(n), offset(n + 1, 0);
  std::vector<float> flat;
  flat.reserve(n * (static_cast<std::size_t>(in / out) + 2));
  const double scale = static_cast<double>(in) / out;
  for (std::size_t o = 0; o < n; ++o) {
    offset[o] = static_cast<int>(flat.size());
    if (in == out) {
      first[o] = static_cast<int>(o);
      flat.push_back(1.0f);
    } else if (in > out) {
      // Box filter: source pixel i covers [i, i + 1); output o covers [o * scale, (o+1) * scale).
      const double lo = static_cast<double>(o) * scale;
      const double hi = std::min<double>(in, static_cast<double>(o + 1) * scale);
      int f = -1;
      for (int i = static_cast<int>(lo); i < in && i < hi; ++i) {
        const double cover = std::min<double>(hi, i + 1) - std::max<double>(lo, i);
        if (cover <= 1e-9 && f < 0) continue;  // a sliver before the window
        if (f < 0) f = i;
        flat.push_back(static_cast<float>(std::max(cover, 0.0) / scale));
      }
      if (f < 0) {  // cannot happen for in > out; keep the table well-formed anyway
        f = std::min(in - 1, static_cast<int>(lo));
        flat.push_back(1.0f);
      }
      first[o] = f;
    } else {
      // Bilinear with pixel centres aligned, clamped at the edges.
      const double pos =
          std::max(0.0, std::min<double>((static_cast<double>(o) + 0.5) * scale - 0.5, in - 1));
      const int f = static_cast<int>(pos);
      const double frac = pos - f;
      first[o] = f;
      flat.push_back(static_cast<float>(1.0 - frac));
      if (frac > 1e-9 && f + 1 < in) flat.push_back(static_cast<float>(frac));
    }
  }
  offset[n] = static_cast<int>(flat.size());
  AxisWeights a;
  for (std::size_t o = 0; o < n; ++o) a.taps = std::max(a.taps, offset[o + 1] - offset[o]);
  const auto taps = static_cast<std::size_t>(a.taps);
  a.start.resize(n);
  a.weight.assign(n * taps, 0.0f);
  for (std::size_t o = 0; o < n; ++o) {
    // Shift windows that would run past the end left; the extra taps weigh zero.
    const int s = std::min(first[o], in - a.taps);
    a.start[o] = s;
    float* w = &a.weight[o * taps + static_cast<std::size_t>(first[o] - s)];
    for (int k = offset[o]; k < offset[o + 1]; ++k) *w++ = flat[static_cast<std::size_t>(k)];
  }
  return a;
}

// One output row of the horizontal pass: out[x] = round(sum_k acc[start[x] + k] * w[x][k]).
template <int kTaps>
void horizontal_pass(const float* acc, const AxisWeights& wx, int taps, std::uint8_t* out,
                     int width) {
  const int n = kTaps > 0 ? kTaps : taps;
  const int* start = wx.start.data();
  const float* w = wx.weight.data();
  for (int x = 0; x < width; ++x, w += n) {
    const float* a = acc + start[x];
    float v = 0.5f;
    for (int k = 0; k < n; ++k) v += a[k] * w[k];
    const int i = static_cast<int>(v);  // v >= 0.5: weights and pixels are non-negative
    out[x] = static_cast<std::uint8_t>(i < 255 ? i : 255);
  }
}

}  // namespace

void resize_area_into(const GrayView& src, std::uint8_t* dst, std::ptrdiff_t dst_stride, int width,
                      int height) {
  if (width < 1 || height < 1 || src.empty()) {
    throw std::invalid_argument("resize_area: empty size");
  }
  if (src.width == width && src.height == height) {
    for (int y = 0; y < height; ++y) {
      std::memcpy(dst + y * dst_stride, src.row(y), static_cast<std::size_t>(width));
    }
    return;
  }
  const AxisWeights wx = axis_weights(src.width, width);
  const AxisWeights wy = axis_weights(src.height, height);
  void (*hpass)(const float*, const AxisWeights&, int, std::uint8_t*, int) = nullptr;
  switch (wx.taps) {
    case 1:
      hpass = horizontal_pass<1>;
      break;
    case 2:
      hpass = horizontal_pass<2>;
      break;
    case 3:
      hpass = horizontal_pass<3>;
      break;
    case 4:
      hpass = horizontal_pass<4>;
      break;
    default:
      hpass = horizontal_pass<0>;
      break;
  }
  std::vector<float> acc(static_cast<std::size_t>(src.width));
  float* const a = acc.data();
  const int sw = src.width;
  const auto ty = static_cast<std::size_t>(wy.taps);
  for (int y = 0; y < height; ++y) {
    // Vertical pass: the weighted sum of this output row's source rows, at source width.
    const int r0 = wy.start[static_cast<std::size_t>(y)];
    const float* w = &wy.weight[static_cast<std::size_t>(y) * ty];
    {
      const std::uint8_t* r = src.row(r0);
      const float w0 = w[0];
      for (int x = 0; x < sw; ++x) a[x] = w0 * static_cast<float>(r[x]);
    }
    for (std::size_t k = 1; k < ty; ++k) {
      const float wk = w[k];
      if (wk == 0.0f) continue;
      const std::uint8_t* r = src.row(r0 + static_cast<int>(k));
      for (int x = 0; x < sw; ++x) a[x] += wk * static_cast<float>(r[x]);
    }
    hpass(a, wx, wx.taps, dst + y * dst_stride, width);
  }
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
