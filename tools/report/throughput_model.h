// A throughput model of data-parallel training: predicts images/s and the time of an epoch
// (2.42 M images, the BMS training set) for a cluster shape (hosts × cores, link rate, GPU or
// not) from per-image costs measured by capflow-bench (or, without it, by a 1-rank run) and
// from the allreduce benchmark (or a link rate and latency).
//
// Per rank, one training step of B images with T threads takes
//   step = B × (m(T) + d / T) + o(T) + allreduce(G, N)          on CPU
//   step = max(B × m_gpu, B × d / T) + allreduce(G, N)           with the model on a GPU
// where m is the model span's time per image (encoder + decoder forward and backward), scaled
// with threads by Amdahl's law m(T) = m(1) × (f + (1 − f) / T); d is the CPU time per image of
// the data nodes (decode, augment, collate), sharing the rank's threads with the model span;
// o the optimizer step; R ranks sharing one host's C cores get together at most what one rank
// with C threads gets (step ≥ R × step of that rank); allreduce of G gradient bytes over N
// ranks is a ring:
//   2 (N − 1) / N × G / β + 2 (N − 1) × α.
// Throughput is N × B / step; epoch time is 2.42 M / throughput.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tools/report/run_record.h"

namespace capflow::report {

// The bound the model claims on its relative error for images/s on the runs it was checked
// against (stated in the report next to the measured errors).
constexpr double kStatedRelativeError = 0.35;
constexpr double kBmsTrainImages = 2.42e6;

struct Calibration {
  std::string source;  // where the figures came from
  int threads = 2;     // threads the model-span figures were measured with
  int batch = 32;
  double model_seconds_per_image = 0;  // encoder + decoder forward+backward at `threads`
  double data_seconds_per_image = 0;   // decode + augment + collate, CPU seconds (one thread)
  double optimizer_seconds_per_step = 0;
  double serial_fraction = 0.1;  // f of Amdahl's law for the model span
  // Model span seconds per image on a GPU, from a measured GPU run; 0: none measured, then the
  // CPU figure divided by `assumed_gpu_speedup` (and the prediction says so).
  double gpu_model_seconds_per_image = 0;
  std::vector<std::string> notes;  // what was assumed, what was missing
};

// Allreduce cost: time(bytes, 2 ranks) = 2 × latency + bytes / bytes_per_second.
struct LinkCost {
  double bytes_per_second = 0;  // effective, as the 2-rank benchmark measured it
  double latency_seconds = 0;
  std::string source;
};

struct ClusterShape {
  int hosts = 1;
  int cores = 2;                    // per host
  int ranks_per_host = 1;           // the host's cores are split evenly among them
  double link_bits_per_second = 0;  // between hosts; 0: use the measured LinkCost
  double link_latency_seconds = 50e-6;
  bool gpu = false;           // one GPU per rank runs the model span
  std::string label() const;  // "4 hosts × 2 cores, 1 Gbit/s"
};

struct ModelOptions {
  double gradient_bytes = 60e6;  // ResNet-18 (1-channel stem) + attention LSTM, fp32 gradients
  double epoch_images = kBmsTrainImages;
  double assumed_gpu_speedup = 20;  // model span, GPU vs this CPU, when no GPU run is measured
};

struct Prediction {
  int ranks = 1;
  int threads_per_rank = 1;
  double step_seconds = 0;
  double compute_seconds = 0;        // per step: model span (+ data share on CPU)
  double communication_seconds = 0;  // per step: allreduce
  double images_per_second = 0;      // all ranks
  double epoch_seconds = 0;
  bool gpu_assumed = false;  // GPU figures from assumed_gpu_speedup, not a measured run
};

// Calibration from capflow-bench's JSON output (--benchmark_format=json or --benchmark_out):
// BM_encoder_forward_backward, BM_decoder_forward_backward (batch 32, bf16 when present),
// BM_decode_fit_224, BM_augment_224, BM_collate_32, BM_adamw_step. Throws ConfigError naming
// the file when it is unreadable or lacks the encoder and decoder entries.
Calibration calibration_from_bench(const std::string& bench_json_path, bool bf16 = true);
// Several files (repeated measurements on a shared machine): an entry measured in more than one
// keeps its fastest figure, since interference only ever slows a benchmark down.
Calibration calibration_from_bench(const std::vector<std::string>& bench_json_paths,
                                   bool bf16 = true);
// Calibration from a measured 1-rank CPU run: its nodes' busy seconds per image.
Calibration calibration_from_run(const RunRecord& run);
// Adds the GPU model-span figure of a measured GPU run (world size 1).
void add_gpu_run(Calibration& calibration, const RunRecord& gpu_run);

// The BM_allreduce/<bytes> entries of a capflow-bench JSON file, fitted to latency + bytes/rate
// (least squares); nullopt when the file has none.
std::optional<LinkCost> link_from_bench(const std::string& bench_json_path);
std::optional<LinkCost> link_from_bench(const std::vector<std::string>& bench_json_paths);
// A link given on the command line: "1gbit", "10gbit", "100mbit", "25gbit" or bits/s.
double parse_link_rate(const std::string& text);
// "hosts=4,cores=2,link=1gbit,ranks_per_host=1,latency_us=50,gpu": ConfigError on a bad key.
ClusterShape parse_shape(const std::string& text);

Prediction predict(const Calibration& calibration, const LinkCost& link, const ClusterShape& shape,
                   const ModelOptions& options = {});

// The shape a measured run ran with (one host, its ranks and threads).
ClusterShape shape_of(const RunRecord& run);

struct ModelCheck {
  std::string run;  // its name
  std::string shape;
  double measured_images_per_second = 0;
  double predicted_images_per_second = 0;
  double relative_error = 0;  // (predicted − measured) / measured
};
ModelCheck check_against(const Calibration& calibration, const LinkCost& link, const RunRecord& run,
                         const ModelOptions& options = {});

}  // namespace capflow::report
