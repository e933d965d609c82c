// Model FLOP utilisation (MFU) of a run: the model FLOPs its nodes counted (model_flops.h)
// against this machine's measured peak (`capflow info --peak`, cached per CPU model and thread
// count). nlohmann::json is forward-declared; no LibTorch here.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "graph/pipeline_spec.h"
#include "graph/run_stats.h"
#include "nodes/model/peak_probe.h"

namespace capflow::cli {

// Where measured peaks are kept: $CAPFLOW_PEAK_FILE, else $XDG_CACHE_HOME/capflow/peak.json,
// else $HOME/.cache/capflow/peak.json.
std::string peak_cache_path();

// Measures the peak at `threads` and stores it in the cache (replacing the entry of this CPU
// model and thread count). A cache that cannot be written is left alone.
model::MachinePeak measure_and_cache_peak(int threads, const std::string& cpu_model,
                                          double seconds_per_probe);

struct PeakLookup {
  model::MachinePeak peak;
  std::string source;  // "cached (capflow info --peak, DATE)" or "measured at the end of this run"
};
// The cached peak of this CPU model at `threads`, else measured now (about 2 s) and cached.
PeakLookup peak_for(int threads, const std::string& cpu_model);

// Sets every FLOP-counting node's peak_gflops (by the precision it computes in) and returns
// summary.json's "mfu" object: model_flops, model_flops_per_image, gflops_per_second,
// precision, peak_gflops, peak_fraction, peak_threads, peak_source; null when no node counts
// model FLOPs. The peak is measured or looked up only then, and only for CPU models.
nlohmann::json apply_model_utilisation(graph::RunStats& stats, const graph::PipelineSpec& spec);

// "model FLOPs: 3.10 GFLOP per image, 95.2 GFLOP/s = 12.3 % of this machine's bf16 peak
// (773 GFLOP/s at 2 threads, cached ...)"; empty for a null object.
std::string format_model_utilisation(const nlohmann::json& mfu);

}  // namespace capflow::cli
