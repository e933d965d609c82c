// Benchmarks of grayscale PNG/JPEG encoding and decoding on a synthetic line drawing of BMS
// size (about 400 x 300, mostly white).
#include <benchmark/benchmark.h>

#include "nodes/io/image_codec.h"

namespace {

capflow::io::GrayImage line_drawing() {
  capflow::io::GrayImage img(400, 300, 255);
  for (int k = 0; k < 40; ++k) {
    for (int t = 0; t < 120; ++t) {
      const int x = (37 * k + t) % 400, y = (53 * k + t / 2) % 300;
      img.at(x, y) = 0;
    }
  }
  return img;
}

void BM_EncodePng(benchmark::State& state) {
  const auto img = line_drawing();
  for (auto _ : state)
    benchmark::DoNotOptimize(capflow::io::encode_png_gray(img, static_cast<int>(state.range(0))));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodePng)->Arg(1)->Arg(6);

void BM_DecodePng(benchmark::State& state) {
  const auto bytes = capflow::io::encode_png_gray(line_drawing());
  for (auto _ : state)
    benchmark::DoNotOptimize(capflow::io::decode_png_gray(bytes.data(), bytes.size(), "bench"));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodePng);

void BM_DecodeJpeg(benchmark::State& state) {
  const auto bytes = capflow::io::encode_jpeg_gray(line_drawing());
  for (auto _ : state)
    benchmark::DoNotOptimize(capflow::io::decode_jpeg_gray(bytes.data(), bytes.size(), "bench"));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeJpeg);

}  // namespace
