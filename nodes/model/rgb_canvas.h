// A small RGB canvas for pictures made to be looked at (attention sheets), with a built-in
// 5x7 bitmap font for labels: digits, ASCII letters and the punctuation of InChI strings.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace capflow::model {

using Rgb = std::array<std::uint8_t, 3>;

struct RgbImage {
  int width = 0, height = 0;
  std::vector<std::uint8_t> pixels;  // width * height * 3 bytes, row-major, R G B

  RgbImage() = default;
  RgbImage(int w, int h, Rgb fill);
  void set(int x, int y, Rgb c);  // ignores points outside the canvas
};

inline constexpr int kGlyphWidth = 5, kGlyphHeight = 7, kGlyphAdvance = 6;

// Pixels `text` takes along a line: kGlyphAdvance per character, less the last gap.
int text_width(const std::string& text);

// Draws `text` with its top-left corner at (x, y), clipped to the canvas. A character without a
// glyph draws as a hollow box.
void draw_text(RgbImage& canvas, int x, int y, const std::string& text, Rgb color);

}  // namespace capflow::model
