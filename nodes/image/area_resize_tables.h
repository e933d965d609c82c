// Internal to the area resize (area_resize.h): the per-axis weight tables and the fixed-point
// arithmetic that the scalar reference and the AVX2 path share, step for step, so that both
// give the same bytes.
//
// The arithmetic, in 16-bit integers: a weight w in [0, 1] is held as round(w 2^15) (at most
// 32767; an output's weights adjusted to sum to 2^15), a pixel p as p 2^7 ("Q7"). A weighted
// value is (value * weight + 2^14) >> 15, rounded to nearest (the AVX2 instruction vpmulhrsw),
// which keeps Q7; sums saturate at 32767. The vertical pass sums a column of source rows, the
// horizontal pass sums that result along the row, and the output is (sum + 64) >> 7, at most
// 255. Each product is off by at most half a unit of Q7, 1 / 256 of a gray level, either way,
// and the rounded weights move a result by at most as much again per tap: a pixel lies within
// 0.5 + (taps across + taps down) / 128 gray levels of the exact average.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "nodes/image/gray_ops.h"

namespace capflow::image::area {

// Per-axis resampling weights with a fixed number of taps per output (zero-padded), so the
// inner loops have no data-dependent bounds: output i reads source pixels
// [start[i], start[i] + taps) with weights weight[i * taps ...].
struct AxisWeights {
  int taps = 1;
  std::vector<int> start;
  std::vector<std::int16_t> weight;

  const std::int16_t* of(int o) const { return &weight[static_cast<std::size_t>(o) * taps]; }
};

// The table for `in` source pixels and `out` outputs; `reversed` lists the outputs last to
// first (a mirrored result, used to turn pictures). Box filter when shrinking, bilinear with
// aligned pixel centres when growing.
AxisWeights axis_weights(int in, int out, bool reversed = false);

inline std::int16_t to_q7(std::uint8_t p) { return static_cast<std::int16_t>(p << 7); }

inline std::int16_t weighted(std::int16_t value, std::int16_t weight) {
  return static_cast<std::int16_t>((std::int32_t{value} * weight + (1 << 14)) >> 15);
}

inline std::int16_t saturating_add(std::int16_t a, std::int16_t b) {
  const std::int32_t s = std::int32_t{a} + b;  // both >= 0 here
  return static_cast<std::int16_t>(s > 0x7fff ? 0x7fff : s);
}

inline std::uint8_t to_pixel(std::int16_t q7) {
  return static_cast<std::uint8_t>(saturating_add(q7, 64) >> 7);
}

// pick(std::integral_constant<int, K>) for K = taps when 1..4 (the unrolled kernels), else K = 0
// (the kernel that reads the count at run time).
template <class Pick>
auto by_taps(int taps, Pick pick) {
  switch (taps) {
    case 1:
      return pick(std::integral_constant<int, 1>{});
    case 2:
      return pick(std::integral_constant<int, 2>{});
    case 3:
      return pick(std::integral_constant<int, 3>{});
    case 4:
      return pick(std::integral_constant<int, 4>{});
    default:
      return pick(std::integral_constant<int, 0>{});
  }
}

// The AVX2 path (area_resize_avx2.cpp): resize_area_turned_into's work for width x height
// outputs, turns in 0..3. Only where CAPFLOW_HAS_AVX2_PATH and has_avx2() hold.
void resize_avx2(const GrayView& src, int width, int height, int turns, std::uint8_t* dst,
                 std::ptrdiff_t dst_stride);

// The AVX-512 path (area_resize_avx512.cpp): the same work, row by row; false (nothing written)
// where 32 neighbouring outputs across read more than 64 neighbouring source pixels. Only where
// CAPFLOW_HAS_AVX2_PATH and has_avx512bw() hold.
bool resize_avx512(const GrayView& src, int width, int height, int turns, std::uint8_t* dst,
                   std::ptrdiff_t dst_stride);

}  // namespace capflow::image::area
