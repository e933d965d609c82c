// The BMS image augment (see bms_augment.h): one window of the decoded picture (crop and jitter
// without copying when it lies inside; a copy only when jitter pads past the picture), then one
// area resize that writes the picture, turned when asked, straight into the white output canvas
// (area_resize.h).
#include "nodes/image/bms_augment.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "graph/errors.h"
#include "nodes/image/area_resize.h"
#include "nodes/image/gray_ops.h"

namespace capflow::image {

void validate(const AugmentOptions& o) {
  std::string problems;
  const auto bad = [&](const std::string& what) {
    if (!problems.empty()) problems += "; ";
    problems += what;
  };
  constexpr int kMinSize = 8, kMaxSize = 16384, kMaxJitter = 4096;
  if (o.width < kMinSize || o.width > kMaxSize) {
    bad("width " + std::to_string(o.width) + " is outside 8..16384");
  }
  if (o.height < kMinSize || o.height > kMaxSize) {
    bad("height " + std::to_string(o.height) + " is outside 8..16384");
  }
  if (!(o.rotate >= 0.0 && o.rotate <= 1.0)) {
    bad("rotate probability " + std::to_string(o.rotate) + " is outside 0..1");
  }
  if (!(o.noise >= 0.0 && o.noise <= 1.0)) {
    bad("noise density " + std::to_string(o.noise) + " is outside 0..1");
  }
  if (o.jitter < 0 || o.jitter > kMaxJitter) {
    bad("jitter " + std::to_string(o.jitter) + " is outside 0..4096");
  }
  if (!problems.empty()) throw ConfigError("bms_augment: " + problems);
}

namespace {

// A copy of the window [x0, x1) x [y0, y1) of `in`, white where it lies outside.
GrayImage padded_window(const GrayImage& in, int x0, int y0, int x1, int y1) {
  GrayImage out(x1 - x0, y1 - y0, 255);
  const int cx0 = std::max(x0, 0), cx1 = std::min(x1, in.width);
  const int cy0 = std::max(y0, 0), cy1 = std::min(y1, in.height);
  if (cx0 >= cx1) return out;
  for (int y = cy0; y < cy1; ++y) {
    std::memcpy(&out.pixels[static_cast<std::size_t>(y - y0) * out.width + (cx0 - x0)],
                &in.pixels[static_cast<std::size_t>(y) * in.width + cx0],
                static_cast<std::size_t>(cx1 - cx0));
  }
  return out;
}

// A random shift of one side: -jitter..+jitter px (positive grows the window), cropping at
// most (size - 1) / 2 so the window never empties.
int side_jitter(int jitter, int size, SeededRng& rng) {
  const int d = static_cast<int>(rng.uniform_int(-jitter, jitter));
  return std::max(d, -(size - 1) / 2);
}

}  // namespace

io::GrayImage bms_augment(const io::GrayImage& in, const AugmentOptions& options, SeededRng& rng,
                          io::PixelMap* map) {
  validate(options);
  if (in.empty() || in.pixels.size() != static_cast<std::size_t>(in.width) * in.height) {
    throw DataError("bms_augment: empty or inconsistent input image (" + std::to_string(in.width) +
                    "x" + std::to_string(in.height) + ")");
  }
  const Rect ink = options.crop_margins ? ink_bounds(in) : Rect{0, 0, in.width, in.height};
  int x0 = ink.x, y0 = ink.y, x1 = ink.x + ink.width, y1 = ink.y + ink.height;
  if (options.jitter > 0) {
    x0 -= side_jitter(options.jitter, ink.width, rng);
    y0 -= side_jitter(options.jitter, ink.height, rng);
    x1 += side_jitter(options.jitter, ink.width, rng);
    y1 += side_jitter(options.jitter, ink.height, rng);
  }

  // Net quarter turns, counter-clockwise positive.
  int turns = 0;
  if (options.upright && (y1 - y0) > (x1 - x0)) turns = 1;
  if (options.rotate > 0.0 && rng.bernoulli(options.rotate)) turns += rng.bernoulli(0.5) ? 1 : -1;
  turns = ((turns % 4) + 4) % 4;

  GrayImage owned;  // holds the window when it reaches outside the picture
  GrayView src;
  if (x0 >= 0 && y0 >= 0 && x1 <= in.width && y1 <= in.height) {
    src = view(in, x0, y0, x1 - x0, y1 - y0);
  } else {
    owned = padded_window(in, x0, y0, x1, y1);
    src = view(owned);
  }

  // Aspect-preserving fit of the turned window, rounded, at least one pixel each way.
  const bool odd = turns % 2 == 1;
  const std::int64_t W = options.width, H = options.height;
  const std::int64_t sw = odd ? src.height : src.width, sh = odd ? src.width : src.height;
  std::int64_t nw, nh;
  if (W * sh <= H * sw) {  // width-limited
    nw = W;
    nh = (2 * sh * W + sw) / (2 * sw);
  } else {
    nh = H;
    nw = (2 * sw * H + sh) / (2 * sh);
  }
  nw = std::clamp<std::int64_t>(nw, 1, W);
  nh = std::clamp<std::int64_t>(nh, 1, H);
  io::GrayImage out(options.width, options.height, 255);
  std::uint8_t* const at = out.pixels.data() + (H - nh) / 2 * W + (W - nw) / 2;
  if (map) {
    *map = io::PixelMap::shift(-x0, -y0)
               .then(io::PixelMap::quarter_turns(turns, x1 - x0, y1 - y0))
               .then(io::PixelMap::scale(static_cast<double>(nw) / static_cast<double>(sw),
                                         static_cast<double>(nh) / static_cast<double>(sh)))
               .then(io::PixelMap::shift(static_cast<double>((W - nw) / 2),
                                         static_cast<double>((H - nh) / 2)));
  }
  // Resized and turned in one pass (area_resize.h).
  resize_area_turned_into(src, static_cast<int>(odd ? nh : nw), static_cast<int>(odd ? nw : nh),
                          turns, at, W);
  if (options.noise > 0.0) salt_and_pepper(out, options.noise, 0.5, rng);
  return out;
}

}  // namespace capflow::image
