// Plain inference kernels: the choice among a beam's final hypotheses, the attention sheet.
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "nodes/io/image_codec.h"
#include "nodes/model/attention_maps.h"
#include "nodes/model/hypothesis_choice.h"
#include "nodes/model/image_reliance.h"
#include "nodes/model/rgb_canvas.h"

namespace capflow::model {
namespace {

TEST(HypothesisChoice, PicksTheBestScoringValidCandidate) {
  // Unsorted scores: the best valid one is neither the first valid index nor the best overall.
  const std::vector<double> scores = {-5.0, -1.0, -3.0, -2.0};
  EXPECT_EQ(choose_hypothesis(scores, {false, false, true, true}), 3u);
  EXPECT_EQ(choose_hypothesis(scores, {true, false, true, false}), 2u);
  EXPECT_EQ(choose_hypothesis(scores, {true, false, false, false}), 0u);
  EXPECT_EQ(choose_hypothesis(scores, {true, true, true, true}), 1u);
}

TEST(HypothesisChoice, FallsBackToTheBestScoringCandidate) {
  EXPECT_EQ(choose_hypothesis({-5.0, -1.0, -3.0}, {false, false, false}), 1u);
  EXPECT_EQ(choose_hypothesis({-0.5}, {false}), 0u);
  // Equal scores: the lower index, valid or not.
  EXPECT_EQ(choose_hypothesis({-2.0, -1.0, -1.0}, {false, false, false}), 1u);
  EXPECT_EQ(choose_hypothesis({-2.0, -1.0, -1.0}, {true, false, true}), 2u);
}

TEST(HypothesisChoice, RefusesMismatchedInput) {
  EXPECT_THROW(choose_hypothesis({}, {}), std::invalid_argument);
  EXPECT_THROW(choose_hypothesis({-1.0, -2.0}, {true}), std::invalid_argument);
}

Rgb pixel(const RgbImage& image, int x, int y) {
  const std::size_t at = (static_cast<std::size_t>(y) * image.width + x) * 3;
  return {image.pixels[at], image.pixels[at + 1], image.pixels[at + 2]};
}

// Pixels in [x0, x1) x [y0, y1) that are not white.
int inked(const RgbImage& image, int x0, int y0, int x1, int y1) {
  int n = 0;
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) n += pixel(image, x, y) != Rgb{255, 255, 255};
  return n;
}

TEST(ImageReliance, DerangementHasNoFixedPoint) {
  for (std::size_t n = 2; n <= 40; ++n) {
    const auto p = derangement(n);
    ASSERT_EQ(p.size(), n);
    std::vector<bool> seen(n, false);
    for (std::size_t i = 0; i < n; ++i) {
      EXPECT_NE(p[i], i) << "n " << n;
      ASSERT_LT(p[i], n);
      EXPECT_FALSE(seen[p[i]]) << "not a permutation, n " << n;
      seen[p[i]] = true;
    }
    EXPECT_EQ(derangement(n), p);  // fixed: the same pairing every time
  }
  // Not merely a rotation: some n pairs an image with a non-neighbour.
  bool shuffled = false;
  for (std::size_t i = 0; i < 10; ++i) shuffled |= derangement(10)[i] != (i + 1) % 10;
  EXPECT_TRUE(shuffled);
  EXPECT_EQ(derangement(1), std::vector<std::size_t>{0});
  EXPECT_TRUE(derangement(0).empty());
}

TEST(ImageReliance, BatchesNeverHoldASingleImage) {
  using Sizes = std::vector<std::size_t>;
  EXPECT_EQ(reliance_batches(10, 4), (Sizes{4, 4, 2}));
  EXPECT_EQ(reliance_batches(9, 4), (Sizes{4, 5}));
  EXPECT_EQ(reliance_batches(8, 4), (Sizes{4, 4}));
  EXPECT_EQ(reliance_batches(3, 1), (Sizes{3}));  // batch 1 would pair nothing: 2 at least
  EXPECT_EQ(reliance_batches(1, 32), (Sizes{1}));
  EXPECT_TRUE(reliance_batches(0, 32).empty());
}

TEST(AttentionSheet, LayoutFollowsTheDocumentedFormula) {
  const auto l = attention_sheet_layout(64, 32, 11);
  EXPECT_EQ(l.frame_width, 128);
  EXPECT_EQ(l.frame_height, 64);
  EXPECT_EQ(l.columns, 8);
  EXPECT_EQ(l.rows, 2);
  EXPECT_EQ(l.width, 8 * (128 + 4) + 4);
  EXPECT_EQ(l.height, 2 * (64 + 11 + 4) + 4);
  const auto one = attention_sheet_layout(300, 600, 0);  // no step: one blank frame
  EXPECT_EQ(one.columns, 1);
  EXPECT_EQ(one.rows, 1);
  EXPECT_EQ(one.frame_width, 64);
  EXPECT_EQ(one.frame_height, 128);
}

TEST(AttentionSheet, TintsWhereTheDecoderLooksAndLabelsEachFrame) {
  AttentionTrace t;
  t.image = io::GrayImage(64, 32, 255);  // blank paper: only the tint and the labels show
  t.grid_height = 2;
  t.grid_width = 2;
  t.alpha = {{1, 0, 0, 0}, {0, 0, 0, 1}, {0.25f, 0.25f, 0.25f, 0.25f}};
  t.tokens = {"C", "13", "<eos>"};
  const RgbImage sheet = compose_attention_sheet(t);
  const auto l = attention_sheet_layout(64, 32, 3);
  ASSERT_EQ(sheet.width, l.width);
  ASSERT_EQ(sheet.height, l.height);
  const int m = SheetLayout::kMargin, fw = l.frame_width, fh = l.frame_height;
  const Rgb first_corner = pixel(sheet, m, m), first_far = pixel(sheet, m + fw - 1, m + fh - 1);
  EXPECT_EQ(first_corner[0], 255);
  EXPECT_LT(first_corner[1], 100);  // red: the weight of step 1 is on the top-left cell
  EXPECT_EQ(first_far, (Rgb{255, 255, 255}));
  const int second = m + (fw + m);
  EXPECT_EQ(pixel(sheet, second, m), (Rgb{255, 255, 255}));
  EXPECT_LT(pixel(sheet, second + fw - 1, m + fh - 1)[1], 100);
  // Uniform weights: the whole frame tinted alike.
  const int third = m + 2 * (fw + m);
  EXPECT_EQ(pixel(sheet, third, m), pixel(sheet, third + fw - 1, m + fh - 1));
  EXPECT_LT(pixel(sheet, third, m)[1], 100);
  // Each label band has ink, the margins none.
  for (int i = 0; i < 3; ++i) {
    const int left = m + i * (fw + m);
    EXPECT_GT(inked(sheet, left, m + fh, left + fw, m + fh + SheetLayout::kLabelHeight), 10) << i;
  }
  EXPECT_EQ(inked(sheet, 0, 0, sheet.width, m), 0);
  // It encodes as a PNG the project's decoder reads back at that size.
  const auto png = io::encode_png_rgb(sheet.pixels.data(), sheet.width, sheet.height);
  const auto back = io::decode_image_gray(png.data(), png.size(), "sheet.png");
  EXPECT_EQ(back.width, sheet.width);
  EXPECT_EQ(back.height, sheet.height);
}

TEST(RgbCanvas, DrawsGlyphsAndABoxForUnknownCharacters) {
  RgbImage canvas(40, 9, {255, 255, 255});
  draw_text(canvas, 1, 1, "1", {0, 0, 0});
  // "1": the middle column, its foot three wide.
  EXPECT_EQ(pixel(canvas, 3, 3), (Rgb{0, 0, 0}));
  EXPECT_EQ(pixel(canvas, 1, 3), (Rgb{255, 255, 255}));
  EXPECT_EQ(inked(canvas, 0, 7, 40, 8), 3);
  RgbImage box(8, 9, {255, 255, 255});
  draw_text(box, 1, 1, "~", {0, 0, 0});
  EXPECT_EQ(inked(box, 0, 0, 8, 9), 2 * 5 + 2 * 5);
  EXPECT_EQ(text_width("Cl"), 11);
  draw_text(box, -3, -3, "WW", {0, 0, 0});  // clipped, not out of bounds
}

}  // namespace
}  // namespace capflow::model
