#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "graph/seeded_random.h"
#include "nodes/image/area_resize.h"
#include "nodes/image/area_resize_tables.h"
#include "nodes/image/cpu_dispatch.h"
#include "nodes/image/gray_ops.h"

using namespace capflow::image;

namespace {

// A picture of random gray levels with runs of white and black, like a drawing.
GrayImage random_picture(int width, int height, std::uint64_t key) {
  capflow::SeededRng rng({key});
  GrayImage img(width, height);
  for (auto& p : img.pixels) {
    const auto r = rng.uniform_int(0, 9);
    p = static_cast<std::uint8_t>(r < 6 ? 255 : r < 8 ? 0 : rng.uniform_int(0, 255));
  }
  return img;
}

struct Result {
  bool ran = true;          // false where the path refused the size (or the CPU lacks it)
  int worst = 0;            // largest difference of one pixel
  bool canvas_kept = true;  // nothing written outside the output
};

// The paths compared with the reference: the one chosen when run, and each vector path alone.
enum class Path { chosen, avx2, avx512 };

bool resize_by(Path path, const GrayView& src, int width, int height, int turns, std::uint8_t* dst,
               std::ptrdiff_t stride) {
  turns = ((turns % 4) + 4) % 4;
  switch (path) {
    case Path::chosen:
      resize_area_turned_into(src, width, height, turns, dst, stride);
      return true;
#if CAPFLOW_HAS_AVX2_PATH
    case Path::avx2:
      if (!has_avx2()) return false;
      area::resize_avx2(src, width, height, turns, dst, stride);
      return true;
    case Path::avx512:
      return has_avx512bw() && area::resize_avx512(src, width, height, turns, dst, stride);
#endif
    default:
      return false;
  }
}

// A vector path against the reference, both writing into a canvas with a 3-pixel margin.
Result compare(const GrayView& src, int width, int height, int turns, Path path = Path::chosen) {
  const bool odd = ((turns % 4) + 4) % 4 % 2 == 1;
  const int ow = odd ? height : width, oh = odd ? width : height;
  const int cw = ow + 6;
  GrayImage fast(cw, oh + 6, 7), reference(cw, oh + 6, 7);
  Result r;
  r.ran = resize_by(path, src, width, height, turns, &fast.pixels[3 * cw + 3], cw);
  resize_area_turned_reference(src, width, height, turns, &reference.pixels[3 * cw + 3], cw);
  for (int y = 0; y < oh + 6; ++y) {
    for (int x = 0; x < cw; ++x) {
      const bool inside = x >= 3 && x < 3 + ow && y >= 3 && y < 3 + oh;
      if (!inside) {
        r.canvas_kept = r.canvas_kept && fast.at(x, y) == 7 && reference.at(x, y) == 7;
        continue;
      }
      if (r.ran) r.worst = std::max(r.worst, std::abs(fast.at(x, y) - reference.at(x, y)));
    }
  }
  return r;
}

constexpr Path kPaths[] = {Path::chosen, Path::avx2, Path::avx512};

TEST(AreaResize, VectorPathEqualsTheReferenceForEverySizeAndTurn) {
  // Shrinking and growing, sizes not multiples of four, fewer than four rows or columns.
  const int sizes[][4] = {{315, 308, 224, 219}, {290, 410, 159, 224}, {37, 23, 12, 7},
                          {5, 3, 2, 1},         {1, 9, 4, 3},         {100, 100, 224, 131},
                          {641, 97, 224, 34},   {8, 8, 3, 5}};
  std::uint64_t key = 0;
  for (const auto& s : sizes) {
    const GrayImage img = random_picture(s[0], s[1], ++key);
    for (const Path path : kPaths) {
      for (int turns = -1; turns <= 4; ++turns) {
        const Result r = compare(view(img), s[2], s[3], turns, path);
        const auto where = ::testing::Message()
                           << "path " << static_cast<int>(path) << ", " << s[0] << "x" << s[1]
                           << " -> " << s[2] << "x" << s[3] << ", turns " << turns;
        EXPECT_EQ(r.worst, 0) << where;
        EXPECT_TRUE(r.canvas_kept) << where;
      }
    }
  }
}

// White paper with a few strokes, gray at their edges, like a structure drawing.
GrayImage drawing(int width, int height, std::uint64_t key) {
  capflow::SeededRng rng({key});
  GrayImage img(width, height, 255);
  for (int stroke = 0; stroke < 6; ++stroke) {
    const auto x0 = static_cast<double>(rng.uniform_int(0, width - 1));
    const auto y0 = static_cast<double>(rng.uniform_int(0, height - 1));
    const double dx = static_cast<double>(rng.uniform_int(-40, 40)) / 40.0;
    const double dy = static_cast<double>(rng.uniform_int(-40, 40)) / 40.0;
    for (int t = 0; t < 60; ++t) {
      const int x = static_cast<int>(x0 + dx * t), y = static_cast<int>(y0 + dy * t);
      if (x < 0 || y < 0 || x >= width || y >= height) break;
      img.at(x, y) = 0;
      if (x + 1 < width) img.at(x + 1, y) = 128;
    }
  }
  return img;
}

TEST(AreaResize, VectorPathEqualsTheReferenceOnWhitePaper) {
  const int sizes[][4] = {{315, 308, 224, 219},
                          {290, 410, 159, 224},
                          {100, 100, 224, 131},
                          {641, 97, 224, 34},
                          {40, 33, 17, 16}};
  std::uint64_t key = 100;
  for (const auto& s : sizes) {
    const GrayImage img = drawing(s[0], s[1], ++key);
    for (const Path path : kPaths) {
      for (int turns = 0; turns < 4; ++turns) {
        const Result r = compare(view(img), s[2], s[3], turns, path);
        EXPECT_EQ(r.worst, 0) << "path " << static_cast<int>(path) << ", " << s[0] << "x" << s[1]
                              << " -> " << s[2] << "x" << s[3] << ", turns " << turns;
        EXPECT_TRUE(r.canvas_kept);
      }
    }
  }
}

TEST(AreaResize, Avx512PathRunsWhere32OutputsRead64PixelsOrFewer) {
#if CAPFLOW_HAS_AVX2_PATH
  if (!has_avx512bw()) GTEST_SKIP() << "this CPU has no AVX-512 BW";
  // A margin-cropped BMS picture to 224 (1.4 times), growing, and a shrink of 1.9 times run;
  // 2.9 times across (641 -> 224: 32 outputs span 92 pixels) falls to the AVX2 path, nothing
  // written. Down the picture any shrink runs.
  const int runs[][4] = {
      {315, 308, 224, 219}, {100, 100, 224, 131}, {425, 30, 224, 200}, {60, 900, 40, 17}};
  std::uint64_t key = 200;
  for (const auto& s : runs) {
    const GrayImage img = random_picture(s[0], s[1], ++key);
    for (int turns = 0; turns < 4; ++turns) {
      const Result r = compare(view(img), s[2], s[3], turns, Path::avx512);
      EXPECT_TRUE(r.ran) << s[0] << "x" << s[1] << " -> " << s[2] << "x" << s[3];
      EXPECT_EQ(r.worst, 0) << s[0] << "x" << s[1] << " -> " << s[2] << "x" << s[3];
    }
  }
  const GrayImage wide = random_picture(641, 97, 300);
  GrayImage out(224, 34, 7);
  EXPECT_FALSE(area::resize_avx512(view(wide), 224, 34, 0, out.pixels.data(), 224));
  EXPECT_EQ(out.pixels, GrayImage(224, 34, 7).pixels);
  EXPECT_EQ(compare(view(wide), 224, 34, 0).worst, 0);  // the chosen path: AVX2
#else
  GTEST_SKIP() << "not x86-64";
#endif
}

TEST(AreaResize, ReadsOnlyItsWindow) {
  // A window of a larger picture (rows further apart than its width): the pixels around it
  // must not leak into the result.
  GrayImage big = random_picture(120, 90, 5);
  const GrayView window = view(big, 17, 11, 61, 47);
  GrayImage copy(61, 47);
  for (int y = 0; y < 47; ++y)
    for (int x = 0; x < 61; ++x) copy.at(x, y) = big.at(17 + x, 11 + y);
  for (int turns = 0; turns < 4; ++turns) {
    const bool odd = turns % 2 == 1;
    GrayImage a(odd ? 29 : 40, odd ? 40 : 29), b(a.width, a.height);
    resize_area_turned_into(window, 40, 29, turns, a.pixels.data(), a.width);
    resize_area_turned_into(view(copy), 40, 29, turns, b.pixels.data(), b.width);
    EXPECT_EQ(a.pixels, b.pixels) << "turns " << turns;
    EXPECT_EQ(compare(window, 40, 29, turns).worst, 0) << "turns " << turns;
  }
}

TEST(AreaResize, TurnsMoveTheCornersWhereRotateDoes) {
  // A corner marked in each path: a quarter turn counter-clockwise moves the top-left corner to
  // the bottom-left, clockwise to the top-right, a half turn to the bottom-right.
  GrayImage img(64, 32, 255);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) img.at(x, y) = 0;
  const GrayImage resized = resize_area(img, 32, 16);
  for (int turns = 0; turns < 4; ++turns) {
    GrayImage expected = resized;
    for (int t = 0; t < turns; ++t) expected = rotate90(expected, /*clockwise=*/false);
    GrayImage out(expected.width, expected.height);
    resize_area_turned_into(view(img), 32, 16, turns, out.pixels.data(), out.width);
    EXPECT_EQ(out.pixels, expected.pixels) << "turns " << turns;
  }
}

TEST(AreaResize, ReportsWhetherItIsVectorized) {
#if defined(__x86_64__)
  EXPECT_EQ(resize_area_is_vectorized(), __builtin_cpu_supports("avx2") != 0);
#else
  EXPECT_FALSE(resize_area_is_vectorized());
#endif
}

TEST(AreaResize, RefusesEmptySizes) {
  const GrayImage img(4, 4);
  std::uint8_t out[16];
  EXPECT_THROW(resize_area_turned_into(view(img), 0, 4, 0, out, 4), std::invalid_argument);
  EXPECT_THROW(resize_area_turned_reference(view(img), 4, 0, 1, out, 4), std::invalid_argument);
  EXPECT_THROW(resize_area_turned_into(GrayView{}, 4, 4, 0, out, 4), std::invalid_argument);
}

}  // namespace

namespace {

// The area average computed the slow way, in doubles: every source pixel weighted by the
// share of it that each output pixel's box covers, one axis after the other.
std::vector<double> area_average_1d(const std::vector<double>& in, int out) {
  const auto n = static_cast<int>(in.size());
  std::vector<double> result(static_cast<std::size_t>(out), 0.0);
  for (int o = 0; o < out; ++o) {
    const double lo = static_cast<double>(o) * n / out, hi = static_cast<double>(o + 1) * n / out;
    for (int i = 0; i < n; ++i) {
      const double overlap = std::min<double>(hi, i + 1) - std::max<double>(lo, i);
      if (overlap > 0)
        result[static_cast<std::size_t>(o)] += overlap * in[static_cast<std::size_t>(i)];
    }
    result[static_cast<std::size_t>(o)] /= hi - lo;
  }
  return result;
}

}  // namespace

TEST(AreaResize, ShrinkingAveragesTheBoxOfEveryOutputPixel) {
  // Ratios whose boxes start and end inside source pixels, and whole-pixel ones.
  const int sizes[][4] = {{290, 301, 224, 224}, {97, 61, 13, 60}, {400, 9, 100, 3}};
  for (const auto& s : sizes) {
    const GrayImage img = random_picture(s[0], s[1], 11);
    GrayImage out(s[2], s[3], 7);
    resize_area_turned_reference(view(img), s[2], s[3], 0, out.pixels.data(), s[2]);
    std::vector<std::vector<double>> rows;  // source rows shrunk along x
    for (int y = 0; y < s[1]; ++y) {
      rows.push_back(
          area_average_1d(std::vector<double>(&img.pixels[static_cast<std::size_t>(y) * s[0]],
                                              &img.pixels[static_cast<std::size_t>(y + 1) * s[0]]),
                          s[2]));
    }
    // Each pixel is its exact average rounded, within the fixed-point arithmetic's error: half
    // a unit of 1/128 per tap of either pass, and as much again from the rounded weights
    // (area_resize_tables.h).
    const double taps = (s[0] + s[2] - 1) / s[2] + 1 + (s[1] + s[3] - 1) / s[3] + 1;
    const double bound = 0.5 + taps / 128;
    double worst = 0;
    for (int x = 0; x < s[2]; ++x) {
      std::vector<double> column;
      for (const auto& r : rows) column.push_back(r[static_cast<std::size_t>(x)]);
      const std::vector<double> expected = area_average_1d(column, s[3]);
      for (int y = 0; y < s[3]; ++y) {
        worst = std::max(worst, std::abs(out.at(x, y) - expected[static_cast<std::size_t>(y)]));
      }
    }
    EXPECT_LE(worst, bound) << s[0] << "x" << s[1] << " -> " << s[2] << "x" << s[3];
  }
}

// The box tables against their definition, for every shrink of up to 97 source pixels: output
// o's window covers source pixels [o in / out, (o + 1) in / out), its taps are as many as the
// widest window (no more), each weight is the overlap's share rounded to Q15 (the largest
// taking the sum's remainder), and the weights outside the window are zero.
TEST(AreaResize, BoxTablesHoldEachWindowsOverlapsAndNoSpareTaps) {
  using capflow::image::area::axis_weights;
  for (int in = 2; in <= 97; ++in) {
    for (int out = 1; out < in; ++out) {
      const auto a = axis_weights(in, out);
      int widest = 0;
      for (int o = 0; o < out; ++o) {
        const int first = o * in / out, end = ((o + 1) * in + out - 1) / out;
        widest = std::max(widest, end - first);
        const int s = a.start[static_cast<std::size_t>(o)];
        ASSERT_LE(s, first) << in << "->" << out << " output " << o;
        ASSERT_GE(s + a.taps, end) << in << "->" << out << " output " << o;
        int sum = 0;
        for (int k = 0; k < a.taps; ++k) {
          const int i = s + k, w = a.of(o)[k];
          sum += w;
          // Overlap of pixel i with the window, in units of 1 / out, as a share of in.
          const int overlap =
              std::max(0, std::min((i + 1) * out, (o + 1) * in) - std::max(i * out, o * in));
          EXPECT_NEAR(w, overlap * 32768.0 / in, 0.5 * (a.taps + 1))
              << in << "->" << out << " output " << o << " tap " << k;
          if (overlap == 0) {
            EXPECT_EQ(w, 0) << in << "->" << out << " output " << o;
          }
        }
        EXPECT_EQ(sum, 32768) << in << "->" << out << " output " << o;
      }
      EXPECT_EQ(a.taps, widest) << in << "->" << out;
    }
  }
}
