// The contact sheet of attention maps (see attention_maps.h): no LibTorch.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "nodes/image/gray_ops.h"
#include "nodes/model/attention_maps.h"

namespace capflow::model {

namespace {

// α of one step over the grid, upsampled bilinearly to width x height (pixel centres
// aligned) and scaled so that its largest value is 1.
std::vector<float> upsample_alpha(const std::vector<float>& alpha, int grid_w, int grid_h,
                                  int width, int height) {
  const float peak = *std::max_element(alpha.begin(), alpha.end());
  const float scale = peak > 0 ? 1.0f / peak : 0.0f;
  const auto source = [](int i, int out, int in, int& i0, int& i1, float& f) {
    const float s = std::clamp((i + 0.5f) * in / out - 0.5f, 0.0f, static_cast<float>(in - 1));
    i0 = static_cast<int>(s);
    i1 = std::min(i0 + 1, in - 1);
    f = s - static_cast<float>(i0);
  };
  std::vector<float> out(static_cast<std::size_t>(width) * height);
  for (int y = 0; y < height; ++y) {
    int y0, y1;
    float fy;
    source(y, height, grid_h, y0, y1, fy);
    for (int x = 0; x < width; ++x) {
      int x0, x1;
      float fx;
      source(x, width, grid_w, x0, x1, fx);
      const auto at = [&](int gx, int gy) {
        return alpha[static_cast<std::size_t>(gy) * grid_w + gx];
      };
      const float top = at(x0, y0) * (1 - fx) + at(x1, y0) * fx;
      const float bottom = at(x0, y1) * (1 - fx) + at(x1, y1) * fx;
      out[static_cast<std::size_t>(y) * width + x] = (top * (1 - fy) + bottom * fy) * scale;
    }
  }
  return out;
}

// Draws the picture at (left, top), tinted red by `weight` (0..1 per pixel).
void draw_frame(RgbImage& sheet, const io::GrayImage& frame, const std::vector<float>& weight,
                int left, int top) {
  for (int y = 0; y < frame.height; ++y) {
    for (int x = 0; x < frame.width; ++x) {
      const float g = frame.at(x, y);
      const float t = 0.8f * weight[static_cast<std::size_t>(y) * frame.width + x];
      const auto dim = static_cast<std::uint8_t>(std::lround(g * (1 - t)));
      const auto red = static_cast<std::uint8_t>(std::lround(g * (1 - t) + 255 * t));
      sheet.set(left + x, top + y, {red, dim, dim});
    }
  }
}

}  // namespace

SheetLayout attention_sheet_layout(int image_width, int image_height, std::size_t frames) {
  if (image_width < 1 || image_height < 1)
    throw std::invalid_argument("attention sheet: empty picture");
  SheetLayout l;
  const double scale =
      static_cast<double>(SheetLayout::kFrameSide) / std::max(image_width, image_height);
  l.frame_width = std::max(1, static_cast<int>(std::lround(image_width * scale)));
  l.frame_height = std::max(1, static_cast<int>(std::lround(image_height * scale)));
  const std::size_t n = std::max<std::size_t>(frames, 1);
  l.columns = static_cast<int>(std::min<std::size_t>(n, SheetLayout::kColumns));
  l.rows = static_cast<int>((n + l.columns - 1) / l.columns);
  l.width = l.columns * (l.frame_width + SheetLayout::kMargin) + SheetLayout::kMargin;
  l.height = l.rows * (l.frame_height + SheetLayout::kLabelHeight + SheetLayout::kMargin) +
             SheetLayout::kMargin;
  return l;
}

RgbImage compose_attention_sheet(const AttentionTrace& trace) {
  const SheetLayout l =
      attention_sheet_layout(trace.image.width, trace.image.height, trace.alpha.size());
  RgbImage sheet(l.width, l.height, {255, 255, 255});
  const io::GrayImage frame = image::resize_area(trace.image, l.frame_width, l.frame_height);
  const std::vector<float> none(static_cast<std::size_t>(l.frame_width) * l.frame_height, 0.0f);
  const std::size_t frames = std::max<std::size_t>(trace.alpha.size(), 1);
  for (std::size_t i = 0; i < frames; ++i) {
    const int left = SheetLayout::kMargin +
                     static_cast<int>(i % l.columns) * (l.frame_width + SheetLayout::kMargin);
    const int top = SheetLayout::kMargin +
                    static_cast<int>(i / l.columns) *
                        (l.frame_height + SheetLayout::kLabelHeight + SheetLayout::kMargin);
    const bool has_alpha = i < trace.alpha.size();
    if (has_alpha &&
        trace.alpha[i].size() != static_cast<std::size_t>(trace.grid_width) * trace.grid_height)
      throw std::invalid_argument("attention sheet: step " + std::to_string(i) +
                                  " has the wrong number of weights for its grid");
    draw_frame(sheet, frame,
               has_alpha ? upsample_alpha(trace.alpha[i], trace.grid_width, trace.grid_height,
                                          l.frame_width, l.frame_height)
                         : none,
               left, top);
    if (has_alpha && i < trace.tokens.size())
      draw_text(sheet, left, top + l.frame_height + 2,
                std::to_string(i + 1) + " " + trace.tokens[i], {0, 0, 0});
  }
  return sheet;
}

}  // namespace capflow::model
