// Benchmarks of the data path's image kernels, one image per item: read + decode ("raw
// decode"), decode from memory, decode for a 224 px fit (TurboJPEG DCT scaling), the BMS
// augment to 224 x 224, its area resize alone (vector path and scalar reference), and
// collation of 32 images. Images come from the BMS-layout dataset
// named by CAPFLOW_BENCH_DATA (its train_labels.csv, up to 2,000 files); without it, from 64
// synthetic 300-500 px line-drawing PNGs made here (written to a temporary folder for the
// file benchmark). Each benchmark's label says which.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "graph/errors.h"
#include "graph/seeded_random.h"
#include "nodes/batch/image_batch.h"
#include "nodes/image/area_resize.h"
#include "nodes/image/area_resize_tables.h"
#include "nodes/image/bms_augment.h"
#include "nodes/image/cpu_dispatch.h"
#include "nodes/image/gray_ops.h"
#include "nodes/io/image_codec.h"
#include "nodes/io/sample_listing.h"

namespace {

using namespace capflow;

constexpr std::size_t kMaxFiles = 2000;
constexpr std::size_t kMaxDecoded = 256;  // decoded images kept for the augment benchmark

// A white page with random thick strokes and small rings: the look of a BMS drawing.
io::GrayImage synthetic_drawing(std::uint64_t k) {
  SeededRng rng({0xbe7c4, k});
  const int w = static_cast<int>(rng.uniform_int(300, 500));
  const int h = static_cast<int>(rng.uniform_int(300, 500));
  io::GrayImage img(w, h, 255);
  const auto dot = [&](int x, int y) {
    for (int dy = 0; dy < 2; ++dy)
      for (int dx = 0; dx < 2; ++dx)
        if (x + dx >= 0 && x + dx < w && y + dy >= 0 && y + dy < h) img.at(x + dx, y + dy) = 0;
  };
  const int strokes = static_cast<int>(rng.uniform_int(15, 40));
  for (int s = 0; s < strokes; ++s) {
    const double x0 = rng.uniform(20, w - 20), y0 = rng.uniform(20, h - 20);
    const double angle = rng.uniform(0, 6.283185307179586), len = rng.uniform(20, 45);
    for (int t = 0; t <= static_cast<int>(len); ++t) {
      dot(static_cast<int>(x0 + t * std::cos(angle)), static_cast<int>(y0 + t * std::sin(angle)));
    }
  }
  for (int r = 0; r < 4; ++r) {
    const double cx = rng.uniform(20, w - 20), cy = rng.uniform(20, h - 20);
    for (int t = 0; t < 40; ++t) {
      dot(static_cast<int>(cx + 6 * std::cos(t * 0.157)),
          static_cast<int>(cy + 8 * std::sin(t * 0.157)));
    }
  }
  return img;
}

struct Corpus {
  std::string label;
  std::vector<std::string> paths;                // files on disk
  std::vector<std::vector<std::uint8_t>> bytes;  // their contents
  std::vector<io::GrayImage> decoded;            // the first kMaxDecoded, decoded
  std::string temp_dir;                          // synthetic files, removed at exit
  std::size_t total_bytes = 0;

  ~Corpus() {
    if (!temp_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(temp_dir, ec);
    }
  }
};

const Corpus& corpus() {
  static const Corpus c = [] {
    Corpus out;
    const char* dir = std::getenv("CAPFLOW_BENCH_DATA");
    if (dir && *dir) {
      const io::Listing listing = io::list_bms(dir, "train_labels.csv", "train", "auto");
      for (const io::SampleRef& s : listing.samples()) {
        if (out.paths.size() == kMaxFiles) break;
        try {
          out.bytes.push_back(io::read_file(s.path));
          out.paths.push_back(s.path);
        } catch (const DataError&) {
          // missing or unreadable: left out of the benchmark
        }
      }
      out.label = std::string(dir) + ": " + std::to_string(out.paths.size()) + " files";
    } else {
      out.temp_dir = (std::filesystem::temp_directory_path() /
                      ("capflow_bench_decode_" + std::to_string(::getpid())))
                         .string();
      std::filesystem::create_directories(out.temp_dir);
      for (std::uint64_t k = 0; k < 64; ++k) {
        out.bytes.push_back(io::encode_png_gray(synthetic_drawing(k)));
        out.paths.push_back(out.temp_dir + "/" + std::to_string(k) + ".png");
        std::ofstream(out.paths.back(), std::ios::binary)
            .write(reinterpret_cast<const char*>(out.bytes.back().data()),
                   static_cast<std::streamsize>(out.bytes.back().size()));
      }
      out.label = "synthetic: 64 PNGs, 300-500 px";
    }
    for (const auto& b : out.bytes) {
      out.total_bytes += b.size();
      if (out.decoded.size() < kMaxDecoded) {
        out.decoded.push_back(io::decode_image_gray(b.data(), b.size(), "bench"));
      }
    }
    return out;
  }();
  return c;
}

bool usable(benchmark::State& state, const Corpus& c) {
  if (c.paths.empty()) {
    state.SkipWithError("no readable image files in CAPFLOW_BENCH_DATA");
    return false;
  }
  state.SetLabel(c.label);
  return true;
}

// The loop of the per-image benchmarks: `one(c, i)` handles item i (0, 1, 2...) of the corpus
// and returns the bytes it took in; reports items and bytes processed.
template <typename One>
void run_items(benchmark::State& state, One one) {
  const Corpus& c = corpus();
  if (!usable(state, c)) return;
  std::size_t i = 0, bytes = 0;
  for (auto _ : state) bytes += one(c, i++);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

void BM_decode_raw_file(benchmark::State& state) {
  run_items(state, [](const Corpus& c, std::size_t i) {
    const std::string& path = c.paths[i % c.paths.size()];
    const auto data = io::read_file(path);
    benchmark::DoNotOptimize(io::decode_image_gray(data.data(), data.size(), path));
    return data.size();
  });
}
BENCHMARK(BM_decode_raw_file)->Unit(benchmark::kMicrosecond);

// The same with libspng's defaults, which also check each PNG's Adler-32 (DecodeLimits's
// check_adler32; capflow's decoder leaves it to the chunks' CRC-32).
void BM_decode_raw_file_adler32(benchmark::State& state) {
  io::DecodeLimits limits;
  limits.check_adler32 = true;
  run_items(state, [&limits](const Corpus& c, std::size_t i) {
    const std::string& path = c.paths[i % c.paths.size()];
    const auto data = io::read_file(path);
    benchmark::DoNotOptimize(io::decode_image_gray(data.data(), data.size(), path, limits));
    return data.size();
  });
}
BENCHMARK(BM_decode_raw_file_adler32)->Unit(benchmark::kMicrosecond);

void BM_decode_raw_memory(benchmark::State& state) {
  run_items(state, [](const Corpus& c, std::size_t i) {
    const auto& data = c.bytes[i % c.bytes.size()];
    benchmark::DoNotOptimize(io::decode_image_gray(data.data(), data.size(), "bench"));
    return data.size();
  });
}
BENCHMARK(BM_decode_raw_memory)->Unit(benchmark::kMicrosecond);

void BM_decode_fit_224(benchmark::State& state) {
  run_items(state, [](const Corpus& c, std::size_t i) {
    const auto& data = c.bytes[i % c.bytes.size()];
    benchmark::DoNotOptimize(
        io::decode_image_gray_fit(data.data(), data.size(), "bench", {}, 224, 224));
    return data.size();
  });
}
BENCHMARK(BM_decode_fit_224)->Unit(benchmark::kMicrosecond);

// The decoded picture of item i: every picture in turn (cold: most come from memory) or,
// `warm`, each picture eight times in a row, seven of them from the cache as a picture the
// decoder has just written is in the pipeline: the kernel's own cost, over the same pictures.
const io::GrayImage& picture(const Corpus& c, std::size_t i, bool warm) {
  return c.decoded[(warm ? i / 8 : i) % c.decoded.size()];
}

// The augment over the decoded pictures, cold or warm (picture()).
template <bool kWarm>
void BM_augment_224(benchmark::State& state) {
  image::AugmentOptions options;
  options.noise = 0.001;
  run_items(state, [&options](const Corpus& c, std::size_t i) {
    const io::GrayImage& img = picture(c, i, kWarm);
    SeededRng rng({42, i});
    benchmark::DoNotOptimize(image::bms_augment(img, options, rng));
    return img.pixels.size();  // decoded pixels in
  });
}
BENCHMARK_TEMPLATE(BM_augment_224, false)->Name("BM_augment_224")->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_augment_224, true)
    ->Name("BM_augment_224_warm")
    ->Unit(benchmark::kMicrosecond);

// The area resize alone, the augment's main cost: a decoded picture fitted into 224 x 224
// keeping its aspect ratio (no crop, no turn), by the path that runs on this processor
// (AVX-512 or AVX2 where it has them), by the scalar reference, and (warm, as BM_augment_224_warm)
// by the AVX2 path alone, for same-run comparisons. The same pictures as BM_augment_224,
// uncropped.
constexpr int kSide = 224;

enum class ResizeBy { chosen, reference, avx2 };

void resize_by(ResizeBy by, const io::GrayImage& img, int w, int h, std::uint8_t* out) {
  switch (by) {
    case ResizeBy::reference:
      image::resize_area_turned_reference(image::view(img), w, h, 0, out, kSide);
      return;
#if CAPFLOW_HAS_AVX2_PATH
    case ResizeBy::avx2:
      image::area::resize_avx2(image::view(img), w, h, 0, out, kSide);
      return;
#endif
    default:
      image::resize_area_turned_into(image::view(img), w, h, 0, out, kSide);
  }
}

// Whether `by` runs on this processor; marks the benchmark skipped where it does not.
bool runs_here(ResizeBy by, benchmark::State& state) {
#if CAPFLOW_HAS_AVX2_PATH
  const bool runs = by != ResizeBy::avx2 || image::has_avx2();
#else
  const bool runs = by != ResizeBy::avx2;
#endif
  if (!runs) state.SkipWithError("this processor has no AVX2");
  return runs;
}

template <ResizeBy kBy, bool kWarm>
void BM_resize_area_224(benchmark::State& state) {
  if (!runs_here(kBy, state)) return;
  std::vector<std::uint8_t> out(kSide * kSide);
  run_items(state, [&out](const Corpus& c, std::size_t i) {
    const io::GrayImage& img = picture(c, i, kWarm);
    const double s =
        std::min(static_cast<double>(kSide) / img.width, static_cast<double>(kSide) / img.height);
    const int w = std::clamp(static_cast<int>(std::lround(img.width * s)), 1, kSide);
    const int h = std::clamp(static_cast<int>(std::lround(img.height * s)), 1, kSide);
    resize_by(kBy, img, w, h, out.data());
    benchmark::DoNotOptimize(out.data());
    return img.pixels.size();  // decoded pixels in
  });
}
BENCHMARK_TEMPLATE(BM_resize_area_224, ResizeBy::chosen, false)
    ->Name("BM_resize_area_224")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_resize_area_224, ResizeBy::reference, false)
    ->Name("BM_resize_area_224_reference")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_resize_area_224, ResizeBy::chosen, true)
    ->Name("BM_resize_area_224_warm")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_resize_area_224, ResizeBy::avx2, true)
    ->Name("BM_resize_area_224_avx2_warm")
    ->Unit(benchmark::kMicrosecond);

// One picture of the given size (gray levels that repeat every seven pixels: the resize's cost
// does not depend on them) fitted to 224 across, warm, by the chosen path and by the AVX2 path:
// where the AVX-512 path runs (a shrink across of up to about 1.9 times) and where it leaves the
// picture to AVX2.
template <ResizeBy kBy>
void BM_resize_area_size(benchmark::State& state) {
  if (!runs_here(kBy, state)) return;
  const int w = static_cast<int>(state.range(0)), h = static_cast<int>(state.range(1));
  io::GrayImage img(w, h, 255);
  for (std::size_t i = 0; i < img.pixels.size(); i += 7)
    img.pixels[i] = static_cast<std::uint8_t>(i * 31);
  const int oh = std::max(1, h * kSide / w);
  std::vector<std::uint8_t> out(kSide * kSide);
  for (auto _ : state) {
    resize_by(kBy, img, kSide, oh, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
#define CAPFLOW_RESIZE_SIZES \
  Args({300, 300})->Args({420, 300})->Args({500, 400})->Args({641, 400})->Args({830, 500})
BENCHMARK_TEMPLATE(BM_resize_area_size, ResizeBy::chosen)
    ->Name("BM_resize_area_size")
    ->CAPFLOW_RESIZE_SIZES->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_resize_area_size, ResizeBy::avx2)
    ->Name("BM_resize_area_size_avx2")
    ->CAPFLOW_RESIZE_SIZES->Unit(benchmark::kMicrosecond);
#undef CAPFLOW_RESIZE_SIZES

void BM_collate_32(benchmark::State& state) {
  constexpr int kBatch = 32;
  std::vector<batch::ImageRef> images;
  std::vector<std::vector<int>> tokens;
  std::vector<std::string> ids, labels;
  for (int n = 0; n < kBatch; ++n) {
    auto img = std::make_shared<io::GrayImage>(224, 224);
    for (std::size_t p = 0; p < img->pixels.size(); p += 97) img->pixels[p] = 0;
    images.push_back(std::move(img));
    std::vector<int> row{1};
    for (int t = 0; t < 60 + 2 * n; ++t) row.push_back(4 + (t * 7 + n) % 180);
    row.push_back(2);
    tokens.push_back(std::move(row));
    ids.push_back("0000" + std::to_string(100000 + n));
    labels.push_back("InChI=1S/" + std::to_string(n));
  }
  std::vector<batch::BatchSample> samples;
  for (int n = 0; n < kBatch; ++n) {
    const auto k = static_cast<std::size_t>(n);
    samples.push_back({images[k], &tokens[k], &ids[k], &labels[k]});
  }
  for (auto _ : state) benchmark::DoNotOptimize(batch::collate(samples, 0, 0));
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetLabel("224x224 gray (shared, not copied), ~100 tokens per row");
}
BENCHMARK(BM_collate_32)->Unit(benchmark::kMicrosecond);

}  // namespace
