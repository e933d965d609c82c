// Model FLOP utilisation of a run (see model_utilisation.h).
#include "tools/cli/model_utilisation.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "nodes/model/peak_cache.h"
#include "nodes/model/precision_choice.h"

namespace capflow::cli {
namespace {

// The precision a node computes in: its own `precision` argument (auto resolved as the node
// did, precision_choice.h), else the encoder's.
std::string node_precision(const graph::PipelineSpec& spec, const std::string& name,
                           const std::string& run) {
  const graph::NodeSpec* n = spec.node(name);
  if (n == nullptr || !n->args.contains("precision")) return run;
  return model::choose_precision(n->args.get_string("precision"), n->device != "cpu");
}

// The first model node that has a precision (the encoder in a training pipeline).
const graph::NodeSpec* encoder_node(const graph::PipelineSpec& spec) {
  for (const graph::NodeSpec& n : spec.nodes)
    if (n.schema != nullptr && n.schema->node_stage == graph::NodeStage::kModel &&
        n.args.contains("precision"))
      return &n;
  return nullptr;
}

}  // namespace

nlohmann::json apply_model_utilisation(graph::RunStats& stats, const graph::PipelineSpec& spec) {
  double flops = 0;
  for (const graph::NodeStats& n : stats.nodes) flops += n.flops();
  if (flops <= 0) return nullptr;
  const graph::NodeSpec* encoder = encoder_node(spec);
  const bool on_cpu = encoder == nullptr || encoder->device == "cpu";
  const std::string precision =
      encoder != nullptr ? model::choose_precision(encoder->args.get_string("precision"), !on_cpu)
                         : "fp32";
  const double rate = stats.seconds > 0 ? flops / stats.seconds * 1e-9 : 0.0;
  nlohmann::json mfu = {
      {"model_flops", flops},
      {"model_flops_per_image", stats.images > 0 ? flops / static_cast<double>(stats.images) : 0.0},
      {"gflops_per_second", rate},
      {"precision", precision},
      {"peak_gflops", nullptr},
      {"peak_fraction", nullptr},
      {"peak_threads", stats.topology.threads},
      {"peak_source", on_cpu ? "" : "not measured for a GPU"}};
  if (!on_cpu) return mfu;
  const model::PeakLookup lookup =
      model::peak_for(stats.topology.threads, stats.topology.cpu_model);
  for (graph::NodeStats& n : stats.nodes)
    if (n.flops() > 0) n.peak_gflops = lookup.peak.peak(node_precision(spec, n.name, precision));
  const double peak = lookup.peak.peak(precision);
  mfu["peak_gflops"] = peak;
  mfu["peak_fraction"] = peak > 0 ? nlohmann::json(rate / peak) : nlohmann::json(nullptr);
  mfu["peak_source"] = lookup.source;
  return mfu;
}

std::string format_model_utilisation(const nlohmann::json& mfu) {
  if (!mfu.is_object()) return {};
  char line[512];
  const double per_image = mfu["model_flops_per_image"].get<double>() * 1e-9;
  const double rate = mfu["gflops_per_second"].get<double>();
  if (mfu["peak_fraction"].is_null()) {
    std::snprintf(line, sizeof line,
                  "model FLOPs: %.2f GFLOP per image (forward + backward), %.1f GFLOP/s\n",
                  per_image, rate);
    return line;
  }
  std::snprintf(
      line, sizeof line,
      "model FLOPs: %.2f GFLOP per image (forward + backward), %.1f GFLOP/s = %.1f %% of this "
      "machine's %s peak (%.0f GFLOP/s at %d threads, %s)\n",
      per_image, rate, 100 * mfu["peak_fraction"].get<double>(),
      mfu["precision"].get<std::string>().c_str(), mfu["peak_gflops"].get<double>(),
      mfu["peak_threads"].get<int>(), mfu["peak_source"].get<std::string>().c_str());
  return line;
}

}  // namespace capflow::cli
