// Model FLOPs from layer shapes (see model_flops.h).
#include "nodes/model/model_flops.h"

#include <stdexcept>
#include <string>

namespace capflow::model {
namespace {

// Output size of a convolution or pooling along one axis.
int out_size(int in, int kernel, int stride, int padding) {
  return (in + 2 * padding - kernel) / stride + 1;
}

struct Plane {
  int h, w;
};

// 2 · Cin · Cout · k² · Hout · Wout, and the output plane.
double conv_flops(int cin, int cout, int kernel, int stride, int padding, Plane& p) {
  p = {out_size(p.h, kernel, stride, padding), out_size(p.w, kernel, stride, padding)};
  return 2.0 * cin * cout * kernel * kernel * p.h * p.w;
}

const int* blocks_of(int depth) {
  static const int k18[4] = {2, 2, 2, 2}, k34[4] = {3, 4, 6, 3};
  if (depth == 18) return k18;
  if (depth == 34) return k34;
  throw std::invalid_argument("encoder depth must be 18 or 34, got " + std::to_string(depth));
}

// Walks the encoder; returns the FLOPs and leaves the output plane in p.
double walk_encoder(const EncoderShape& s, Plane& p) {
  const int* blocks = blocks_of(s.depth);
  double flops = conv_flops(s.in_channels, s.width, 7, 2, 3, p);  // stem
  p = {out_size(p.h, 3, 2, 1), out_size(p.w, 3, 2, 1)};           // max pool
  int in = s.width;
  for (int stage = 0; stage < s.stages; ++stage) {
    const int planes = s.width << stage;
    for (int b = 0; b < blocks[stage]; ++b) {
      const int stride = stage > 0 && b == 0 ? 2 : 1;
      Plane shortcut = p;
      if (stride != 1 || in != planes) flops += conv_flops(in, planes, 1, stride, 0, shortcut);
      flops += conv_flops(in, planes, 3, stride, 1, p);
      flops += conv_flops(planes, planes, 3, 1, 1, p);
      in = planes;
    }
  }
  return flops;
}

}  // namespace

std::pair<int, int> encoder_grid(const EncoderShape& shape, int height, int width) {
  Plane p{height, width};
  walk_encoder(shape, p);
  return {p.h, p.w};
}

double encoder_forward_flops(const EncoderShape& shape, int height, int width) {
  Plane p{height, width};
  return walk_encoder(shape, p);
}

namespace {

DecoderFlops transformer_forward_flops(const DecoderShape& s, int pixels) {
  const double C = s.encoder_channels, d = s.hidden, L = s.layers, F = s.ffn, V = s.vocab;
  const double P = pixels;
  DecoderFlops f;
  f.per_image = 2.0 * (P * C * d + L * P * d * 2 * d);
  f.per_token = 2.0 * (L * (6 * d * d + 2 * P * d + 2 * d * F) + d * V);
  f.per_attended = 2.0 * L * 2 * d;
  return f;
}

}  // namespace

DecoderFlops decoder_forward_flops(const DecoderShape& s, int pixels) {
  if (s.transformer) return transformer_forward_flops(s, pixels);
  const double C = s.encoder_channels, H = s.hidden, A = s.attention, E = s.embed, V = s.vocab;
  const double P = pixels, F = s.formula_head, S = s.formula_slots;
  DecoderFlops f;
  f.per_image = 2.0 * (P * C * A + 2.0 * C * H + (F > 0 ? 2.0 * C * F + F * S : 0.0));
  f.per_token = 2.0 * (E * 4 * H + H * (A + C + 4 * H) + P * A + P * C + C * 4 * H + H * V);
  return f;
}

}  // namespace capflow::model
