// The AVX2 path of the area resize (area_resize_tables.h): the reference's fixed-point
// arithmetic on sixteen 16-bit lanes. The vertical pass runs for sixteen output rows at once and
// transposes them, so the horizontal pass computes one output column of sixteen rows per step
// (contiguous loads, no gathers) and can store it as a row of a turned picture.
#include "nodes/image/area_resize_tables.h"
#include "nodes/image/cpu_dispatch.h"

#if CAPFLOW_HAS_AVX2_PATH

#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "nodes/image/area_resize_blocks.h"

namespace capflow::image::area {

namespace {

constexpr int kLanes = 16;  // output rows resized together: one register of 16-bit values

// Sixteen pixels at p, in Q7.
CAPFLOW_AVX2 inline __m256i load16_q7(const std::uint8_t* p) {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_slli_epi16(_mm256_cvtepu8_epi16(bytes), 7);
}

// s + weighted(value, weight), saturated (weighted() and saturating_add() on every lane).
CAPFLOW_AVX2 inline __m256i add_weighted(__m256i s, __m256i value, std::int16_t weight) {
  return _mm256_adds_epi16(s, _mm256_mulhrs_epi16(value, _mm256_set1_epi16(weight)));
}

// An 8 x 8 transpose of 16-bit values within each 128-bit half: r[j] becomes, in its low half,
// element j of the low halves of r[0..7], and in its high half element j of the high halves.
CAPFLOW_AVX2 inline void transpose8_halves(__m256i* r) {
  __m256i a[8], b[8];
  for (int i = 0; i < 4; ++i) {
    a[2 * i] = _mm256_unpacklo_epi16(r[2 * i], r[2 * i + 1]);
    a[2 * i + 1] = _mm256_unpackhi_epi16(r[2 * i], r[2 * i + 1]);
  }
  for (int h = 0; h < 2; ++h) {  // rows 0..3, then rows 4..7
    const __m256i* s = a + 4 * h;
    b[4 * h] = _mm256_unpacklo_epi32(s[0], s[2]);
    b[4 * h + 1] = _mm256_unpackhi_epi32(s[0], s[2]);
    b[4 * h + 2] = _mm256_unpacklo_epi32(s[1], s[3]);
    b[4 * h + 3] = _mm256_unpackhi_epi32(s[1], s[3]);
  }
  for (int i = 0; i < 4; ++i) {
    r[2 * i] = _mm256_unpacklo_epi64(b[i], b[i + 4]);
    r[2 * i + 1] = _mm256_unpackhi_epi64(b[i], b[i + 4]);
  }
}

// r[i][j] becomes r[j][i], 16 x 16 values.
CAPFLOW_AVX2 inline void transpose16(__m256i* r) {
  transpose8_halves(r);
  transpose8_halves(r + 8);
  __m256i t[16];
  for (int c = 0; c < 8; ++c) {
    t[c] = _mm256_permute2x128_si256(r[c], r[c + 8], 0x20);
    t[c + 8] = _mm256_permute2x128_si256(r[c], r[c + 8], 0x31);
  }
  std::copy(t, t + 16, r);
}

// The vertical pass of output rows rows[0..15], stored transposed: acc[kLanes * x + lane] for
// every source column x.
template <int kTaps>
CAPFLOW_AVX2 void vertical_block(const GrayView& src, const AxisWeights& wy, const int* rows,
                                 std::int16_t* acc) {
  const int taps = kTaps > 0 ? kTaps : wy.taps;
  const std::uint8_t* base[kLanes];
  const std::int16_t* w[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    base[l] = src.row(wy.start[static_cast<std::size_t>(rows[l])]);
    w[l] = wy.of(rows[l]);
  }
  const int sw = src.width;
  const std::ptrdiff_t stride = src.stride;
  const auto columns = [&](int x) CAPFLOW_AVX2 {  // source columns x..x + 15
    __m256i v[kLanes];
    for (int l = 0; l < kLanes; ++l) {
      __m256i s = _mm256_setzero_si256();
      for (int k = 0; k < taps; ++k)
        s = add_weighted(s, load16_q7(base[l] + k * stride + x), w[l][k]);
      v[l] = s;
    }
    transpose16(v);
    for (int j = 0; j < kLanes; ++j) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + kLanes * (x + j)), v[j]);
    }
  };
  int x = 0;
  for (; x + kLanes <= sw; x += kLanes) columns(x);
  if (x < sw && sw >= kLanes) {
    columns(sw - kLanes);  // the last 16 columns again: the same values, no scalar tail
    return;
  }
  for (; x < sw; ++x) {
    for (int l = 0; l < kLanes; ++l) {
      std::int16_t s = 0;
      for (int k = 0; k < taps; ++k)
        s = saturating_add(s, weighted(to_q7(base[l][k * stride + x]), w[l][k]));
      acc[kLanes * x + l] = s;
    }
  }
}

using VerticalBlock = void (*)(const GrayView&, const AxisWeights&, const int*, std::int16_t*);

VerticalBlock vertical_block_for(int taps) {
  return by_taps(taps, [](auto k) -> VerticalBlock { return vertical_block<decltype(k)::value>; });
}

// Output column x of the sixteen rows, as pixels in 16-bit lanes (the horizontal pass).
template <int kTaps>
CAPFLOW_AVX2 inline __m256i column(const std::int16_t* acc, const AxisWeights& wx, int x) {
  const int n = kTaps > 0 ? kTaps : wx.taps;
  const std::int16_t* a = acc + kLanes * wx.start[static_cast<std::size_t>(x)];
  const std::int16_t* w = wx.of(x);
  __m256i s = _mm256_setzero_si256();
  for (int k = 0; k < n; ++k) {
    s = add_weighted(s, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + kLanes * k)), w[k]);
  }
  return _mm256_srli_epi16(_mm256_adds_epi16(s, _mm256_set1_epi16(64)), 7);  // to_pixel()
}

template <int kTaps>
CAPFLOW_AVX2 void horizontal_block(const std::int16_t* acc, const AxisWeights& wx, int width,
                                   const BlockTarget& t, int y, int rows) {
  const int last = width - 1;
  for (int x = 0; x < width; x += kLanes) {
    __m128i lines[kLanes];
    for (int j = 0; j < kLanes; j += 2) {
      // Past the last column, the last one again (computed, not stored).
      const __m256i pair = _mm256_packus_epi16(column<kTaps>(acc, wx, std::min(x + j, last)),
                                               column<kTaps>(acc, wx, std::min(x + j + 1, last)));
      // pair: column j rows 0-7, column j + 1 rows 0-7 | column j rows 8-15, j + 1 rows 8-15.
      const __m256i ordered = _mm256_permute4x64_epi64(pair, 0xD8);
      lines[j] = _mm256_castsi256_si128(ordered);
      lines[j + 1] = _mm256_extracti128_si256(ordered, 1);
    }
    store_block(t, lines, x, y, std::min(kLanes, width - x), rows);
  }
}

using HorizontalBlock = void (*)(const std::int16_t*, const AxisWeights&, int, const BlockTarget&,
                                 int, int);

HorizontalBlock horizontal_block_for(int taps) {
  return by_taps(taps,
                 [](auto k) -> HorizontalBlock { return horizontal_block<decltype(k)::value>; });
}

}  // namespace

// Turning by tables and stores: a half turn mirrors both axes; a counter-clockwise quarter
// turn mirrors x and stores columns as rows; a clockwise one mirrors y.
void resize_avx2(const GrayView& src, int width, int height, int turns, std::uint8_t* dst,
                 std::ptrdiff_t dst_stride) {
  const bool mirror_x = turns == 1 || turns == 2, mirror_y = turns == 2 || turns == 3;
  const AxisWeights wx = axis_weights(src.width, width, mirror_x);
  const AxisWeights wy = axis_weights(src.height, height, mirror_y);
  const VerticalBlock vblock = vertical_block_for(wy.taps);
  const HorizontalBlock hblock = horizontal_block_for(wx.taps);
  const BlockTarget target{dst, dst_stride, turns % 2 == 1};
  thread_local std::vector<std::int16_t> acc;
  acc.resize(static_cast<std::size_t>(kLanes) * static_cast<std::size_t>(src.width));
  for (int y = 0; y < height; y += kLanes) {
    int lane_rows[kLanes];  // past the last row, the last one again
    for (int l = 0; l < kLanes; ++l) lane_rows[l] = std::min(y + l, height - 1);
    vblock(src, wy, lane_rows, acc.data());
    hblock(acc.data(), wx, width, target, y, std::min(kLanes, height - y));
  }
}

}  // namespace capflow::image::area

#endif  // CAPFLOW_HAS_AVX2_PATH
