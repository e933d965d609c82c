// The AVX-512 path of the area resize (area_resize_tables.h): the reference's fixed-point
// arithmetic, row by row in the reference's order, on 32 16-bit lanes. The vertical pass sums an
// output row's source rows 32 columns at a time; the horizontal pass takes each tap of 32
// neighbouring outputs from a window of 64 values of that row with one permute (vpermt2w), so
// nothing is transposed unless the picture is turned (then 16 x 16 tiles of bytes are). It runs
// where every 32 neighbouring outputs read at most 64 neighbouring values (a shrink across of up
// to about 1.9 times, a margin-cropped BMS picture to 224); elsewhere the caller takes the AVX2
// path.
#include "nodes/image/area_resize_tables.h"
#include "nodes/image/cpu_dispatch.h"

#if CAPFLOW_HAS_AVX2_PATH

#include <immintrin.h>

#include <algorithm>
#include <climits>
#include <vector>

#include "nodes/image/area_resize_blocks.h"

namespace capflow::image::area {

namespace {

constexpr int kLanes = 32;   // 16-bit values in one register
constexpr int kWindow = 64;  // values two registers hold: what one permute chooses from

// The horizontal pass laid out for the permutes: per block of 32 outputs, where its window
// starts in the row, and per tap the 32 outputs' positions in the window and their weights.
struct HorizontalPlan {
  int taps = 1, blocks = 0;
  std::vector<int> base;             // [block]
  std::vector<std::int16_t> index;   // [block][tap][lane]
  std::vector<std::int16_t> weight;  // [block][tap][lane]
};

// The plan for `width` outputs of `wx`; false where a block's window spans more than 64 values
// (resize_avx512 refuses such shrinks before; this is the exact check).
// Lanes past the last output repeat it (computed, not stored).
bool plan_horizontal(const AxisWeights& wx, int width, HorizontalPlan& plan) {
  plan.taps = wx.taps;
  plan.blocks = (width + kLanes - 1) / kLanes;
  const auto values = static_cast<std::size_t>(plan.blocks) * plan.taps * kLanes;
  plan.base.assign(static_cast<std::size_t>(plan.blocks), 0);
  plan.index.resize(values);
  plan.weight.resize(values);
  for (int b = 0; b < plan.blocks; ++b) {
    const int first = b * kLanes, last = std::min(width, first + kLanes) - 1;
    int lo = INT_MAX, hi = 0;
    for (int o = first; o <= last; ++o) {
      lo = std::min(lo, wx.start[static_cast<std::size_t>(o)]);
      hi = std::max(hi, wx.start[static_cast<std::size_t>(o)] + wx.taps);
    }
    if (hi - lo > kWindow) return false;
    plan.base[static_cast<std::size_t>(b)] = lo;
    for (int k = 0; k < plan.taps; ++k) {
      for (int l = 0; l < kLanes; ++l) {
        const int o = std::min(first + l, last);
        const auto at = (static_cast<std::size_t>(b) * plan.taps + k) * kLanes + l;
        plan.index[at] = static_cast<std::int16_t>(wx.start[static_cast<std::size_t>(o)] + k - lo);
        plan.weight[at] = wx.of(o)[k];
      }
    }
  }
  return true;
}

// The low `n` of 32 lanes.
CAPFLOW_AVX512BW inline __mmask32 first_lanes(int n) {
  return n >= kLanes ? ~__mmask32{0} : (__mmask32{1} << n) - 1;
}

// The vertical pass of output row y: acc[x] for every source column x (and zeros up to the next
// multiple of 32).
template <int kTaps>
CAPFLOW_AVX512BW void vertical_row(const GrayView& src, const AxisWeights& wy, int y,
                                   std::int16_t* acc) {
  const int taps = kTaps > 0 ? kTaps : wy.taps;
  const std::uint8_t* first = src.row(wy.start[static_cast<std::size_t>(y)]);
  const std::int16_t* w = wy.of(y);
  for (int x = 0; x < src.width; x += kLanes) {
    const __mmask32 m = first_lanes(src.width - x);
    __m512i s = _mm512_setzero_si512();
    for (int k = 0; k < taps; ++k) {
      const __m256i bytes = _mm256_maskz_loadu_epi8(m, first + k * src.stride + x);
      const __m512i q7 = _mm512_slli_epi16(_mm512_cvtepu8_epi16(bytes), 7);
      s = _mm512_adds_epi16(s, _mm512_mulhrs_epi16(q7, _mm512_set1_epi16(w[k])));
    }
    _mm512_storeu_si512(acc + x, s);
  }
}

using VerticalRow = void (*)(const GrayView&, const AxisWeights&, int, std::int16_t*);

VerticalRow vertical_row_for(int taps) {
  return by_taps(taps, [](auto k) -> VerticalRow { return vertical_row<decltype(k)::value>; });
}

// The horizontal pass of one row: `width` pixels at out, from the vertical pass's row acc.
template <int kTaps>
CAPFLOW_AVX512BW void horizontal_row(const std::int16_t* acc, const HorizontalPlan& plan, int width,
                                     std::uint8_t* out) {
  const int taps = kTaps > 0 ? kTaps : plan.taps;
  for (int b = 0; b < plan.blocks; ++b) {
    const std::int16_t* window = acc + plan.base[static_cast<std::size_t>(b)];
    const __m512i lo = _mm512_loadu_si512(window), hi = _mm512_loadu_si512(window + kLanes);
    const auto at = static_cast<std::size_t>(b) * taps * kLanes;
    const std::int16_t* index = &plan.index[at];
    const std::int16_t* weight = &plan.weight[at];
    __m512i s = _mm512_setzero_si512();
    for (int k = 0; k < taps; ++k) {
      const __m512i v = _mm512_permutex2var_epi16(lo, _mm512_loadu_si512(index + k * kLanes), hi);
      s = _mm512_adds_epi16(s, _mm512_mulhrs_epi16(v, _mm512_loadu_si512(weight + k * kLanes)));
    }
    const __m512i pixels = _mm512_srli_epi16(_mm512_adds_epi16(s, _mm512_set1_epi16(64)), 7);
    // The zero-masking form of the narrowing: GCC 12's plain form warns of an undefined value.
    _mm256_mask_storeu_epi8(out + b * kLanes, first_lanes(width - b * kLanes),
                            _mm512_maskz_cvtepi16_epi8(first_lanes(kLanes), pixels));
  }
}

using HorizontalRow = void (*)(const std::int16_t*, const HorizontalPlan&, int, std::uint8_t*);

HorizontalRow horizontal_row_for(int taps) {
  return by_taps(taps, [](auto k) -> HorizontalRow { return horizontal_row<decltype(k)::value>; });
}

// One resize's tables and kernels.
struct RowResizer {
  const GrayView& src;
  AxisWeights wy;
  const HorizontalPlan& plan;
  int width;
  VerticalRow vrow;
  HorizontalRow hrow;
  std::int16_t* acc;

  void row(int y, std::uint8_t* out) const {
    vrow(src, wy, y, acc);
    hrow(acc, plan, width, out);
  }
};

// Turned pictures: sixteen rows at a time into `band`, then stored as columns, 16 x 16 bytes
// at a time.
CAPFLOW_AVX512BW void turned_rows(const RowResizer& r, int height, std::uint8_t* dst,
                                  std::ptrdiff_t dst_stride) {
  const int band_stride = (r.width + 15) / 16 * 16;
  thread_local std::vector<std::uint8_t> band;
  band.resize(static_cast<std::size_t>(16) * static_cast<std::size_t>(band_stride));
  const BlockTarget target{dst, dst_stride, true};
  for (int y = 0; y < height; y += 16) {
    const int rows = std::min(16, height - y);
    for (int i = 0; i < rows; ++i) r.row(y + i, band.data() + i * band_stride);
    for (int x = 0; x < r.width; x += 16) {
      __m128i lines[16];  // lines past `rows` hold an earlier band's bytes: never stored
      for (int i = 0; i < 16; ++i) {
        lines[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&band[i * band_stride + x]));
      }
      transpose16_bytes(lines);  // line j is now column x + j
      store_block(target, lines, x, y, std::min(16, r.width - x), rows);
    }
  }
}

}  // namespace

// Turning as the AVX2 path does: a half turn mirrors both axes; a counter-clockwise quarter
// turn mirrors x and stores columns as rows; a clockwise one mirrors y.
bool resize_avx512(const GrayView& src, int width, int height, int turns, std::uint8_t* dst,
                   std::ptrdiff_t dst_stride) {
  // 32 outputs span at most 31 in / out + 1 + taps source pixels, and taps <= in / out + 2:
  // a wider shrink is refused before any table is made (the AVX2 path makes its own).
  if (32 * std::int64_t{src.width} + 3 * std::int64_t{width} > kWindow * std::int64_t{width})
    return false;
  const bool mirror_x = turns == 1 || turns == 2, mirror_y = turns == 2 || turns == 3;
  thread_local HorizontalPlan plan;
  if (!plan_horizontal(axis_weights(src.width, width, mirror_x), width, plan)) return false;
  thread_local std::vector<std::int16_t> acc;
  // Room for the vertical pass's last 32 columns and for the window read past them.
  acc.resize(static_cast<std::size_t>(src.width) + kWindow + kLanes);
  AxisWeights wy = axis_weights(src.height, height, mirror_y);
  const VerticalRow vrow = vertical_row_for(wy.taps);
  const RowResizer r{src,       std::move(wy), plan, width, vrow, horizontal_row_for(plan.taps),
                     acc.data()};
  if (turns % 2 == 1) {
    turned_rows(r, height, dst, dst_stride);
    return true;
  }
  for (int y = 0; y < height; ++y) r.row(y, dst + y * dst_stride);
  return true;
}

}  // namespace capflow::image::area

#endif  // CAPFLOW_HAS_AVX2_PATH
