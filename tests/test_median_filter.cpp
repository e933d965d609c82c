// The median filter (nodes/image/median_filter.h) against a brute-force median, and what it
// is for: specks go, lines stay.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <vector>

#include "nodes/image/median_filter.h"

using capflow::image::median_filter;
using capflow::io::GrayImage;

namespace {

// The median of every (2r+1)² neighbourhood, edge pixels repeated, by sorting each one.
GrayImage brute_force_median(const GrayImage& img, int r) {
  GrayImage out(img.width, img.height);
  std::vector<std::uint8_t> window;
  for (int y = 0; y < img.height; ++y) {
    for (int x = 0; x < img.width; ++x) {
      window.clear();
      for (int dy = -r; dy <= r; ++dy)
        for (int dx = -r; dx <= r; ++dx)
          window.push_back(
              img.at(std::clamp(x + dx, 0, img.width - 1), std::clamp(y + dy, 0, img.height - 1)));
      std::nth_element(window.begin(), window.begin() + window.size() / 2, window.end());
      out.at(x, y) = window[window.size() / 2];
    }
  }
  return out;
}

TEST(MedianFilter, EqualsTheMedianOfEveryNeighbourhood) {
  std::mt19937 rng(7);
  for (int radius = 1; radius <= 3; ++radius) {
    for (const auto& [w, h] : std::vector<std::pair<int, int>>{{1, 1}, {1, 9}, {9, 1}, {17, 13}}) {
      GrayImage img(w, h);
      // Mostly white with dark strokes and some grays, as a drawing is.
      for (auto& p : img.pixels) p = static_cast<std::uint8_t>(rng() % 3 == 0 ? rng() % 256 : 255);
      EXPECT_EQ(median_filter(img, radius).pixels, brute_force_median(img, radius).pixels)
          << w << "x" << h << ", radius " << radius;
    }
  }
}

TEST(MedianFilter, RemovesSpecksAndKeepsLines) {
  GrayImage img(20, 20);
  img.at(3, 3) = 0;             // a black speck on white
  for (int y = 8; y < 11; ++y)  // a horizontal line 3 pixels thick
    for (int x = 2; x < 18; ++x) img.at(x, y) = 0;
  img.at(10, 9) = 255;  // a white speck in it
  const GrayImage out = median_filter(img, 1);
  EXPECT_EQ(out.at(3, 3), 255);
  EXPECT_EQ(out.at(10, 9), 0);
  for (int x = 3; x < 17; ++x) EXPECT_EQ(out.at(x, 9), 0) << x;
  EXPECT_EQ(out.at(10, 12), 255);
}

TEST(MedianFilter, EdgeCases) {
  const GrayImage flat(5, 4, 77);
  EXPECT_EQ(median_filter(flat, 2).pixels, flat.pixels);
  EXPECT_TRUE(median_filter(GrayImage(), 1).empty());
  EXPECT_THROW(median_filter(flat, 0), std::invalid_argument);
}

}  // namespace
