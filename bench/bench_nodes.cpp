// Node benchmarks through the generic fixture (bench/node_fixture.h): the real node adapters,
// built from YAML like `capflow run` builds them, timed alone on inputs made by the nodes in
// front of them. Items are images; bytes are the node's input (file bytes for decode, pixels
// after it). Set after the timed loop.
//   decode_image: PNG and JPEG files of 256, 512 and 1024 px (synthetic drawings, made once)
//   bms_augment:  to 224 × 224, on the decode of 512 px PNGs
//   batch:        32 augmented images into one batch
//   train step:   encode → lstm → backward → reduce → optimize on batches of 8 and 32, fp32
//                 and bf16 (ResNet-18 + attention LSTM as in pipelines/train-cpu.yaml), on
//                 CAPFLOW_BENCH_DATA's images and captions when set (captions set the
//                 decoder's steps), else synthetic ones with short captions
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>

#include "bench/node_fixture.h"
#include "nodes/model/torch_runtime.h"

namespace {

namespace fs = std::filesystem;
using capflow::bench::NodeFixture;

// Synthetic datasets, one per (format, side), made on first use and removed at exit.
struct Datasets {
  std::string base =
      (fs::temp_directory_path() / ("capflow_bench_nodes_" + std::to_string(::getpid()))).string();
  std::map<std::string, std::string> made;
  ~Datasets() {
    std::error_code ec;
    fs::remove_all(base, ec);
  }
  const std::string& get(const std::string& format, int side, int count) {
    const std::string key = format + std::to_string(side) + "_" + std::to_string(count);
    auto it = made.find(key);
    if (it == made.end())
      it = made.emplace(key, capflow::bench::make_synthetic_dataset(base + "/" + key, count, side,
                                                                    format))
               .first;
    return it->second;
  }
};
Datasets& datasets() {
  static Datasets d;
  return d;
}

std::string data_pipeline(const std::string& root, const std::string& fit, int batch,
                          const std::string& tail) {
  return "seed: 1\n"
         "data: {root: " +
         root +
         ", val_root: null}\n"
         "resources: {threads: 1}\n"
         "train: {epochs: 1000}\n"
         "nodes:\n"
         "  read:    {kind: read_files}\n"
         "  decode:  {kind: decode_image, fit: " +
         fit +
         "}\n"
         "  augment: {kind: bms_augment, size: [224, 224], noise: 0.001, jitter: 4}\n"
         "  batch:   {kind: batch, size: " +
         std::to_string(batch) + "}\n" + tail;
}
const std::string kDiscard =
    "  sink:    {kind: discard}\nedges: [read, decode, augment, batch, sink]\n";

// Times `first`..`last` of `fixture` on `inputs` prepared inputs; items and bytes per second.
void time_nodes(benchmark::State& state, NodeFixture& fixture, const std::string& first,
                const std::string& last, std::size_t inputs) {
  if (fixture.prepare(first, inputs) == 0) {
    state.SkipWithError("no inputs for the node");
    return;
  }
  std::uint64_t units = 0, bytes = 0;
  for (auto _ : state) {
    const NodeFixture::Step step = fixture.run_once(first, last);
    units += step.units;
    bytes += step.bytes;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(units));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

// Args: side, format (0 png, 1 jpg).
void BM_node_decode(benchmark::State& state) {
  const int side = static_cast<int>(state.range(0));
  const std::string format = state.range(1) ? "jpg" : "png";
  NodeFixture fixture(data_pipeline(datasets().get(format, side, 32), "null", 32, kDiscard));
  state.SetLabel(format + " " + std::to_string(side) + " px, decode_image node");
  time_nodes(state, fixture, "decode", "", 32);
}
BENCHMARK(BM_node_decode)
    ->ArgNames({"side", "jpg"})
    ->ArgsProduct({{256, 512, 1024}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);

void BM_node_augment(benchmark::State& state) {
  NodeFixture fixture(data_pipeline(datasets().get("png", 512, 32), "[224, 224]", 32, kDiscard));
  state.SetLabel("512 px PNG fitted to 224, bms_augment node");
  time_nodes(state, fixture, "augment", "", 32);
}
BENCHMARK(BM_node_augment)->Unit(benchmark::kMicrosecond);

void BM_node_batch(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  NodeFixture fixture(data_pipeline(datasets().get("png", 512, 64), "[224, 224]", batch, kDiscard));
  state.SetLabel("224 x 224 images, batch node");
  time_nodes(state, fixture, "batch", "", 64);
}
BENCHMARK(BM_node_batch)->ArgName("batch")->Arg(32)->Unit(benchmark::kMicrosecond);

// One training step of the model span, through the nodes. Args: batch, bf16, threads.
void BM_node_train_step(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  const std::string precision = state.range(1) ? "bf16" : "fp32";
  const int threads = static_cast<int>(state.range(2));
  capflow::model::set_torch_threads(threads);
  const std::string tail =
      "  encode:   {kind: resnet_encoder, depth: 18, precision: " + precision +
      "}\n"
      "  lstm:     {kind: attention_lstm, embed: 256, hidden: 512, attention: 256, dropout: 0.5, "
      "precision: " +
      precision +
      "}\n"
      "  backward: {kind: backward}\n"
      "  reduce:   {kind: allreduce}\n"
      "  optimize: {kind: adamw, warmup_steps: 0, schedule: constant, checkpoint_every: 0, "
      "eval_every: 0}\n"
      "edges: [read, decode, augment, batch, encode, lstm, backward, reduce, optimize]\n";
  // Real captions matter to the decoder: CAPFLOW_BENCH_DATA's dataset when given.
  const char* real = std::getenv("CAPFLOW_BENCH_DATA");
  const std::string root = real && *real ? std::string(real) : datasets().get("png", 300, 64);
  NodeFixture fixture(data_pipeline(root, "[224, 224]", batch, tail), {}, threads);
  state.SetLabel(precision + " threads=" + std::to_string(threads) + ", encode..optimize nodes, " +
                 (real && *real ? root : std::string("synthetic short captions")));
  time_nodes(state, fixture, "encode", "optimize", 2);
}
BENCHMARK(BM_node_train_step)
    ->ArgNames({"batch", "bf16", "threads"})
    ->ArgsProduct({{8, 32}, {0, 1}, {2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
