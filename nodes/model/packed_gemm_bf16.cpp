// Few-row bf16 products by a packed matrix (see packed_gemm_bf16.h). The inner loop keeps a
// tile of up to kTileRows rows by the panel's 32 columns in registers (16 vectors of 16 float
// sums) and walks K two values at a time: per pair, two loads of the panel, one broadcast of
// each row's two A values and 16 vdpbf16ps.
#include "nodes/model/packed_gemm_bf16.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 10
#define CAPFLOW_BF16_GEMM 1
#include <immintrin.h>
#define CAPFLOW_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))
#else
#define CAPFLOW_BF16_GEMM 0
#endif

namespace capflow::model {

namespace {

constexpr int kPanel = PackedBf16Matrix::kPanel;

#if CAPFLOW_BF16_GEMM
constexpr int kTileRows = 8;

CAPFLOW_BF16_TARGET inline __m512 widen(__m256i bf16) {
  // The zero-masked forms: GCC 12 warns of the others' deliberately undefined lanes.
  const auto words = _mm512_maskz_cvtepu16_epi32(0xffff, bf16);
  return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(0xffff, words, 16));
}

// 16 float sums written to C (bf16: rounded to nearest even) at the columns of `mask`.
CAPFLOW_BF16_TARGET inline __m512 load_c(const uint16_t* c, __mmask16 mask) {
  return widen(_mm256_maskz_loadu_epi16(mask, c));
}
CAPFLOW_BF16_TARGET inline __m512 load_c(const float* c, __mmask16 mask) {
  return _mm512_maskz_loadu_ps(mask, c);
}
CAPFLOW_BF16_TARGET inline void store_c(uint16_t* c, __mmask16 mask, __m512 v) {
  _mm256_mask_storeu_epi16(c, mask, reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v)));
}
CAPFLOW_BF16_TARGET inline void store_c(float* c, __mmask16 mask, __m512 v) {
  _mm512_mask_storeu_ps(c, mask, v);
}

// Adds pair q of A's rows times the panel's pair q to the sums; `bytes` 2 for an odd K's last
// pair, whose second value is zero.
template <int R>
CAPFLOW_BF16_TARGET inline void add_pair(__m512 (&acc)[R][2], const uint16_t* A, int64_t lda,
                                         const uint16_t* panel, int64_t q, int bytes) {
  const auto* row = panel + q * 2 * kPanel;
  const auto b0 = reinterpret_cast<__m512bh>(_mm512_load_si512(row));
  const auto b1 = reinterpret_cast<__m512bh>(_mm512_load_si512(row + kPanel));
  for (int r = 0; r < R; ++r) {
    uint32_t two = 0;  // (A[r][2q], A[r][2q + 1])
    std::memcpy(&two, A + r * lda + 2 * q, static_cast<std::size_t>(bytes));
    const auto a = reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(two)));
    acc[r][0] = _mm512_dpbf16_ps(acc[r][0], a, b0);
    acc[r][1] = _mm512_dpbf16_ps(acc[r][1], a, b1);
  }
}

// Rows [0, R) of C at columns [0, cols) of one panel (R <= kTileRows, cols <= kPanel).
template <int R, typename Out>
CAPFLOW_BF16_TARGET inline void tile(int64_t K, const uint16_t* A, int64_t lda,
                                     const uint16_t* panel, Out* C, int64_t ldc,
                                     const uint16_t* bias, bool accumulate, int cols) {
  __m512 acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int64_t q = 0; q < K / 2; ++q) add_pair<R>(acc, A, lda, panel, q, 4);
  if (K % 2) add_pair<R>(acc, A, lda, panel, K / 2, 2);
  const uint32_t all = cols >= 32 ? 0xffffffffu : (1u << cols) - 1;
  for (int h = 0; h < 2; ++h) {
    const auto mask = static_cast<__mmask16>(all >> (16 * h));
    if (!mask) break;
    const __m512 b = bias ? widen(_mm256_maskz_loadu_epi16(mask, bias + 16 * h)) : __m512{};
    for (int r = 0; r < R; ++r) {
      Out* c = C + r * ldc + 16 * h;
      __m512 v = _mm512_add_ps(acc[r][h], b);
      if (accumulate) v = _mm512_add_ps(load_c(c, mask), v);
      store_c(c, mask, v);
    }
  }
}

// The last rows < kTileRows of a panel: tile<rows>, the height chosen at compile time.
template <int R, typename Out>
CAPFLOW_BF16_TARGET inline void tail(int64_t rows, int64_t K, const uint16_t* A, int64_t lda,
                                     const uint16_t* panel, Out* C, int64_t ldc,
                                     const uint16_t* bias, bool accumulate, int cols) {
  if constexpr (R > 0) {
    if (rows == R) return tile<R>(K, A, lda, panel, C, ldc, bias, accumulate, cols);
    tail<R - 1>(rows, K, A, lda, panel, C, ldc, bias, accumulate, cols);
  }
}

template <typename Out>
CAPFLOW_BF16_TARGET void gemm_panels(int64_t M, const uint16_t* A, int64_t lda,
                                     const PackedBf16Matrix& B, Out* C, int64_t ldc,
                                     const uint16_t* bias, bool accumulate, int64_t p0,
                                     int64_t p1) {
  const int64_t K = B.rows();
  for (int64_t p = p0; p < p1; ++p) {
    const uint16_t* panel = B.panel(p);
    const int64_t col = p * kPanel;
    const int cols = static_cast<int>(std::min<int64_t>(kPanel, B.cols() - col));
    const uint16_t* pb = bias ? bias + col : nullptr;
    int64_t r = 0;
    for (; r + kTileRows <= M; r += kTileRows) {
      tile<kTileRows>(K, A + r * lda, lda, panel, C + r * ldc + col, ldc, pb, accumulate, cols);
    }
    tail<kTileRows - 1>(M - r, K, A + r * lda, lda, panel, C + r * ldc + col, ldc, pb, accumulate,
                        cols);
  }
}
#endif

template <typename Out>
void run(int64_t M, const uint16_t* A, int64_t lda, const PackedBf16Matrix& B, Out* C, int64_t ldc,
         const uint16_t* bias, bool accumulate, int64_t p0, int64_t p1) {
  if (M <= 0 || p0 >= p1) return;
#if CAPFLOW_BF16_GEMM
  if (packed_bf16_available()) {
    gemm_panels(M, A, lda, B, C, ldc, bias, accumulate, p0, p1);
    return;
  }
#endif
  (void)A, (void)lda, (void)B, (void)C, (void)ldc, (void)bias, (void)accumulate;
  throw std::logic_error("packed_gemm_bf16: this CPU or build has no AVX512-BF16");
}

}  // namespace

PackedBf16Matrix::PackedBf16Matrix(int64_t K, int64_t N)
    : K_(K),
      N_(N),
      data_(new (std::align_val_t(64))
                uint16_t[static_cast<std::size_t>(panels() * pairs() * 2 * kPanel)](),
            [](uint16_t* p) { operator delete[](p, std::align_val_t(64)); }) {}

PackedBf16Matrix PackedBf16Matrix::from_rows(const uint16_t* b, int64_t K, int64_t N, int64_t ldb) {
  PackedBf16Matrix m(K, N);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < N; ++j) m.set(k, j, b[k * ldb + j]);
  return m;
}

PackedBf16Matrix PackedBf16Matrix::from_transposed(const uint16_t* w, int64_t N, int64_t K,
                                                   int64_t ldw) {
  PackedBf16Matrix m(K, N);
  for (int64_t j = 0; j < N; ++j)
    for (int64_t k = 0; k < K; ++k) m.set(k, j, w[j * ldw + k]);
  return m;
}

bool packed_bf16_available() {
#if CAPFLOW_BF16_GEMM
  static const bool present = __builtin_cpu_supports("avx512bf16") &&
                              __builtin_cpu_supports("avx512bw") &&
                              __builtin_cpu_supports("avx512vl");
  return present;
#else
  return false;
#endif
}

void packed_gemm_bf16(int64_t M, const uint16_t* A, int64_t lda, const PackedBf16Matrix& B,
                      uint16_t* C, int64_t ldc, const uint16_t* bias, bool accumulate,
                      int64_t panel_begin, int64_t panel_end) {
  run(M, A, lda, B, C, ldc, bias, accumulate, panel_begin, panel_end);
}

void packed_gemm_bf16(int64_t M, const uint16_t* A, int64_t lda, const PackedBf16Matrix& B,
                      float* C, int64_t ldc, const uint16_t* bias, bool accumulate,
                      int64_t panel_begin, int64_t panel_end) {
  run(M, A, lda, B, C, ldc, bias, accumulate, panel_begin, panel_end);
}

}  // namespace capflow::model
