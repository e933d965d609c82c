// The area resize (see area_resize.h). Both paths do the same float arithmetic in the same
// order: for each output row, the weighted sum of its source rows (vertical pass), then for each
// output pixel 0.5 plus the weighted sum of that row's columns (horizontal pass), truncated and
// clamped to 255. The vector path runs the vertical pass for eight output rows at once and
// transposes it, so the horizontal pass computes one output column of eight rows per step
// (contiguous loads, no gathers) and can store it as a row of a turned picture.
#include "nodes/image/area_resize.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "nodes/image/cpu_dispatch.h"

#if CAPFLOW_HAS_AVX2_PATH
#include <immintrin.h>
#endif

namespace capflow::image {

namespace {

// Per-axis resampling weights with a fixed number of taps per output (zero-padded), so the
// inner loops have no data-dependent bounds: output i reads source pixels
// [start[i], start[i] + taps) with weights weight[i * taps ...].
struct AxisWeights {
  int taps = 1;
  std::vector<int> start;
  std::vector<float> weight;

  const float* of(int o) const { return &weight[static_cast<std::size_t>(o) * taps]; }
};

// Output o's source window when upscaling or copying (in <= out): its first pixel and up to
// two weights written at w; returns the number of weights.
int interpolation_weights(int in, int out, int o, float* w, int* first) {
  if (in == out) {
    *first = o;
    w[0] = 1.0f;
    return 1;
  }
  // Bilinear with pixel centres aligned, clamped at the edges.
  const double scale = static_cast<double>(in) / out;
  const double pos = std::max(0.0, std::min<double>((o + 0.5) * scale - 0.5, in - 1));
  const int f = static_cast<int>(pos);
  const double frac = pos - f;
  *first = f;
  w[0] = static_cast<float>(1.0 - frac);
  if (frac > 1e-9 && f + 1 < in) {
    w[1] = static_cast<float>(frac);
    return 2;
  }
  return 1;
}

// The box filter of a downscale (in > out), in exact integers: in units of 1 / out, output o
// covers [o in, (o + 1) in) and source pixel i covers [i out, (i + 1) out); its weight is the
// overlap / in. Output o's weights go to w[o * stride ...], its first pixel to first[o]; returns
// the most weights of any output. The window's ends are stepped from output to output (a
// quotient and a remainder), not divided: the divisions weighed more than the resize's rows.
int box_weights(int in, int out, float* w, std::size_t stride, int* first) {
  const double per_unit = 1.0 / in;  // a multiply: a division per weight cost microseconds
  const int step = in / out, rest = in % out;
  int q = 0, r = 0;  // o in = q out + r
  int taps = 1;
  for (int o = 0; o < out; ++o) {
    const int i0 = q;
    q += step;
    r += rest;
    if (r >= out) {
      ++q;
      r -= out;
    }
    const int i1 = q + (r > 0);  // (o + 1) in = q out + r, rounded up to a whole pixel
    const std::int64_t lo = std::int64_t{o} * in, hi = lo + in;
    float* wo = w + static_cast<std::size_t>(o) * stride;
    for (int i = i0; i < i1; ++i) {
      const auto overlap = std::min<std::int64_t>(hi, std::int64_t{i + 1} * out) -
                           std::max<std::int64_t>(lo, std::int64_t{i} * out);
      wo[i - i0] = static_cast<float>(static_cast<double>(overlap) * per_unit);
    }
    first[o] = i0;
    taps = std::max(taps, i1 - i0);
  }
  return taps;
}

// The table for `in` source pixels and `out` outputs; `reversed` lists the outputs last to
// first (a mirrored result, used to turn pictures).
AxisWeights axis_weights(int in, int out, bool reversed = false) {
  const auto n = static_cast<std::size_t>(out);
  // At most this many weights per output: a box of in / out pixels touches ceil(in / out) + 1.
  const int bound = in == out ? 1 : in < out ? 2 : (in + out - 1) / out + 1;
  const auto b = static_cast<std::size_t>(bound);
  thread_local std::vector<float> loose;  // output o's weights at o * bound
  thread_local std::vector<int> first;
  loose.assign(n * b, 0.0f);
  first.resize(n);
  AxisWeights a;
  if (in > out) {
    a.taps = box_weights(in, out, loose.data(), b, first.data());
  } else {
    for (std::size_t o = 0; o < n; ++o) {
      const int k = interpolation_weights(in, out, static_cast<int>(o), &loose[o * b], &first[o]);
      a.taps = std::max(a.taps, k);
    }
  }
  const auto taps = static_cast<std::size_t>(a.taps);
  a.start.resize(n);
  a.weight.assign(n * taps, 0.0f);
  for (std::size_t o = 0; o < n; ++o) {
    const std::size_t to = reversed ? n - 1 - o : o;
    // Shift windows that would run past the end left; the extra taps weigh zero.
    const int s = std::min(first[o], in - a.taps);
    a.start[to] = s;
    const auto shift = static_cast<std::size_t>(first[o] - s);
    std::copy_n(&loose[o * b], taps - shift, &a.weight[to * taps + shift]);
  }
  return a;
}

// One output row of the horizontal pass: out[x] = round(sum_k acc[start[x] + k] * w[x][k]).
template <int kTaps>
void horizontal_pass(const float* acc, const AxisWeights& wx, std::uint8_t* out, int width) {
  const int n = kTaps > 0 ? kTaps : wx.taps;
  for (int x = 0; x < width; ++x) {
    const float* a = acc + wx.start[static_cast<std::size_t>(x)];
    const float* w = wx.of(x);
    float v = 0.5f;
    for (int k = 0; k < n; ++k) v += a[k] * w[k];
    const int i = static_cast<int>(v);  // v >= 0.5: weights and pixels are non-negative
    out[x] = static_cast<std::uint8_t>(i < 255 ? i : 255);
  }
}

using HorizontalPass = void (*)(const float*, const AxisWeights&, std::uint8_t*, int);

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

HorizontalPass horizontal_pass_for(int taps) {
  return by_taps(taps,
                 [](auto k) -> HorizontalPass { return horizontal_pass<decltype(k)::value>; });
}

// The scalar resize, unturned, one output row at a time.
void resize_rows_scalar(const GrayView& src, std::uint8_t* dst, std::ptrdiff_t dst_stride,
                        int width, int height) {
  const AxisWeights wx = axis_weights(src.width, width);
  const AxisWeights wy = axis_weights(src.height, height);
  const HorizontalPass hpass = horizontal_pass_for(wx.taps);
  std::vector<float> acc(static_cast<std::size_t>(src.width));
  float* const a = acc.data();
  const int sw = src.width;
  for (int y = 0; y < height; ++y) {
    // Vertical pass: the weighted sum of this output row's source rows, at source width.
    const int r0 = wy.start[static_cast<std::size_t>(y)];
    const float* w = wy.of(y);
    {
      const std::uint8_t* r = src.row(r0);
      const float w0 = w[0];
      for (int x = 0; x < sw; ++x) a[x] = w0 * static_cast<float>(r[x]);
    }
    for (int k = 1; k < wy.taps; ++k) {
      const float wk = w[k];
      if (wk == 0.0f) continue;
      const std::uint8_t* r = src.row(r0 + k);
      for (int x = 0; x < sw; ++x) a[x] += wk * static_cast<float>(r[x]);
    }
    hpass(a, wx, dst + y * dst_stride, width);
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

#if CAPFLOW_HAS_AVX2_PATH

// The AVX2 functions (cpu_dispatch.h) use no FMA: a multiply and an add round as the reference
// does, so both paths give the same bytes.

constexpr int kLanes = 8;  // output rows resized together: one register of floats
constexpr int kBlock = 4;  // columns packed and stored together

// Eight pixels at p as floats.
CAPFLOW_AVX2 inline __m256 load8(const std::uint8_t* p) {
  const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
}

// r[i][j] becomes r[j][i].
CAPFLOW_AVX2 inline void transpose8(__m256* r) {
  __m256 t[8], s[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    s[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    s[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    s[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    s[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x31);
  }
}

// The vertical pass of output rows rows[0..7] (the same arithmetic as resize_rows_scalar),
// stored transposed: acc[kLanes * x + lane] for every source column x. Zero weights are
// multiplied like the others (adding +0 changes no sum): a test for them mispredicted often
// enough to double this pass.
template <int kTaps>
CAPFLOW_AVX2 void vertical_block(const GrayView& src, const AxisWeights& wy, const int* rows,
                                 float* acc) {
  const int taps = kTaps > 0 ? kTaps : wy.taps;
  const std::uint8_t* base[kLanes];
  const float* w[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    base[l] = src.row(wy.start[static_cast<std::size_t>(rows[l])]);
    w[l] = wy.of(rows[l]);
  }
  const int sw = src.width;
  const std::ptrdiff_t stride = src.stride;
  int x = 0;
  for (; x + kLanes <= sw; x += kLanes) {
    __m256 v[kLanes];
    for (int l = 0; l < kLanes; ++l) {
      __m256 s = _mm256_mul_ps(_mm256_set1_ps(w[l][0]), load8(base[l] + x));
      for (int k = 1; k < taps; ++k) {
        const __m256 p = load8(base[l] + k * stride + x);
        s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_set1_ps(w[l][k]), p));
      }
      v[l] = s;
    }
    transpose8(v);
    for (int j = 0; j < kLanes; ++j) _mm256_storeu_ps(acc + kLanes * (x + j), v[j]);
  }
  for (; x < sw; ++x) {
    for (int l = 0; l < kLanes; ++l) {
      float s = w[l][0] * static_cast<float>(base[l][x]);
      for (int k = 1; k < taps; ++k) s += w[l][k] * static_cast<float>(base[l][k * stride + x]);
      acc[kLanes * x + l] = s;
    }
  }
}

using VerticalBlock = void (*)(const GrayView&, const AxisWeights&, const int*, float*);

VerticalBlock vertical_block_for(int taps) {
  return by_taps(taps, [](auto k) -> VerticalBlock { return vertical_block<decltype(k)::value>; });
}

// Output column x of the eight rows, truncated to integers (the horizontal pass).
template <int kTaps>
CAPFLOW_AVX2 inline __m256i column(const float* acc, const AxisWeights& wx, int x) {
  const int n = kTaps > 0 ? kTaps : wx.taps;
  const float* a = acc + kLanes * wx.start[static_cast<std::size_t>(x)];
  const float* w = wx.of(x);
  __m256 v = _mm256_set1_ps(0.5f);
  for (int k = 0; k < n; ++k) {
    v = _mm256_add_ps(v, _mm256_mul_ps(_mm256_loadu_ps(a + kLanes * k), _mm256_set1_ps(w[k])));
  }
  return _mm256_cvttps_epi32(v);
}

// Four columns, saturated to 0..255: the low half holds rows 0..3 (byte 4 j + row of column
// j), the high half rows 4..7.
template <int kTaps>
CAPFLOW_AVX2 inline __m256i four_columns(const float* acc, const AxisWeights& wx, const int* cols) {
  const __m256i lo =
      _mm256_packs_epi32(column<kTaps>(acc, wx, cols[0]), column<kTaps>(acc, wx, cols[1]));
  const __m256i hi =
      _mm256_packs_epi32(column<kTaps>(acc, wx, cols[2]), column<kTaps>(acc, wx, cols[3]));
  return _mm256_packus_epi16(lo, hi);
}

// Where a block's bytes go; `turned` stores each column as a row of the destination.
struct BlockTarget {
  std::uint8_t* dst;
  std::ptrdiff_t stride;
  bool turned;
};

// Stores 4 x 4 bytes (byte 4 j + row of column j): `cols` valid columns from x, `rows` valid
// rows from y.
CAPFLOW_AVX2 inline void store_block(const BlockTarget& t, __m128i bytes, int x, int y, int cols,
                                     int rows) {
  if (!t.turned) {  // transpose: byte 4 row + j
    const __m128i half = _mm_unpacklo_epi8(bytes, _mm_srli_si128(bytes, 8));
    bytes = _mm_unpacklo_epi8(half, _mm_srli_si128(half, 8));
  }
  // Turned: line j is column x + j, holding rows y..; else line i is row y + i.
  const int lines = t.turned ? cols : rows, length = t.turned ? rows : cols;
  std::uint8_t* at = t.turned ? t.dst + x * t.stride + y : t.dst + y * t.stride + x;
  if (length == kBlock && lines == kBlock) {  // a whole block: four 4-byte stores
    const std::int32_t line[kBlock] = {_mm_cvtsi128_si32(bytes), _mm_extract_epi32(bytes, 1),
                                       _mm_extract_epi32(bytes, 2), _mm_extract_epi32(bytes, 3)};
    for (int i = 0; i < kBlock; ++i) std::memcpy(at + i * t.stride, &line[i], sizeof line[i]);
    return;
  }
  alignas(16) std::uint8_t b[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(b), bytes);
  for (int i = 0; i < lines; ++i) {
    std::memcpy(at + i * t.stride, b + kBlock * i, static_cast<std::size_t>(length));
  }
}

template <int kTaps>
CAPFLOW_AVX2 void horizontal_block(const float* acc, const AxisWeights& wx, int width,
                                   const BlockTarget& t, int y, int rows) {
  const int last = width - 1;
  for (int x = 0; x < width; x += kBlock) {
    // Past the last column, the last one again (computed, not stored).
    const int cols[kBlock] = {x, std::min(x + 1, last), std::min(x + 2, last),
                              std::min(x + 3, last)};
    const __m256i bytes = four_columns<kTaps>(acc, wx, cols);
    const int valid = std::min(kBlock, width - x);
    store_block(t, _mm256_castsi256_si128(bytes), x, y, valid, std::min(rows, kBlock));
    if (rows > kBlock) {
      store_block(t, _mm256_extracti128_si256(bytes, 1), x, y + kBlock, valid, rows - kBlock);
    }
  }
}

using HorizontalBlock = void (*)(const float*, const AxisWeights&, int, const BlockTarget&, int,
                                 int);

HorizontalBlock horizontal_block_for(int taps) {
  return by_taps(taps,
                 [](auto k) -> HorizontalBlock { return horizontal_block<decltype(k)::value>; });
}

// Turning by tables and stores: a half turn mirrors both axes; a counter-clockwise quarter
// turn mirrors x and stores columns as rows; a clockwise one mirrors y.
void resize_vector(const GrayView& src, int width, int height, int turns, std::uint8_t* dst,
                   std::ptrdiff_t dst_stride) {
  const bool mirror_x = turns == 1 || turns == 2, mirror_y = turns == 2 || turns == 3;
  const AxisWeights wx = axis_weights(src.width, width, mirror_x);
  const AxisWeights wy = axis_weights(src.height, height, mirror_y);
  const VerticalBlock vblock = vertical_block_for(wy.taps);
  const HorizontalBlock hblock = horizontal_block_for(wx.taps);
  const BlockTarget target{dst, dst_stride, turns % 2 == 1};
  std::vector<float> acc(static_cast<std::size_t>(kLanes) * static_cast<std::size_t>(src.width));
  for (int y = 0; y < height; y += kLanes) {
    int lane_rows[kLanes];  // past the last row, the last one again
    for (int l = 0; l < kLanes; ++l) lane_rows[l] = std::min(y + l, height - 1);
    vblock(src, wy, lane_rows, acc.data());
    hblock(acc.data(), wx, width, target, y, std::min(kLanes, height - y));
  }
}

#endif  // CAPFLOW_HAS_AVX2_PATH

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
    resize_vector(src, width, height, turns, dst, dst_stride);
    return;
  }
#endif
  resize_area_turned_reference(src, width, height, turns, dst, dst_stride);
}

}  // namespace capflow::image
