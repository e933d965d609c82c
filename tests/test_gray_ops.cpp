#include <gtest/gtest.h>

#include "nodes/image/gray_ops.h"

using namespace capflow::image;

namespace {

TEST(GrayOps, CropWhiteMarginsKeepsTheInk) {
  GrayImage img(50, 40);
  img.at(10, 5) = 0;
  img.at(30, 20) = 100;
  const auto c = crop_white_margins(img);
  EXPECT_EQ(c.width, 21);
  EXPECT_EQ(c.height, 16);
  EXPECT_EQ(c.at(0, 0), 0);
  EXPECT_EQ(c.at(20, 15), 100);
  const GrayImage blank(7, 9);
  EXPECT_EQ(crop_white_margins(blank).width, 7);
}

TEST(GrayOps, BorderAndNearestResize) {
  GrayImage img(2, 2, 0);
  const auto b = add_border(img, 1, 2, 3, 4);
  EXPECT_EQ(b.width, 6);
  EXPECT_EQ(b.height, 8);
  EXPECT_EQ(b.at(1, 2), 0);
  EXPECT_EQ(b.at(0, 0), 255);
  GrayImage grad(4, 1);
  for (int x = 0; x < 4; ++x) grad.at(x, 0) = static_cast<std::uint8_t>(x * 10);
  const auto half = resize_nearest(grad, 2, 1);
  EXPECT_EQ(half.at(0, 0), 10);  // pixel centres: source x = 1 and 3
  EXPECT_EQ(half.at(1, 0), 30);
  const auto dbl = resize_nearest(grad, 8, 2);
  EXPECT_EQ(dbl.at(7, 1), 30);
}

TEST(GrayOps, BinarizeAndNoiseAreDeterministic) {
  GrayImage img(100, 100);
  img.at(3, 3) = 127;
  img.at(4, 4) = 128;
  binarize(img, 128);
  EXPECT_EQ(img.at(3, 3), 0);
  EXPECT_EQ(img.at(4, 4), 255);
  GrayImage a(100, 100), b(100, 100);
  capflow::SeededRng r1({1, 2}), r2({1, 2});
  salt_and_pepper(a, 0.01, 1.0, r1);
  salt_and_pepper(b, 0.01, 1.0, r2);
  EXPECT_EQ(a.pixels, b.pixels);
  const auto black = std::count(a.pixels.begin(), a.pixels.end(), 0);
  EXPECT_GT(black, 80);
  EXPECT_LE(black, 100);
}

}  // namespace
