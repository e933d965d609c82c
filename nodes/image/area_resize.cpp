// The area resize (see area_resize.h): the weight tables and the scalar reference, in the
// fixed-point arithmetic of area_resize_tables.h, and the choice of path when run. The vector
// paths are area_resize_avx512.cpp and area_resize_avx2.cpp.
#include "nodes/image/area_resize.h"

#include <algorithm>
#include <cstring>
#include <numeric>
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

// Makes an output's Q15 weights, which sum to `sum`, sum to 2^15 (a uniform picture stays
// uniform): its largest weight takes the rounding's remainder, capped at 32767 (a single
// weight of 1).
void take_remainder(std::int16_t& largest, int sum) {
  largest = static_cast<std::int16_t>(std::clamp(largest + (32768 - sum), 0, 32767));
}

// Output weights w[0..n) in Q15, adjusted by take_remainder().
void quantize(const double* w, int n, std::int16_t* q) {
  int sum = 0, largest = 0;
  for (int k = 0; k < n; ++k) {
    q[k] = static_cast<std::int16_t>(std::min(static_cast<int>(w[k] * 32768.0 + 0.5), 32767));
    sum += q[k];
    if (q[k] > q[largest]) largest = k;
  }
  take_remainder(q[largest], sum);
}

// Output o's row of `a` (a.taps per output, zero-padded, a.start and a.weight sized), mirrored
// when `reversed`, for a window whose first source pixel is `first`: sets its start and returns
// where its first weight goes. A window that would run past the source's end is shifted left,
// its extra taps weighing zero.
std::int16_t* row_for(AxisWeights& a, int in, int o, bool reversed, int first) {
  const std::size_t n = a.start.size();
  const std::size_t to =
      reversed ? n - 1 - static_cast<std::size_t>(o) : static_cast<std::size_t>(o);
  const int s = std::min(first, in - a.taps);
  a.start[to] = s;
  return &a.weight[to * static_cast<std::size_t>(a.taps) + static_cast<std::size_t>(first - s)];
}

// Writes output o's weights q[0..count) into its row of `a` (row_for()).
void place(AxisWeights& a, int in, int o, bool reversed, int first, const std::int16_t* q,
           int count) {
  std::int16_t* w = row_for(a, in, o, reversed, first);
  for (int k = 0; k < count; ++k) w[k] = q[k];
}

// The box filter of a downscale (in > out), in exact integers: in units of 1 / out, output o
// covers [o in, (o + 1) in) and source pixel i covers [i out, (i + 1) out); its weight is the
// overlap / in. With o in = i0 out + r, output o overlaps pixel i0 by out - r, then `wholes`
// pixels whole, then the next window's r: all stepped from output to output without a
// division (a division per weight cost more than the resize's rows). Calls
// visit(o, i0, r, wholes, next_r) for every output.
template <class Visit>
void box_windows(int in, int out, Visit visit) {
  const int step = in / out, rest = in % out;
  int i0 = 0, r = 0;
  for (int o = 0; o < out; ++o) {
    const int carry = r + rest >= out ? 1 : 0;
    const int next_r = r + rest - carry * out;
    visit(o, i0, r, step - 1 + carry, next_r);
    i0 += step + carry;
    r = next_r;
  }
}

// The most pixels a box window overlaps: `step` = in / out whole pixels, plus one partial pixel
// at each end where the windows do not fall on pixel edges. Window o starts at r = o in mod out
// (units of 1 / out), and r runs through every multiple of g = gcd(in mod out, out) below out;
// a window ends inside the pixel after its last whole one, taking step + 2 pixels, when some
// r > out - in mod out, that is when in mod out > g.
int box_taps(int in, int out) {
  const int step = in / out, rest = in % out;
  if (rest == 0) return step;
  return step + 1 + (rest > std::gcd(rest, out) ? 1 : 0);
}

// The box filter's table, weights in Q15 adjusted by take_remainder(), written in place: the
// table's cost per output is a handful of integer steps (it is made once per picture and axis).
AxisWeights box_weights(int in, int out, bool reversed) {
  AxisWeights a;
  a.taps = box_taps(in, out);
  const auto n = static_cast<std::size_t>(out);
  a.start.resize(n);
  a.weight.assign(n * static_cast<std::size_t>(a.taps), 0);
  const double scale = 32768.0 / in;
  const auto q15 = [scale](int overlap) {
    return std::min(static_cast<int>(overlap * scale + 0.5), 32767);
  };
  const int whole = q15(out);
  box_windows(in, out, [&](int o, int i0, int r, int wholes, int next_r) {
    std::int16_t* w = row_for(a, in, o, reversed, i0);
    const int head = q15(out - r), tail = next_r > 0 ? q15(next_r) : 0;
    w[0] = static_cast<std::int16_t>(head);
    for (int k = 1; k <= wholes; ++k) w[k] = static_cast<std::int16_t>(whole);
    if (next_r > 0) w[wholes + 1] = static_cast<std::int16_t>(tail);
    take_remainder(wholes > 0     ? w[1]
                   : head >= tail ? w[0]
                                  : w[next_r > 0 ? 1 : 0],
                   head + wholes * whole + tail);
  });
  return a;
}

}  // namespace

AxisWeights axis_weights(int in, int out, bool reversed) {
  if (in > out) return box_weights(in, out, reversed);
  const auto n = static_cast<std::size_t>(out);
  thread_local std::vector<double> w;  // output o's two weights at 2 o
  thread_local std::vector<int> first, count;
  w.assign(2 * n, 0.0);
  first.resize(n);
  count.resize(n);
  AxisWeights a;
  for (std::size_t o = 0; o < n; ++o) {
    count[o] = interpolation_weights(in, out, static_cast<int>(o), &w[2 * o], &first[o]);
    a.taps = std::max(a.taps, count[o]);
  }
  a.start.resize(n);
  a.weight.assign(n * static_cast<std::size_t>(a.taps), 0);
  for (std::size_t o = 0; o < n; ++o) {
    std::int16_t q[2] = {0, 0};
    quantize(&w[2 * o], count[o], q);
    place(a, in, static_cast<int>(o), reversed, first[o], q, count[o]);
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
  if (has_avx512bw() && area::resize_avx512(src, width, height, turns, dst, dst_stride)) return;
  if (has_avx2()) {
    area::resize_avx2(src, width, height, turns, dst, dst_stride);
    return;
  }
#endif
  resize_area_turned_reference(src, width, height, turns, dst, dst_stride);
}

}  // namespace capflow::image
