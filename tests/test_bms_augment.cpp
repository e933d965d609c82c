// Tests of the area resize, quarter turns and the BMS augment.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "graph/errors.h"
#include "nodes/image/bms_augment.h"
#include "nodes/image/gray_ops.h"

using namespace capflow::image;
using capflow::SeededRng;

namespace {

GrayImage pattern(int w, int h) {
  GrayImage img(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) img.at(x, y) = static_cast<std::uint8_t>((x * 7 + y * 13) % 256);
  return img;
}

// A black bar across a white picture: `w` x `h` with ink in the middle rows.
GrayImage bar(int w, int h) {
  GrayImage img(w, h);
  for (int y = h / 3; y < 2 * h / 3 + 1; ++y)
    for (int x = w / 8; x < w - w / 8; ++x) img.at(x, y) = 0;
  return img;
}

// A `w` x `h` picture of `background` with black ink over `ink`.
GrayImage ink_block(int w, int h, std::uint8_t background, Rect ink) {
  GrayImage img(w, h, background);
  for (int y = ink.y; y < ink.y + ink.height; ++y)
    for (int x = ink.x; x < ink.x + ink.width; ++x) img.at(x, y) = 0;
  return img;
}

// Ink extent of an output: the rectangle of pixels darker than 128.
Rect dark_box(const GrayImage& img) { return ink_bounds(img, 128); }

TEST(ResizeArea, IdentityIsExact) {
  const auto img = pattern(37, 23);
  EXPECT_EQ(resize_area(img, 37, 23).pixels, img.pixels);
}

TEST(ResizeArea, HalvingAveragesBlocks) {
  GrayImage img(4, 4);
  const std::uint8_t v[16] = {0, 4, 10, 20, 8, 12, 30, 40, 100, 100, 1, 3, 200, 200, 5, 7};
  std::copy(v, v + 16, img.pixels.begin());
  const auto half = resize_area(img, 2, 2);
  ASSERT_EQ(half.width, 2);
  ASSERT_EQ(half.height, 2);
  EXPECT_EQ(half.at(0, 0), 6);    // (0+4+8+12)/4
  EXPECT_EQ(half.at(1, 0), 25);   // (10+20+30+40)/4
  EXPECT_EQ(half.at(0, 1), 150);  // (100+100+200+200)/4
  EXPECT_EQ(half.at(1, 1), 4);    // (1+3+5+7)/4
  const auto one = resize_area(img, 1, 1);
  EXPECT_EQ(one.at(0, 0), 46);  // 740/16 = 46.25
}

TEST(ResizeArea, FractionalCoverageAndUniformImages) {
  // 3 -> 2: output 0 covers source [0, 1.5): (a + b/2) / 1.5.
  GrayImage row(3, 1);
  row.at(0, 0) = 30;
  row.at(1, 0) = 90;
  row.at(2, 0) = 150;
  const auto r = resize_area(row, 2, 1);
  EXPECT_EQ(r.at(0, 0), 50);   // (30 + 45) / 1.5
  EXPECT_EQ(r.at(1, 0), 130);  // (45 + 150) / 1.5
  for (auto [w, h] : {std::pair{224, 224}, {100, 300}, {1, 1}, {513, 7}}) {
    const auto out = resize_area(GrayImage(389, 271, 77), w, h);
    ASSERT_EQ(out.width, w);
    ASSERT_EQ(out.height, h);
    // Averaging all 389 x 271 pixels into one: the fixed-point sums' rounding, half a unit of
    // 1/128 per tap (area_resize_tables.h), may move the result by a level.
    const int slack = w == 1 ? 1 : 0;
    const auto [lo, hi] = std::minmax_element(out.pixels.begin(), out.pixels.end());
    EXPECT_GE(*lo, 77 - slack) << w << "x" << h;
    EXPECT_LE(*hi, 77 + slack) << w << "x" << h;
  }
  // Growing: bilinear keeps the end pixels and interpolates between.
  GrayImage two(2, 1);
  two.at(0, 0) = 0;
  two.at(1, 0) = 200;
  const auto four = resize_area(two, 4, 1);
  EXPECT_EQ(four.at(0, 0), 0);
  EXPECT_EQ(four.at(1, 0), 50);
  EXPECT_EQ(four.at(2, 0), 150);
  EXPECT_EQ(four.at(3, 0), 200);
  EXPECT_THROW(resize_area(two, 0, 3), std::invalid_argument);
}

TEST(ResizeArea, IntoAWindowOfACanvas) {
  const auto img = pattern(40, 20);
  GrayImage canvas(30, 30, 255);
  resize_area_into(view(img, 10, 5, 20, 10), &canvas.pixels[3 * 30 + 4], 30, 10, 5);
  GrayImage window(20, 10);
  for (int y = 0; y < 10; ++y)
    for (int x = 0; x < 20; ++x) window.at(x, y) = img.at(x + 10, y + 5);
  const auto small = resize_area(window, 10, 5);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 10; ++x) EXPECT_EQ(canvas.at(x + 4, y + 3), small.at(x, y));
  EXPECT_EQ(canvas.at(3, 3), 255);
  EXPECT_EQ(canvas.at(14, 3), 255);
  EXPECT_EQ(canvas.at(4, 8), 255);
}

TEST(GrayOpsRotate90, TurnsBothWaysAndBack) {
  GrayImage img(3, 2);
  // a b c
  // d e f
  const std::uint8_t v[6] = {1, 2, 3, 4, 5, 6};
  std::copy(v, v + 6, img.pixels.begin());
  const auto cw = rotate90(img, true);
  ASSERT_EQ(cw.width, 2);
  ASSERT_EQ(cw.height, 3);
  EXPECT_EQ(cw.pixels, (std::vector<std::uint8_t>{4, 1, 5, 2, 6, 3}));
  const auto ccw = rotate90(img, false);
  EXPECT_EQ(ccw.pixels, (std::vector<std::uint8_t>{3, 6, 2, 5, 1, 4}));
  const auto big = pattern(77, 45);
  EXPECT_EQ(rotate90(rotate90(big, true), false).pixels, big.pixels);
  auto twice = rotate90(rotate90(big, true), true);
  std::reverse(twice.pixels.begin(), twice.pixels.end());
  EXPECT_EQ(twice.pixels, big.pixels);
}

TEST(GrayOpsInkBounds, MatchesCropWhiteMargins) {
  GrayImage img(50, 40);
  img.at(10, 5) = 0;
  img.at(30, 20) = 100;
  img.at(12, 30) = 3;
  const Rect r = ink_bounds(img);
  EXPECT_EQ(r.x, 10);
  EXPECT_EQ(r.y, 5);
  EXPECT_EQ(r.width, 21);
  EXPECT_EQ(r.height, 26);
  const Rect blank = ink_bounds(GrayImage(7, 9));
  EXPECT_EQ(blank.width, 7);
  EXPECT_EQ(blank.height, 9);
}

TEST(BmsAugment, OutputSizeIsExactForAnyInputShape) {
  AugmentOptions o;
  o.rotate = 0.5;
  o.noise = 0.001;
  o.jitter = 5;
  const std::pair<int, int> shapes[] = {{1, 1},       {1, 500},   {500, 1},   {300, 400},
                                        {400, 300},   {224, 224}, {2000, 90}, {90, 2000},
                                        {3000, 2500}, {17, 9}};
  for (auto [w, h] : shapes) {
    for (bool crop : {false, true}) {
      for (auto [ow, oh] : {std::pair{224, 224}, {320, 160}, {8, 8}}) {
        o.crop_margins = crop;
        o.width = ow;
        o.height = oh;
        SeededRng rng({1, static_cast<std::uint64_t>(w), static_cast<std::uint64_t>(h)});
        const auto out = bms_augment(bar(w, h), o, rng);
        EXPECT_EQ(out.width, ow) << w << "x" << h;
        EXPECT_EQ(out.height, oh) << w << "x" << h;
        EXPECT_EQ(out.pixels.size(), static_cast<std::size_t>(ow) * oh);
      }
    }
  }
}

TEST(BmsAugment, PlainFitIsCentredAndKeepsTheAspect) {
  AugmentOptions o;
  o.crop_margins = false;
  GrayImage img(400, 200, 0);  // all ink: fits to 224 x 112, centred
  SeededRng rng({1});
  const auto out = bms_augment(img, o, rng);
  const Rect r = dark_box(out);
  EXPECT_EQ(r.x, 0);
  EXPECT_EQ(r.width, 224);
  EXPECT_EQ(r.y, 56);
  EXPECT_EQ(r.height, 112);
  // Cropping margins first: a 100 x 50 ink block in a big white page fills the width.
  o.crop_margins = true;
  const Rect c = dark_box(bms_augment(ink_block(1000, 1000, 255, {200, 300, 100, 50}), o, rng));
  EXPECT_EQ(c.width, 224);
  EXPECT_EQ(c.height, 112);
}

TEST(BmsAugment, UprightTurnsATallPicture) {
  GrayImage tall(100, 300, 0);  // all ink
  AugmentOptions o;
  o.crop_margins = false;
  SeededRng rng({2});
  Rect r = dark_box(bms_augment(tall, o, rng));
  EXPECT_EQ(r.width, 224);
  EXPECT_NEAR(r.height, 75, 1);
  o.upright = false;
  r = dark_box(bms_augment(tall, o, rng));
  EXPECT_EQ(r.height, 224);
  EXPECT_NEAR(r.width, 75, 1);
  // Direction: counter-clockwise, so the top row of the picture ends at the left.
  const GrayImage marked = ink_block(100, 300, 200, {0, 0, 100, 30});
  o.upright = true;
  const Rect m = dark_box(bms_augment(marked, o, rng));
  EXPECT_EQ(m.x, 0);
  EXPECT_LT(m.width, 40);
}

TEST(BmsAugment, TurnedOutputMatchesTurningFirst) {
  // Upright turns counter-clockwise; a forced extra turn (rotate = 1) adds a random quarter
  // turn: either way the result matches turning the picture first, then resizing.
  const auto tall = pattern(170, 390);
  AugmentOptions o;
  o.crop_margins = false;
  for (std::uint64_t k = 0; k < 6; ++k) {
    o.rotate = k < 3 ? 0.0 : 1.0;
    SeededRng rng({k}), probe({k});
    const auto out = bms_augment(tall, o, rng);
    int turns = 1;  // counter-clockwise quarter turns
    if (o.rotate > 0) {
      probe.bernoulli(1.0);
      turns += probe.bernoulli(0.5) ? 1 : -1;
    }
    GrayImage ref = tall;
    for (int t = 0; t < (turns + 4) % 4; ++t) ref = rotate90(ref, false);
    const double s = std::min(224.0 / ref.width, 224.0 / ref.height);
    const int nw = static_cast<int>(std::lround(ref.width * s));
    const int nh = static_cast<int>(std::lround(ref.height * s));
    const auto small = resize_area(ref, nw, nh);
    int worst = 0;
    for (int y = 0; y < nh; ++y)
      for (int x = 0; x < nw; ++x) {
        const int d = out.at(x + (224 - nw) / 2, y + (224 - nh) / 2) - small.at(x, y);
        worst = std::max(worst, std::abs(d));
      }
    EXPECT_LE(worst, 1) << "turns " << turns;
  }
}

TEST(BmsAugment, DeterministicForTheSameKeysDifferentForOthers) {
  AugmentOptions o;
  o.noise = 0.01;
  o.rotate = 0.5;
  o.jitter = 8;
  const auto img = bar(380, 260);
  SeededRng a({9, 1, 5}), b({9, 1, 5}), c({9, 1, 6});
  const auto x = bms_augment(img, o, a);
  EXPECT_EQ(x.pixels, bms_augment(img, o, b).pixels);
  EXPECT_NE(x.pixels, bms_augment(img, o, c).pixels);
  // Rotation alone also varies with the keys: some keys turn, some do not.
  o.noise = 0.0;
  o.jitter = 0;
  int turned = 0;
  for (std::uint64_t k = 0; k < 40; ++k) {
    SeededRng r({k});
    const Rect d = dark_box(bms_augment(img, o, r));
    if (d.height > d.width) ++turned;
  }
  EXPECT_GT(turned, 5);
  EXPECT_LT(turned, 35);
  // Noise puts roughly density * pixels dots on the page.
  o.rotate = 0.0;
  o.noise = 0.02;
  SeededRng r({3});
  GrayImage white(300, 300, 255);
  o.crop_margins = false;
  const auto noisy = bms_augment(white, o, r);
  const auto black = std::count(noisy.pixels.begin(), noisy.pixels.end(), 0);
  EXPECT_GT(black, 300);
  EXPECT_LT(black, 700);
}

TEST(BmsAugment, BadOptionsAreConfigErrorsListingEveryProblem) {
  AugmentOptions o;
  EXPECT_NO_THROW(validate(o));
  o.width = 4;
  o.rotate = 1.5;
  o.noise = -0.1;
  o.jitter = -1;
  try {
    validate(o);
    FAIL();
  } catch (const capflow::ConfigError& e) {
    const std::string msg = e.what();
    for (const char* key : {"width", "rotate", "noise", "jitter"}) {
      EXPECT_NE(msg.find(key), std::string::npos) << msg;
    }
  }
  o = AugmentOptions{};
  o.height = 7;
  SeededRng rng({1});
  EXPECT_THROW(bms_augment(GrayImage(10, 10), o, rng), capflow::ConfigError);
  EXPECT_THROW(bms_augment(GrayImage(), AugmentOptions{}, rng), capflow::DataError);
}

}  // namespace

// Each ink dot's centre, carried by the augment's pixel map, lands on ink in the output,
// whatever the turn, jitter and fit: the map atom positions follow.
TEST(BmsAugment, PixelMapCarriesPointsOntoTheirInk) {
  struct Dot {
    int x, y;
  };
  const std::vector<Dot> dots = {{20, 20}, {280, 40}, {150, 160}, {60, 150}, {200, 100}};
  for (const bool tall : {false, true}) {
    const int w = tall ? 180 : 300, h = tall ? 300 : 180;
    GrayImage img(w, h, 255);
    // A frame 2 px inside the edges: the ink spans the picture, so the jitter's crops (up to
    // 7 px) cut white margin and frame, never a dot.
    for (int x = 2; x < w - 2; ++x) img.at(x, 2) = img.at(x, h - 3) = 0;
    for (int y = 2; y < h - 2; ++y) img.at(2, y) = img.at(w - 3, y) = 0;
    for (const Dot& d : dots) {
      const int cx = tall ? d.y : d.x, cy = tall ? d.x : d.y;
      for (int y = cy - 4; y <= cy + 4; ++y)
        for (int x = cx - 4; x <= cx + 4; ++x) img.at(x, y) = 0;
    }
    for (std::uint64_t seed = 0; seed < 8; ++seed) {
      AugmentOptions o;
      o.rotate = seed < 4 ? 1.0 : 0.0;
      o.jitter = static_cast<int>(seed);
      SeededRng rng{seed};
      capflow::io::PixelMap map;
      const GrayImage out = bms_augment(img, o, rng, &map);
      for (const Dot& d : dots) {
        const double cx = (tall ? d.y : d.x) + 0.5, cy = (tall ? d.x : d.y) + 0.5;
        const int ox = static_cast<int>(std::floor(map.map_x(cx, cy)));
        const int oy = static_cast<int>(std::floor(map.map_y(cx, cy)));
        ASSERT_TRUE(ox >= 0 && ox < out.width && oy >= 0 && oy < out.height)
            << "tall " << tall << " seed " << seed << " dot " << cx << "," << cy;
        EXPECT_LT(out.at(ox, oy), 128) << "tall " << tall << " seed " << seed << " dot " << cx
                                       << "," << cy << " → " << ox << "," << oy;
      }
    }
  }
}

TEST(PixelMap, ComposesInOrderAndTurnsLikeRotate90) {
  using capflow::io::PixelMap;
  const PixelMap m = PixelMap::shift(-10, -5).then(PixelMap::scale(2, 3));
  EXPECT_DOUBLE_EQ(m.map_x(11, 6), 2.0);
  EXPECT_DOUBLE_EQ(m.map_y(11, 6), 3.0);
  // A 4 x 2 picture turned counter-clockwise: its top-right pixel becomes the top-left one.
  const GrayImage turned = rotate90(pattern(4, 2), /*clockwise=*/false);
  const PixelMap ccw = PixelMap::quarter_turns(1, 4, 2);
  EXPECT_EQ(turned.at(static_cast<int>(ccw.map_x(3.5, 0.5)), static_cast<int>(ccw.map_y(3.5, 0.5))),
            pattern(4, 2).at(3, 0));
  const GrayImage cw = rotate90(pattern(4, 2), /*clockwise=*/true);
  const PixelMap m3 = PixelMap::quarter_turns(3, 4, 2);
  EXPECT_EQ(cw.at(static_cast<int>(m3.map_x(0.5, 1.5)), static_cast<int>(m3.map_y(0.5, 1.5))),
            pattern(4, 2).at(0, 1));
}
