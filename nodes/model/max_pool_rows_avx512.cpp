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

// One block of 16 channels at `c` of the output position whose window starts at (h0, w0): the
// first tap in row order wins ties, a NaN wins (as `v > best || v != v` in the portable rows).
template <typename T>
CAPFLOW_AVX512BW inline void pool_block(const T* x, const Geometry& g, int64_t n, int64_t h0,
                                        int64_t w0, const Taps& t, int64_t c, T* out,
                                        uint8_t* winner) {
  __m512 best = _mm512_setzero_ps();
  __m512i k_best = _mm512_setzero_si512();
  bool first = true;
  for (int dh = t.dh0; dh <= t.dh1; ++dh) {
    const T* row = x + ((n * g.H + h0 + dh) * g.W + w0) * g.C + c;
    for (int dw = t.dw0; dw <= t.dw1; ++dw) {
      const __m512 v = load16(row + dw * g.C);
      const __m512i k = _mm512_set1_epi32(3 * dh + dw);
      if (first) {
        best = v, k_best = k, first = false;
        continue;
      }
      const __mmask16 take =
          _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
      best = _mm512_mask_mov_ps(best, take, v);
      k_best = _mm512_mask_mov_epi32(k_best, take, k);
    }
  }
  store16(out, best);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(winner), _mm512_maskz_cvtepi32_epi8(kAll, k_best));
}

template <typename T>
CAPFLOW_AVX512BW void forward_row(const T* x, T* out, uint8_t* winner, const Geometry& g, int64_t n,
                                  int64_t oh) {
  const int64_t h0 = 2 * oh - 1;
  Taps t{h0 < 0 ? 1 : 0, static_cast<int>(std::min<int64_t>(2, g.H - 1 - h0)), 0, 2};
  for (int64_t ow = 0; ow < g.Wo; ++ow) {
    const int64_t w0 = 2 * ow - 1;
    t.dw0 = w0 < 0 ? 1 : 0;
    t.dw1 = static_cast<int>(std::min<int64_t>(2, g.W - 1 - w0));
    const int64_t o = ((n * g.Ho + oh) * g.Wo + ow) * g.C;
    for (int64_t c = 0; c < g.C; c += kLanes)
      pool_block(x, g, n, h0, w0, t, c, out + o + c, winner + o + c);
  }
}

// Input row (n, h): each position's gradient, the sum of dy over the windows (≤ 2 × 2) whose
// winner it is, in the portable rows' order.
template <typename T>
CAPFLOW_AVX512BW void backward_row(const T* dy, const uint8_t* winner, T* dx, const Geometry& g,
                                   int64_t n, int64_t h) {
  const int64_t oh0 = std::max<int64_t>(0, h / 2), oh1 = std::min(g.Ho - 1, (h + 1) / 2);
  for (int64_t w = 0; w < g.W; ++w) {
    const int64_t ow0 = std::max<int64_t>(0, w / 2), ow1 = std::min(g.Wo - 1, (w + 1) / 2);
    T* row = dx + ((n * g.H + h) * g.W + w) * g.C;
    for (int64_t c = 0; c < g.C; c += kLanes) {
      __m512 acc = _mm512_setzero_ps();
      for (int64_t oh = oh0; oh <= oh1; ++oh) {
        for (int64_t ow = ow0; ow <= ow1; ++ow) {
          const auto k = static_cast<char>(3 * (h - 2 * oh + 1) + (w - 2 * ow + 1));
          const int64_t o = ((n * g.Ho + oh) * g.Wo + ow) * g.C + c;
          const __m128i won = _mm_loadu_si128(reinterpret_cast<const __m128i*>(winner + o));
          const __mmask16 mine = _mm_cmpeq_epi8_mask(won, _mm_set1_epi8(k));
          acc = _mm512_mask_add_ps(acc, mine, acc, load16(dy + o));
        }
      }
      store16(row + c, acc);
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
