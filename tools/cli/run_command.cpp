// capflow run PIPELINE.yaml [--set dotted.key=value]... [--out RUN_DIR] [--trace FILE] [--dot FILE]
//             [--resume CHECKPOINT]
//
// Validates the pipeline against the registered schemas (every problem at once, exit 2),
// writes RUN_DIR/config.yaml, builds and runs the flow graph, streams RUN_DIR/metrics.jsonl,
// and ends with RUN_DIR/summary.json and a per-node table naming the bottleneck.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "graph/errors.h"
#include "graph/flow_runner.h"
#include "graph/registry.h"
#include "graph/stop_signals.h"
#include "nodes/model/torch_runtime.h"
#include "nodes/register_nodes.h"
#include "tools/cli/commands.h"
#include "nodes/model/checkpoint_info.h"
#include "tools/cli/dataset_on_demand.h"
#include "tools/cli/pipeline_runner.h"
#include "tools/cli/run_files.h"

namespace capflow::cli {

namespace {

namespace fs = std::filesystem;

std::string default_run_dir(const std::string& pipeline) {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return (fs::path("runs") / (fs::path(pipeline).stem().string() + "-" + stamp)).string();
}

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (*end != '\0' || n < 0) throw ConfigError(std::string("environment variable ") + name + "='" + v + "' is not a count");
  return static_cast<int>(n);
}

// Stops the run cleanly after train.max_seconds.
class Deadline {
 public:
  explicit Deadline(double seconds) {
    if (seconds <= 0) return;
    thread_ = std::thread([this, seconds] {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!cv_.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return done_; })) {
        reached_ = true;
        StopSignals::request();
      }
    });
  }
  ~Deadline() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  bool reached() const { return reached_; }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::atomic<bool> reached_{false};
  std::thread thread_;
};

// Values the nodes report (loss, eval.*), kept for the summary and the progress line.
struct Reports {
  std::mutex mutex;
  bool have_loss = false;
  double loss_first = 0, loss_last = 0;
  std::uint64_t step = 0;
  nlohmann::json eval = nlohmann::json::object();
};

}  // namespace

nlohmann::json run_pipeline_request(const PipelineRunRequest& o) {
  graph::Registry registry;
  nodes::register_all(registry);
  std::vector<std::string> sets = o.sets;
  graph::ResumePoint resume_point;
  std::string resumed_run_dir;
  if (!o.resume.empty()) {
    const std::string checkpoint = model::resolve_checkpoint(o.resume);
    const model::CheckpointInfo info = model::read_checkpoint_info(checkpoint);
    sets.push_back("train.resume=" + checkpoint);
    resume_point.epoch = info.epoch;
    resume_point.groups_done = info.groups_done;
    resumed_run_dir = fs::path(checkpoint).parent_path().parent_path().string();
    std::printf("resuming from %s: step %llu, epoch %llu, batch %llu\n", checkpoint.c_str(),
                static_cast<unsigned long long>(info.step), static_cast<unsigned long long>(info.epoch),
                static_cast<unsigned long long>(info.groups_done));
  }
  const graph::PipelineSpec spec = o.yaml_text.empty()
                                       ? graph::load_pipeline(o.pipeline, sets, registry)
                                       : graph::parse_pipeline(o.yaml_text, o.pipeline, sets, registry);
  ensure_pipeline_datasets(spec);

  const std::string run_dir = !o.out.empty() ? o.out
                              : !resumed_run_dir.empty() ? resumed_run_dir
                                                         : default_run_dir(o.pipeline);
  RunFiles files(run_dir, /*append_metrics=*/!o.resume.empty());
  files.write_config(spec.resolved_yaml);

  graph::RunOptions options;
  options.rank = env_int("RANK", 0);
  options.world_size = env_int("WORLD_SIZE", 1);
  options.local_rank = env_int("LOCAL_RANK", 0);
  if (options.world_size < 1 || options.rank >= options.world_size)
    throw ConfigError("RANK=" + std::to_string(options.rank) + " is not below WORLD_SIZE=" +
                      std::to_string(options.world_size));
  options.run_dir = run_dir;
  options.resume = resume_point;
  options.trace_path = o.trace;
  options.dot_path = o.dot;
  options.on_threads = [](int threads) { model::set_torch_threads(threads); };

  Reports reports;
  const auto started = std::chrono::steady_clock::now();
  options.on_report = [&](const std::string& node, const std::string& name, double value, std::uint64_t step) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    files.append_metrics({{"step", step}, {"node", node}, {name, value}, {"seconds", seconds}});
    std::lock_guard<std::mutex> lock(reports.mutex);
    if (name == "loss") {
      if (!reports.have_loss) reports.loss_first = value;
      reports.have_loss = true;
      reports.loss_last = value;
      reports.step = step;
    } else if (name.rfind("eval.", 0) == 0) {
      reports.eval[name.substr(5)] = value;
      reports.eval["step"] = step;
    }
  };

  const bool live = !o.quiet && isatty(STDERR_FILENO);
  int ticks = 0;
  options.progress_interval = 1.0;
  options.on_progress = [&](const graph::RunProgress& p) {
    const double rate = p.seconds > 0 ? static_cast<double>(p.images) / p.seconds : 0.0;
    files.append_metrics({{"seconds", p.seconds}, {"images", p.images}, {"images_per_second", rate},
                          {"epoch", p.epoch}});
    std::string loss;
    {
      std::lock_guard<std::mutex> lock(reports.mutex);
      if (reports.have_loss)
        loss = ", step " + std::to_string(reports.step) + ", loss " + std::to_string(reports.loss_last).substr(0, 6);
    }
    ++ticks;
    if (live)
      std::fprintf(stderr, "\rrun: %llu images, %.1f images/s, epoch %llu%s, %.0f s   ",
                   static_cast<unsigned long long>(p.images), rate,
                   static_cast<unsigned long long>(p.epoch), loss.c_str(), p.seconds);
    else if (!o.quiet && ticks % 10 == 0)
      std::fprintf(stderr, "run: %llu images, %.1f images/s, epoch %llu%s, %.0f s\n",
                   static_cast<unsigned long long>(p.images), rate,
                   static_cast<unsigned long long>(p.epoch), loss.c_str(), p.seconds);
  };

  StopSignals signals;
  options.stop_requests = &StopSignals::requests();
  graph::RunStats stats;
  {
    Deadline deadline(spec.section("train").get_float("max_seconds"));
    stats = graph::run_pipeline(spec, registry, options);
  }
  if (live) std::fprintf(stderr, "\n");

  nlohmann::json summary = graph::run_stats_json(stats);
  summary["pipeline"] = spec.file;
  summary["run_dir"] = run_dir;
  summary["loss_first"] = reports.have_loss ? nlohmann::json(reports.loss_first) : nlohmann::json(nullptr);
  summary["loss_last"] = reports.have_loss ? nlohmann::json(reports.loss_last) : nlohmann::json(nullptr);
  summary["steps"] = reports.step;
  if (!reports.eval.empty()) summary["eval"] = reports.eval;
  files.write_summary(summary);

  std::printf("%s: %llu images in %.2f s = %.1f images/s (%d threads, world size %d)%s\n",
              spec.file.c_str(), static_cast<unsigned long long>(stats.images), stats.seconds,
              stats.images_per_second(), stats.topology.threads, stats.world_size,
              stats.stopped_early ? ", stopped early" : "");
  if (reports.have_loss)
    std::printf("training: %llu steps, loss %.4f -> %.4f\n", static_cast<unsigned long long>(reports.step),
                reports.loss_first, reports.loss_last);
  if (!reports.eval.empty())
    std::printf("evaluation on %s (%g images): Levenshtein %.2f, exact %.1f%%, valid InChI %.1f%%\n",
                spec.section("data").get_string("val_root").c_str(), reports.eval.value("images", 0.0),
                reports.eval.value("levenshtein_mean", 0.0), 100 * reports.eval.value("exact_match", 0.0),
                100 * reports.eval.value("valid_inchi_fraction", 0.0));
  std::printf("%s", graph::format_node_table(stats).c_str());
  std::printf("run folder: %s\n", run_dir.c_str());
  if (StopSignals::last_signal() != 0) throw Interrupted(StopSignals::last_signal());
  return summary;
}


void add_run_command(CLI::App& app) {
  auto o = std::make_shared<PipelineRunRequest>();
  auto* run = app.add_subcommand("run", "Run a YAML pipeline as a oneTBB flow graph");
  run->add_option("pipeline", o->pipeline, "Pipeline file (YAML)")->required();
  run->add_option("--set", o->sets, "Override a value: dotted.key=value (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  run->add_option("--out", o->out, "Run folder (default: runs/<pipeline>-<date>-<time>)");
  run->add_option("--trace", o->trace, "Write a Chrome trace of every node call (open in Perfetto)");
  run->add_option("--dot", o->dot, "Write the built flow graph as DOT");
  run->add_option("--resume", o->resume,
                  "Continue from a checkpoint (file, checkpoints folder or run folder); the run "
                  "folder defaults to the checkpoint's");
  run->add_flag("--quiet", o->quiet, "No progress lines");
  run->callback([o] { run_pipeline_request(*o); });
}

}  // namespace capflow::cli
