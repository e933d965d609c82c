// Internal to the area resize's vector paths (area_resize_avx2.cpp, area_resize_avx512.cpp):
// 16 x 16 blocks of output bytes, transposed and stored, turned or not. Include only where
// CAPFLOW_HAS_AVX2_PATH holds; call only where has_avx2() holds.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "nodes/image/cpu_dispatch.h"

namespace capflow::image::area {

// r[i][j] becomes r[j][i], 16 x 16 bytes: four rounds of interleaving halves.
CAPFLOW_AVX2 inline void transpose16_bytes(__m128i* r) {
  __m128i t[16];
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 8; ++i) {
      t[2 * i] = _mm_unpacklo_epi8(r[i], r[i + 8]);
      t[2 * i + 1] = _mm_unpackhi_epi8(r[i], r[i + 8]);
    }
    std::copy(t, t + 16, r);
  }
}

// Where a block's bytes go; `turned` stores each column as a row of the destination.
struct BlockTarget {
  std::uint8_t* dst;
  std::ptrdiff_t stride;
  bool turned;
};

// Stores the 16 x 16 block whose line j holds column x + j, rows y..y + 15: `cols` valid
// columns, `rows` valid rows.
CAPFLOW_AVX2 inline void store_block(const BlockTarget& t, __m128i* lines, int x, int y, int cols,
                                     int rows) {
  if (!t.turned) transpose16_bytes(lines);  // line i is now row y + i
  const int count = t.turned ? cols : rows, length = t.turned ? rows : cols;
  std::uint8_t* at = t.turned ? t.dst + x * t.stride + y : t.dst + y * t.stride + x;
  if (length == 16) {
    for (int i = 0; i < count; ++i) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(at + i * t.stride), lines[i]);
    }
    return;
  }
  alignas(16) std::uint8_t b[16];
  for (int i = 0; i < count; ++i) {
    _mm_store_si128(reinterpret_cast<__m128i*>(b), lines[i]);
    std::memcpy(at + i * t.stride, b, static_cast<std::size_t>(length));
  }
}

}  // namespace capflow::image::area
