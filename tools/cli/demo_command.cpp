// capflow demo: the main job of the README's first command. Runs the embedded default
// pipeline (pipelines/demo.yaml, built into the binary): makes the demo datasets when missing,
// trains for a bounded time, evaluates on held-out molecules, prints a table.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "tools/cli/commands.h"
#include "tools/cli/embedded_pipelines.h"
#include "tools/cli/pipeline_runner.h"

namespace fs = std::filesystem;

namespace capflow::cli {
namespace {

struct DemoOptions {
  std::string data_dir = "data";
  double seconds = 300;
  std::uint64_t count = 3000;
  std::string out;
  std::vector<std::string> sets;
};

std::string number(const nlohmann::json& j, const char* key, const char* format, double scale = 1) {
  if (!j.contains(key) || !j.at(key).is_number()) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, scale * j.at(key).get<double>());
  return buf;
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto o = std::make_shared<DemoOptions>();
  auto* demo = app.add_subcommand(
      "demo",
      "The main job on the embedded default (pipelines/demo.yaml): make the demo datasets if "
      "missing, train for a bounded time, evaluate on held-out molecules, print a table");
  demo->add_option("--data", o->data_dir, "Folder of the datasets (DATA/demo, DATA/demo-holdout)")
      ->capture_default_str();
  demo->add_option("--seconds", o->seconds, "Training time")->capture_default_str();
  demo->add_option("--count", o->count, "Training images to make when missing (held-out: a tenth)")
      ->capture_default_str();
  demo->add_option("--out", o->out, "Run folder (default: runs/demo-<date>-<time>)");
  demo->add_option("--set", o->sets, "Override a value of the pipeline: dotted.key=value")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  demo->callback([o] {
    PipelineRunRequest r;
    r.pipeline = "pipelines/demo.yaml (embedded)";
    r.yaml_text = kDemoPipeline;
    r.out = o->out.empty() ? "" : o->out;
    r.sets = {"data.root=" + (fs::path(o->data_dir) / "demo").string(),
              "data.val_root=" + (fs::path(o->data_dir) / "demo-holdout").string(),
              "data.make_count=" + std::to_string(o->count),
              "train.max_seconds=" + std::to_string(o->seconds)};
    r.sets.insert(r.sets.end(), o->sets.begin(), o->sets.end());
    const nlohmann::json s = run_pipeline_request(r);
    const nlohmann::json eval = s.value("eval", nlohmann::json::object());
    std::printf("\ndemo results (%s)\n", s.value("run_dir", std::string()).c_str());
    std::printf("| measure | value |\n| --- | --- |\n");
    std::printf("| training images/s, end to end from PNG files | %s |\n",
                number(s, "images_per_second", "%.1f").c_str());
    std::printf("| images trained on | %s |\n", number(s, "images", "%.0f").c_str());
    const nlohmann::json mfu =
        s.contains("mfu") && s["mfu"].is_object() ? s["mfu"] : nlohmann::json::object();
    std::printf("| model GFLOP/s (forward + backward), %% of this machine's peak | %s (%s%%) |\n",
                number(mfu, "gflops_per_second", "%.1f").c_str(),
                number(mfu, "peak_fraction", "%.1f", 100).c_str());
    std::printf("| optimizer steps | %s |\n", number(s, "steps", "%.0f").c_str());
    std::printf("| loss, first step -> last | %s -> %s |\n",
                number(s, "loss_first", "%.3f").c_str(), number(s, "loss_last", "%.3f").c_str());
    std::string decoding = decoding_name(eval);
    if (decoding != "greedy") decoding += ", best valid";
    std::printf("| held-out mean Levenshtein (%s) | %s |\n", decoding.c_str(),
                number(eval, "levenshtein_mean", "%.2f").c_str());
    std::printf("| held-out exact match | %s%% |\n",
                number(eval, "exact_match", "%.1f", 100).c_str());
    std::printf("| held-out valid InChI | %s%% |\n",
                number(eval, "valid_inchi_fraction", "%.1f", 100).c_str());
    std::printf("| held-out images | %s |\n", number(eval, "images", "%.0f").c_str());
  });
}

}  // namespace capflow::cli
