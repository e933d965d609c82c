// The area resize (see area_resize.h): the weight tables and the scalar reference, in the
// fixed-point arithmetic of area_resize_tables.h, and the choice of path when run. The AVX2
// path is area_resize_avx2.cpp.
#include "nodes/image/area_resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "nodes/image/area_resize_tables.h"
#include "nodes/image/cpu_dispatch.h"

namespace capflow::image {

namespace area {

namespace {

// Output o's source window when upscaling or copying (in <= out): its first pixel and up to
// two weights written at w; returns the number of weights.
int interpolation_weights(int in, int out, int o, double* w, int* first) {
  if (in == out) {
    *first = o;
    w[0] = 1.0;
    return 1;
  }
  // Bilinear with pixel centres aligned, clamped at the edges.
  const double scale = static_cast<double>(in) / out;
  const double pos = std::max(0.0, std::min<double>((o + 0.5) * scale - 0.5, in - 1));
  const int f = static_cast<int>(pos);
  const double frac = pos - f;
  *first = f;
  w[0] = 1.0 - frac;
  if (frac > 1e-9 && f + 1 < in) {
    w[1] = frac;
    return 2;
  }
  return 1;
}

// Collects an output's weights in Q15 and adjusts them to sum to 2^15 (a uniform picture stays
// uniform): the largest takes the rounding's remainder, capped at 32767 (a single weight of 1).
// Written without branches: they mispredicted.
class Quantizer {
 public:
  explicit Quantizer(std::int16_t* q) : q_(q) {}

  void add(int k, double w) {  // w >= 0
    const int v = std::min(static_cast<int>(w * 32768.0 + 0.5), 32767);
    q_[k] = static_cast<std::int16_t>(v);
    sum_ += v;
    largest_ = v > most_ ? k : largest_;
    most_ = std::max(most_, v);
  }

  void finish() {
    q_[largest_] = static_cast<std::int16_t>(std::clamp(most_ + (32768 - sum_), 0, 32767));
  }

 private:
  std::int16_t* q_;
  int sum_ = 0, largest_ = 0, most_ = -1;
};

// The box filter of a downscale (in > out), in exact integers: in units of 1 / out, output o
// covers [o in, (o + 1) in) and source pixel i covers [i out, (i + 1) out); its weight is the
// overlap / in. Output o's `bound` weights (quantized, zero past its window) go to
// q[o * bound ...], its first pixel to first[o]; returns the most weights of any output. The
// window's ends are stepped from output to output (a quotient and a remainder), not divided,
// and every output computes `bound` weights: divisions and loops of varying length cost more
// than the resize's rows.
int box_weights(int in, int out, int bound, std::int16_t* q, int* first) {
  const double per_unit = 1.0 / in;
  const int step = in / out, rest = in % out;
  int i0 = 0, r = 0;  // o in = i0 out + r
  int taps = 1;
  for (int o = 0; o < out; ++o) {
    const std::int64_t lo = std::int64_t{o} * in, hi = lo + in;
    Quantizer quantized(q + static_cast<std::ptrdiff_t>(o) * bound);
    for (int k = 0; k < bound; ++k) {
      const std::int64_t i = i0 + k;
      const std::int64_t overlap =
          std::min<std::int64_t>(hi, (i + 1) * out) - std::max<std::int64_t>(lo, i * out);
      quantized.add(k, static_cast<double>(std::max<std::int64_t>(overlap, 0)) * per_unit);
    }
    quantized.finish();
    first[o] = i0;
    int i1 = i0 + step;  // (o + 1) in = i1 out + r
    r += rest;
    if (r >= out) {
      ++i1;
      r -= out;
    }
    taps = std::max(taps, i1 + (r > 0) - i0);  // the window ends inside pixel i1 when r > 0
    i0 = i1;
  }
  return taps;
}

}  // namespace

AxisWeights axis_weights(int in, int out, bool reversed) {
  const auto n = static_cast<std::size_t>(out);
  // At most this many weights per output: a box of in / out pixels touches ceil(in / out) + 1.
  const int bound = in == out ? 1 : in < out ? 2 : (in + out - 1) / out + 1;
  const auto b = static_cast<std::size_t>(bound);
  thread_local std::vector<std::int16_t> loose;  // output o's weights at o * bound
  thread_local std::vector<int> first;
  loose.assign(n * b, 0);
  first.resize(n);
  AxisWeights a;
  if (in > out) {
    a.taps = box_weights(in, out, bound, loose.data(), first.data());
  } else {
    for (std::size_t o = 0; o < n; ++o) {
      double w[2] = {0.0, 0.0};
      const int k = interpolation_weights(in, out, static_cast<int>(o), w, &first[o]);
      Quantizer quantized(&loose[o * b]);
      for (int j = 0; j < k; ++j) quantized.add(j, w[j]);
      quantized.finish();
      a.taps = std::max(a.taps, k);
    }
  }
  const auto taps = static_cast<std::size_t>(a.taps);
  a.start.resize(n);
  a.weight.assign(n * taps, 0);
  for (std::size_t o = 0; o < n; ++o) {
    const std::size_t to = reversed ? n - 1 - o : o;
    // Shift windows that would run past the end left; the extra taps weigh zero.
    const int s = std::min(first[o], in - a.taps);
    a.start[to] = s;
    const auto shift = static_cast<std::size_t>(first[o] - s);
    for (std::size_t k = 0; k + shift < taps; ++k) {  // a few weights: no memmove call
      a.weight[to * taps + shift + k] = loose[o * b + k];
    }
  }
  return a;
}

}  // namespace area

namespace {

using area::AxisWeights;

// One output row of the horizontal pass, from the vertical pass's row `acc` (Q7).
template <int kTaps>
void horizontal_pass(const std::int16_t* acc, const AxisWeights& wx, std::uint8_t* out, int width) {
  const int n = kTaps > 0 ? kTaps : wx.taps;
  for (int x = 0; x < width; ++x) {
    const std::int16_t* a = acc + wx.start[static_cast<std::size_t>(x)];
    const std::int16_t* w = wx.of(x);
    std::int16_t s = 0;
    for (int k = 0; k < n; ++k) s = area::saturating_add(s, area::weighted(a[k], w[k]));
    out[x] = area::to_pixel(s);
  }
}

using HorizontalPass = void (*)(const std::int16_t*, const AxisWeights&, std::uint8_t*, int);

HorizontalPass horizontal_pass_for(int taps) {
  return area::by_taps(
      taps, [](auto k) -> HorizontalPass { return horizontal_pass<decltype(k)::value>; });
}

// The scalar resize, unturned, one output row at a time.
void resize_rows_scalar(const GrayView& src, std::uint8_t* dst, std::ptrdiff_t dst_stride,
                        int width, int height) {
  const AxisWeights wx = area::axis_weights(src.width, width);
  const AxisWeights wy = area::axis_weights(src.height, height);
  const HorizontalPass hpass = horizontal_pass_for(wx.taps);
  std::vector<std::int16_t> acc(static_cast<std::size_t>(src.width));
  const int sw = src.width;
  for (int y = 0; y < height; ++y) {
    // Vertical pass: the weighted sum of this output row's source rows, at source width.
    const int r0 = wy.start[static_cast<std::size_t>(y)];
    const std::int16_t* w = wy.of(y);
    std::fill(acc.begin(), acc.end(), 0);
    for (int k = 0; k < wy.taps; ++k) {
      const std::uint8_t* r = src.row(r0 + k);
      for (int x = 0; x < sw; ++x) {
        acc[x] = area::saturating_add(acc[x], area::weighted(area::to_q7(r[x]), w[k]));
      }
    }
    hpass(acc.data(), wx, dst + y * dst_stride, width);
  }
}

void check_sizes(const GrayView& src, int width, int height) {
  if (width < 1 || height < 1 || src.empty()) {
    throw std::invalid_argument("resize_area: empty size");
  }
}

// Copies (turns 0) or turns the unscaled window: no arithmetic at all.
void copy_turned(const GrayView& src, int turns, std::uint8_t* dst, std::ptrdiff_t dst_stride) {
  const int w = src.width, h = src.height;
  if (turns % 2 == 1) {
    rotate90_into(src, dst, dst_stride, /*clockwise=*/turns == 3);
    return;
  }
  for (int y = 0; y < h; ++y) {
    std::uint8_t* d = dst + y * dst_stride;
    if (turns == 0) {
      std::memcpy(d, src.row(y), static_cast<std::size_t>(w));
    } else {
      const std::uint8_t* r = src.row(h - 1 - y);
      for (int x = 0; x < w; ++x) d[x] = r[w - 1 - x];
    }
  }
}

}  // namespace

bool resize_area_is_vectorized() {
#if CAPFLOW_HAS_AVX2_PATH
  return has_avx2();
#else
  return false;
#endif
}

void resize_area_turned_reference(const GrayView& src, int width, int height, int turns,
                                  std::uint8_t* dst, std::ptrdiff_t dst_stride) {
  check_sizes(src, width, height);
  turns = ((turns % 4) + 4) % 4;
  if (turns == 0) {
    resize_rows_scalar(src, dst, dst_stride, width, height);
    return;
  }
  GrayImage small(width, height);
  resize_rows_scalar(src, small.pixels.data(), width, width, height);
  copy_turned(view(small), turns, dst, dst_stride);
}

void resize_area_turned_into(const GrayView& src, int width, int height, int turns,
                             std::uint8_t* dst, std::ptrdiff_t dst_stride) {
  check_sizes(src, width, height);
  turns = ((turns % 4) + 4) % 4;
  if (src.width == width && src.height == height) {
    copy_turned(src, turns, dst, dst_stride);
    return;
  }
#if CAPFLOW_HAS_AVX2_PATH
  if (has_avx2()) {
    area::resize_avx2(src, width, height, turns, dst, dst_stride);
    return;
  }
#endif
  resize_area_turned_reference(src, width, height, turns, dst, dst_stride);
}

}  // namespace capflow::image
