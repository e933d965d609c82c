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

// Sets every FLOP-counting node's peak_gflops (by the precision it computes in) and returns
// summary.json's "mfu" object: model_flops, model_flops_per_image, gflops_per_second,
// precision, peak_gflops, peak_fraction, peak_threads, peak_source; null when no node counts
// model FLOPs. The peak is measured or looked up only then, and only for CPU models.
nlohmann::json apply_model_utilisation(graph::RunStats& stats, const graph::PipelineSpec& spec);

// "model FLOPs: 3.10 GFLOP per image, 95.2 GFLOP/s = 12.3 % of this machine's bf16 peak
// (773 GFLOP/s at 2 threads, cached ...)"; empty for a null object.
std::string format_model_utilisation(const nlohmann::json& mfu);

}  // namespace capflow::cli
