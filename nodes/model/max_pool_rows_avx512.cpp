// The stem max pooling's rows on AVX-512 (see max_pool_rows.h): per output position and block
// of 16 channels, the window's maximum and winner stay in two registers (the portable rows keep
// them in arrays, reloaded at each of the nine taps).
#include "nodes/image/cpu_dispatch.h"  // CAPFLOW_AVX512BW, has_avx512bw(): the resize's dispatch
#include "nodes/model/max_pool_rows.h"

#if CAPFLOW_HAS_AVX2_PATH
#include <immintrin.h>
#endif

#include <algorithm>

namespace capflow::model::pool {

#if CAPFLOW_HAS_AVX2_PATH

namespace {

constexpr int64_t kLanes = 16;
// Every lane: the zero-masked forms of the conversions and shifts below, which GCC 12 does not
// mistake for reads of an uninitialised source (-Wmaybe-uninitialized), as it does the plain.
constexpr __mmask16 kAll = 0xffff;

CAPFLOW_AVX512BW inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
CAPFLOW_AVX512BW inline __m512 load16(const uint16_t* p) {
  const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(
      _mm512_maskz_slli_epi32(kAll, _mm512_maskz_cvtepu16_epi32(kAll, bits), 16));
}

CAPFLOW_AVX512BW inline void store16(float* p, __m512 v) { _mm512_storeu_ps(p, v); }
// Round to nearest even, NaN to 0x7fc0: cpu::store's rule, 16 at a time.
CAPFLOW_AVX512BW inline void store16(uint16_t* p, __m512 v) {
  const __m512i bits = _mm512_castps_si512(v);
  const __m512i odd =
      _mm512_and_si512(_mm512_maskz_srli_epi32(kAll, bits, 16), _mm512_set1_epi32(1));
  __m512i rounded = _mm512_maskz_srli_epi32(
      kAll, _mm512_add_epi32(bits, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7fff))), 16);
  rounded = _mm512_mask_mov_epi32(rounded, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q),
                                  _mm512_set1_epi32(0x7fc0));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_maskz_cvtepi32_epi16(kAll, rounded));
}

// The taps of a window inside the image: rows dh ∈ [dh0, dh1], columns dw ∈ [dw0, dw1].
struct Taps {
  int dh0, dh1, dw0, dw1;
};

// A window's maximum so far and its winner's tap, 16 channels.
struct Best {
  __m512 v;
  __m512i k;
};

// `b` replaces `a` where it is larger or NaN: the later of two ties loses, the later NaN wins
// (the portable rows' `v > best || v != v`, applied in tap order).
CAPFLOW_AVX512BW inline Best later(const Best& a, const Best& b) {
  const __mmask16 take =
      _mm512_cmp_ps_mask(b.v, a.v, _CMP_GT_OQ) | _mm512_cmp_ps_mask(b.v, b.v, _CMP_UNORD_Q);
  return {_mm512_mask_mov_ps(a.v, take, b.v), _mm512_mask_mov_epi32(a.k, take, b.k)};
}

template <typename T>
CAPFLOW_AVX512BW inline Best tap(const T* p, int k) {
  return {load16(p), _mm512_set1_epi32(k)};
}

// A window inside the image, as a tree: each row's three taps, then the three rows. Taking the
// later of (earlier, later) pairs keeps the sequential rule, so the result is the same; the
// dependency chain is four comparisons long instead of eight.
template <typename T>
CAPFLOW_AVX512BW inline Best interior_window(const T* top_left, int64_t row_stride, int64_t C) {
  Best rows[3];
  for (int dh = 0; dh < 3; ++dh) {
    const T* r = top_left + dh * row_stride;
    rows[dh] = later(later(tap(r, 3 * dh), tap(r + C, 3 * dh + 1)), tap(r + 2 * C, 3 * dh + 2));
  }
  return later(later(rows[0], rows[1]), rows[2]);
}

template <typename T>
CAPFLOW_AVX512BW inline void store_best(const Best& b, T* out, uint8_t* winner) {
  store16(out, b.v);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(winner), _mm512_maskz_cvtepi32_epi8(kAll, b.k));
}

// One block of 16 channels at `c` of the output position whose window starts at (h0, w0),
// taps in row order (a window at the image's edge).
template <typename T>
CAPFLOW_AVX512BW inline void pool_block(const T* x, const Geometry& g, int64_t n, int64_t h0,
                                        int64_t w0, const Taps& t, int64_t c, T* out,
                                        uint8_t* winner) {
  Best best{};
  bool first = true;
  for (int dh = t.dh0; dh <= t.dh1; ++dh) {
    const T* row = x + ((n * g.H + h0 + dh) * g.W + w0) * g.C + c;
    for (int dw = t.dw0; dw <= t.dw1; ++dw) {
      const Best b = tap(row + dw * g.C, 3 * dh + dw);
      best = first ? b : later(best, b);
      first = false;
    }
  }
  store_best(best, out, winner);
}

template <typename T>
CAPFLOW_AVX512BW void forward_row(const T* x, T* out, uint8_t* winner, const Geometry& g, int64_t n,
                                  int64_t oh) {
  const int64_t h0 = 2 * oh - 1;
  Taps t{h0 < 0 ? 1 : 0, static_cast<int>(std::min<int64_t>(2, g.H - 1 - h0)), 0, 2};
  const bool full_rows = t.dh0 == 0 && t.dh1 == 2;
  for (int64_t ow = 0; ow < g.Wo; ++ow) {
    const int64_t w0 = 2 * ow - 1;
    t.dw0 = w0 < 0 ? 1 : 0;
    t.dw1 = static_cast<int>(std::min<int64_t>(2, g.W - 1 - w0));
    const int64_t o = ((n * g.Ho + oh) * g.Wo + ow) * g.C;
    if (full_rows && t.dw0 == 0 && t.dw1 == 2) {
      const T* top_left = x + ((n * g.H + h0) * g.W + w0) * g.C;
      for (int64_t c = 0; c < g.C; c += kLanes)
        store_best(interior_window(top_left + c, g.W * g.C, g.C), out + o + c, winner + o + c);
      continue;
    }
    for (int64_t c = 0; c < g.C; c += kLanes)
      pool_block(x, g, n, h0, w0, t, c, out + o + c, winner + o + c);
  }
}

// The gradient of 16 channels of one input position: the sum of dy over its kRows × kCols
// windows (output offsets `o[i] + j·C`, taps k[i][j]) that it won, in row order from zero.
template <int kRows, int kCols, typename T>
CAPFLOW_AVX512BW inline __m512 won_sum(const T* dy, const uint8_t* winner, const int64_t* o,
                                       const char (&k)[2][2], int64_t C) {
  __m512 acc = _mm512_setzero_ps();
  for (int i = 0; i < kRows; ++i) {
    for (int j = 0; j < kCols; ++j) {
      const int64_t at = o[i] + j * C;
      const __m128i won = _mm_loadu_si128(reinterpret_cast<const __m128i*>(winner + at));
      const __mmask16 mine = _mm_cmpeq_epi8_mask(won, _mm_set1_epi8(k[i][j]));
      acc = _mm512_mask_add_ps(acc, mine, acc, load16(dy + at));
    }
  }
  return acc;
}

// One input position (all its channels) covered by kRows × kCols windows.
template <int kRows, int kCols, typename T>
CAPFLOW_AVX512BW inline void position(const T* dy, const uint8_t* winner, T* out,
                                      const int64_t (&row_at)[2], int64_t ow0,
                                      const char (&k)[2][2], int64_t C) {
  const int64_t o[2] = {row_at[0] + ow0 * C, row_at[1] + ow0 * C};
  for (int64_t c = 0; c < C; c += kLanes) {
    const int64_t oc[2] = {o[0] + c, o[1] + c};
    store16(out + c, won_sum<kRows, kCols>(dy, winner, oc, k, C));
  }
}

// Input row (n, h): each position's gradient, the sum of dy over the windows (≤ 2 × 2) whose
// winner it is, in the portable rows' order. The window counts (one or two per axis) are
// template arguments, so each position's sum is straight-line code.
template <typename T>
CAPFLOW_AVX512BW void backward_row(const T* dy, const uint8_t* winner, T* dx, const Geometry& g,
                                   int64_t n, int64_t h) {
  const int64_t oh0 = std::max<int64_t>(0, h / 2), oh1 = std::min(g.Ho - 1, (h + 1) / 2);
  const int rows = static_cast<int>(oh1 - oh0 + 1);
  const int64_t row_at[2] = {(n * g.Ho + oh0) * g.Wo * g.C, (n * g.Ho + oh1) * g.Wo * g.C};
  for (int64_t w = 0; w < g.W; ++w) {
    const int64_t ow0 = std::max<int64_t>(0, w / 2), ow1 = std::min(g.Wo - 1, (w + 1) / 2);
    char k[2][2];
    for (int i = 0; i < 2; ++i) {
      for (int j = 0; j < 2; ++j)
        k[i][j] = static_cast<char>(3 * (h - 2 * (oh0 + i) + 1) + (w - 2 * (ow0 + j) + 1));
    }
    T* out = dx + ((n * g.H + h) * g.W + w) * g.C;
    if (rows == 2) {
      ow1 > ow0 ? position<2, 2>(dy, winner, out, row_at, ow0, k, g.C)
                : position<2, 1>(dy, winner, out, row_at, ow0, k, g.C);
    } else {
      ow1 > ow0 ? position<1, 2>(dy, winner, out, row_at, ow0, k, g.C)
                : position<1, 1>(dy, winner, out, row_at, ow0, k, g.C);
    }
  }
}

}  // namespace

bool avx512_rows_available() { return image::has_avx512bw(); }

void forward_row_avx512(const float* x, float* out, uint8_t* winner, const Geometry& g, int64_t n,
                        int64_t oh) {
  forward_row(x, out, winner, g, n, oh);
}
void forward_row_avx512(const uint16_t* x, uint16_t* out, uint8_t* winner, const Geometry& g,
                        int64_t n, int64_t oh) {
  forward_row(x, out, winner, g, n, oh);
}
void backward_row_avx512(const float* dy, const uint8_t* winner, float* dx, const Geometry& g,
                         int64_t n, int64_t h) {
  backward_row(dy, winner, dx, g, n, h);
}
void backward_row_avx512(const uint16_t* dy, const uint8_t* winner, uint16_t* dx, const Geometry& g,
                         int64_t n, int64_t h) {
  backward_row(dy, winner, dx, g, n, h);
}

#else  // not x86-64: the portable rows only

bool avx512_rows_available() { return false; }
void forward_row_avx512(const float*, float*, uint8_t*, const Geometry&, int64_t, int64_t) {}
void forward_row_avx512(const uint16_t*, uint16_t*, uint8_t*, const Geometry&, int64_t, int64_t) {}
void backward_row_avx512(const float*, const uint8_t*, float*, const Geometry&, int64_t, int64_t) {}
void backward_row_avx512(const uint16_t*, const uint8_t*, uint16_t*, const Geometry&, int64_t,
                         int64_t) {}

#endif

}  // namespace capflow::model::pool
