// Where a point of one picture lands in another made from it (crops, borders, resizes and
// quarter turns): an affine map of continuous pixel coordinates, x to the right and y down,
// (0, 0) the top-left corner of the top-left pixel, so pixel (i, j) covers [i, i+1) x [j, j+1).
#pragma once

namespace capflow::io {

struct PixelMap {
  // x' = xx * x + xy * y + x0;  y' = yx * x + yy * y + y0
  double xx = 1, xy = 0, x0 = 0;
  double yx = 0, yy = 1, y0 = 0;

  double map_x(double x, double y) const { return xx * x + xy * y + x0; }
  double map_y(double x, double y) const { return yx * x + yy * y + y0; }

  // This map, then `next`.
  PixelMap then(const PixelMap& next) const {
    PixelMap r;
    r.xx = next.xx * xx + next.xy * yx;
    r.xy = next.xx * xy + next.xy * yy;
    r.x0 = next.xx * x0 + next.xy * y0 + next.x0;
    r.yx = next.yx * xx + next.yy * yx;
    r.yy = next.yx * xy + next.yy * yy;
    r.y0 = next.yx * x0 + next.yy * y0 + next.y0;
    return r;
  }

  static PixelMap shift(double dx, double dy) { return {1, 0, dx, 0, 1, dy}; }
  static PixelMap scale(double sx, double sy) { return {sx, 0, 0, 0, sy, 0}; }
  // Quarter turns of a width x height picture, counter-clockwise positive (what rotate90 with
  // clockwise=false does once): the result is height x width for odd turns.
  static PixelMap quarter_turns(int turns, double width, double height) {
    switch (((turns % 4) + 4) % 4) {
      case 1:
        return {0, 1, 0, -1, 0, width};  // (x, y) → (y, width - x)
      case 2:
        return {-1, 0, width, 0, -1, height};
      case 3:
        return {0, -1, height, 1, 0, 0};  // (x, y) → (height - y, x)
      default:
        return {};
    }
  }
};

}  // namespace capflow::io
