// capflow run PIPELINE.yaml [--set dotted.key=value]... [--out RUN_DIR] [--trace FILE] [--dot FILE]
//             [--resume CHECKPOINT]
//
// Validates the pipeline against the registered schemas (every problem at once, exit 2),
// writes RUN_DIR/config.yaml, builds and runs the flow graph, streams RUN_DIR/metrics.jsonl,
// and ends with RUN_DIR/summary.json and a per-node table naming the bottleneck.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "graph/errors.h"
#include "graph/flow_runner.h"
#include "graph/registry.h"
#include "graph/resolved_conditions.h"
#include "graph/stop_signals.h"
#include "nodes/metric_names.h"
#include "nodes/model/checkpoint_info.h"
#include "nodes/model/torch_runtime.h"
#include "nodes/reduce/rank_env.h"
#include "nodes/register_nodes.h"
#include "tools/cli/commands.h"
#include "tools/cli/dataset_on_demand.h"
#include "tools/cli/model_utilisation.h"
#include "tools/cli/pipeline_runner.h"
#include "tools/cli/progress_line.h"
#include "tools/cli/run_files.h"

namespace capflow::cli {

namespace {

namespace fs = std::filesystem;

// runs/<pipeline>-<suffix>; the suffix is the date and time unless given (a job id).
std::string default_run_dir(const std::string& pipeline, std::string suffix = "") {
  if (suffix.empty()) {
    char stamp[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
    suffix = stamp;
  }
  return (fs::path("runs") / (fs::path(pipeline).stem().string() + "-" + suffix)).string();
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
  std::uint64_t epoch_images = 0;                          // reported by the source (progress line)
  double images_all_ranks = 0, communication_seconds = 0;  // from the reduce node
};

// A run name every rank of one job agrees on without talking: the launcher's job id.
std::string job_run_id() {
  for (const char* name : {"CAPFLOW_RUN_ID", "SLURM_JOB_ID", "TORCHELASTIC_RUN_ID"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') return v;
  }
  return "";
}

// train.baseline, read before the run (a wrong path must not wait for the end of training):
// {"summary", "images_per_second", "world_size"}, or null when none is named.
nlohmann::json read_baseline(const graph::PipelineSpec& spec) {
  const graph::Args& train = spec.section("train");
  if (train.is_null("baseline")) return nullptr;
  fs::path base = train.get_string("baseline");
  if (fs::is_directory(base)) base /= "summary.json";
  std::ifstream in(base);
  if (!in) throw ConfigError("train.baseline: cannot read " + base.string());
  nlohmann::json b;
  try {
    in >> b;
  } catch (const std::exception& e) {
    throw ConfigError("train.baseline: " + base.string() + " is not a summary.json: " + e.what());
  }
  const double one = b.value("images_per_second", 0.0);
  if (one <= 0) throw ConfigError("train.baseline: " + base.string() + " has no images_per_second");
  return {{"summary", base.string()},
          {"images_per_second", one},
          {"world_size", b.value("world_size", 1)}};
}

// summary.json's "scaling" for a run of several ranks: throughput over all ranks, the time
// spent waiting for gradients, and the efficiency against a 1-rank baseline run when one is
// named (train.baseline), else estimated from the exposed communication time.
nlohmann::json scaling_json(const graph::RunStats& stats, const Reports& r,
                            const nlohmann::json& baseline) {
  nlohmann::json s;
  const double seconds = stats.seconds > 0 ? stats.seconds : 1;
  const double total = r.images_all_ranks / seconds;
  s["world_size"] = stats.world_size;
  s["images_per_second_total"] = total;
  s["images_per_second_per_rank"] = total / stats.world_size;
  s["communication_seconds"] = r.communication_seconds;
  s["communication_fraction"] = r.communication_seconds / seconds;
  if (!baseline.is_null()) {
    s["baseline"] = baseline;
    s["efficiency"] = total / (stats.world_size * baseline["images_per_second"].get<double>());
    s["efficiency_source"] = "measured against the baseline run";
  } else {
    s["efficiency"] = 1.0 - r.communication_seconds / seconds;
    s["efficiency_source"] = "estimate: 1 - the share of time spent waiting for gradients";
  }
  return s;
}

// A stop requested before the run starts (while loading, validating, making datasets) ends
// the command there, before the run folder is written.
void stop_if_interrupted() {
  if (StopSignals::last_signal() != 0)
    throw Interrupted(StopSignals::last_signal(), "the run had not started; nothing written");
}

// Where a --resume continues: the checkpoint (as a train.resume override), the data position
// and the run folder it came from.
struct ResumeStart {
  graph::ResumePoint point;
  std::string run_dir;
};

ResumeStart resume_start(const std::string& resume, std::vector<std::string>& sets) {
  ResumeStart r;
  if (resume.empty()) return r;
  const std::string checkpoint = model::resolve_checkpoint(resume);
  const model::CheckpointInfo info = model::read_checkpoint_info(checkpoint);
  sets.push_back("train.resume=" + checkpoint);
  r.point.epoch = info.epoch;
  r.point.groups_done = model::resume_groups(info, reduce::read_rank_env().world_size);
  r.run_dir = fs::path(checkpoint).parent_path().parent_path().string();
  std::printf("resuming from %s: step %llu, epoch %llu, batch %llu\n", checkpoint.c_str(),
              static_cast<unsigned long long>(info.step),
              static_cast<unsigned long long>(info.epoch),
              static_cast<unsigned long long>(info.groups_done));
  return r;
}

// What a node reports goes to metrics.jsonl; the values the summary and the progress line
// need are kept in `reports`.
void keep_report(Reports& reports, const std::string& name, double value, std::uint64_t step) {
  std::lock_guard<std::mutex> lock(reports.mutex);
  if (name == metrics::kLoss) {
    if (!reports.have_loss) reports.loss_first = value;
    reports.have_loss = true;
    reports.loss_last = value;
    reports.step = step;
  } else if (name == metrics::kImagesAllRanks) {
    reports.images_all_ranks = value;
  } else if (name == metrics::kCommunicationSeconds) {
    reports.communication_seconds = value;
  } else if (name == metrics::kEpochImages) {
    reports.epoch_images = static_cast<std::uint64_t>(value);
  } else if (metrics::is_eval(name)) {
    reports.eval[metrics::eval_field(name)] = value;
    reports.eval["step"] = step;
  }
}

// The run's limits, for the progress line's epoch % and ETA.
ProgressFigures progress_plan(const graph::PipelineSpec& spec) {
  ProgressFigures plan;
  const graph::Args& train = spec.section("train");
  plan.epochs = static_cast<std::uint64_t>(std::max<std::int64_t>(0, train.get_int("epochs")));
  plan.max_seconds = train.get_float("max_seconds");
  for (const graph::NodeSpec& n : spec.nodes)  // the collect node's group size × steps
    if (n.schema != nullptr && !n.schema->group_size_arg.empty() && train.get_int("max_steps") > 0)
      plan.planned_images = static_cast<std::uint64_t>(train.get_int("max_steps") *
                                                       n.args.get_int(n.schema->group_size_arg));
  return plan;
}

// The progress figures of one tick: the plan, the engine's counts, the last reported loss.
ProgressFigures progress_now(const ProgressFigures& plan, const graph::RunProgress& p,
                             Reports& reports) {
  ProgressFigures figures = plan;
  figures.seconds = p.seconds;
  figures.images = p.images;
  figures.epoch = p.epoch;
  std::lock_guard<std::mutex> lock(reports.mutex);
  figures.have_loss = reports.have_loss;
  figures.loss = reports.loss_last;
  figures.step = reports.step;
  figures.epoch_images = reports.epoch_images;
  return figures;
}

nlohmann::json run_summary(const graph::RunStats& stats, const graph::PipelineSpec& spec,
                           const Reports& reports, const nlohmann::json& baseline,
                           const nlohmann::json& mfu, const std::string& run_dir) {
  nlohmann::json summary = graph::run_stats_json(stats);
  summary["mfu"] = mfu;
  summary["pipeline"] = spec.file;
  summary["run_dir"] = run_dir;
  summary["loss_first"] =
      reports.have_loss ? nlohmann::json(reports.loss_first) : nlohmann::json(nullptr);
  summary["loss_last"] =
      reports.have_loss ? nlohmann::json(reports.loss_last) : nlohmann::json(nullptr);
  summary["steps"] = reports.step;
  if (!reports.eval.empty()) summary["eval"] = reports.eval;
  if (stats.world_size > 1)
    summary["rank"] = {{"rank", stats.rank},
                       {"images", stats.images},
                       {"images_per_second", stats.images_per_second()}};
  if (stats.world_size > 1 && reports.images_all_ranks > 0) {
    // Ranks that averaged gradients: totals over the ranks, as DESIGN.md's summary promises
    // (this rank's own figures stay under "rank"). Ranks that ran independently keep their own.
    summary["scaling"] = scaling_json(stats, reports, baseline);
    summary["images_per_second"] = summary["scaling"]["images_per_second_total"];
    summary["images"] = static_cast<std::uint64_t>(reports.images_all_ranks + 0.5);
  }
  return summary;
}

// The lines a finished run prints: throughput, training, scaling, evaluation, FLOPs, nodes.
void print_run_end(const graph::RunStats& stats, const graph::PipelineSpec& spec,
                   const Reports& reports, const nlohmann::json& summary, const nlohmann::json& mfu,
                   const std::string& run_dir) {
  const std::string replicas =
      stats.replicas > 1 ? ", " + std::to_string(stats.replicas) + " replicas" : "";
  std::printf("%s: %llu images in %.2f s = %.1f images/s (%d threads%s, world size %d)%s\n",
              spec.file.c_str(), static_cast<unsigned long long>(stats.images), stats.seconds,
              stats.images_per_second(), stats.topology.threads, replicas.c_str(), stats.world_size,
              stats.stopped_early ? ", stopped early" : "");
  if (reports.have_loss)
    std::printf("training: %llu steps, loss %.4f -> %.4f\n",
                static_cast<unsigned long long>(reports.step), reports.loss_first,
                reports.loss_last);
  if (stats.world_size > 1 && summary.contains("scaling")) {
    const nlohmann::json& sc = summary["scaling"];
    std::printf(
        "scaling: %d ranks, %.1f images/s in all, %.1f%% of the time waiting for gradients, "
        "efficiency %.2f (%s)\n",
        stats.world_size, sc["images_per_second_total"].get<double>(),
        100 * sc["communication_fraction"].get<double>(), sc["efficiency"].get<double>(),
        sc["efficiency_source"].get<std::string>().c_str());
  }
  if (!reports.eval.empty()) {
    const std::string decoding = decoding_name(reports.eval);
    std::printf(
        "evaluation on %s (%g images, %s): Levenshtein %.2f, exact %.1f%%, valid InChI %.1f%%\n",
        spec.section("data").get_string("val_root").c_str(), reports.eval.value("images", 0.0),
        decoding.c_str(), reports.eval.value("levenshtein_mean", 0.0),
        100 * reports.eval.value("exact_match", 0.0),
        100 * reports.eval.value("valid_inchi_fraction", 0.0));
  }
  std::printf("%s", format_model_utilisation(mfu).c_str());
  std::printf("%s", graph::format_node_table(stats).c_str());
  std::printf("run folder: %s\n", run_dir.c_str());
}

// A resumed run reads its pipeline file again: where other `when:` conditions hold than where
// it started, the values they set change with the machine. Says so on stderr; the run goes on.
void warn_if_conditions_changed(const std::string& run_dir, const graph::PipelineSpec& spec) {
  std::ifstream in(fs::path(run_dir) / "config.yaml");
  if (!in) return;
  std::ostringstream text;
  text << in.rdbuf();
  const std::vector<std::string> before = graph::conditions_in_resolved(text.str());
  if (before == spec.conditions_applied) return;
  const auto listed = [](const std::vector<std::string>& v) {
    std::string out;
    for (const std::string& c : v) out += (out.empty() ? "" : "; ") + c;
    return out.empty() ? std::string("none") : out;
  };
  std::fprintf(stderr,
               "warning: resuming %s: it started where the pipeline's `when:` applied %s; here "
               "it applies %s. The values those set follow this machine now; pass the run's own "
               "with --set to keep them (docs/pipelines.md).\n",
               run_dir.c_str(), listed(before).c_str(), listed(spec.conditions_applied).c_str());
}

}  // namespace

nlohmann::json run_pipeline_request(const PipelineRunRequest& o) {
  StopSignals signals;  // first: Ctrl-C at any moment from here on stops cleanly
  graph::Registry registry;
  nodes::register_all(registry);
  std::vector<std::string> sets = o.sets;
  const ResumeStart resumed = resume_start(o.resume, sets);
  const graph::PipelineSpec spec =
      o.yaml_text.empty() ? graph::load_pipeline(o.pipeline, sets, registry)
                          : graph::parse_pipeline(o.yaml_text, o.pipeline, sets, registry);
  for (const std::string& applied : spec.conditions_applied)
    std::printf("%s: when %s (this machine)\n", o.pipeline.c_str(), applied.c_str());
  std::fflush(stdout);

  const reduce::RankEnv ranks = reduce::read_rank_env();
  const nlohmann::json baseline = read_baseline(spec);
  stop_if_interrupted();
  ensure_pipeline_datasets(spec, /*maker=*/ranks.rank == 0);
  stop_if_interrupted();
  std::string job_dir = !o.out.empty() ? o.out : resumed.run_dir;
  if (job_dir.empty())
    job_dir = default_run_dir(o.pipeline, ranks.world_size > 1 ? job_run_id() : "");
  // Rank 0 owns the run folder (config, metrics, summary, checkpoints); the others write
  // their own metrics and summary under it.
  const std::string run_dir =
      ranks.rank == 0 ? job_dir
                      : (fs::path(job_dir) / ("rank-" + std::to_string(ranks.rank))).string();
  if (!o.resume.empty() && ranks.rank == 0) warn_if_conditions_changed(run_dir, spec);
  RunFiles files(run_dir, /*append_metrics=*/!o.resume.empty());
  files.write_config(spec.resolved_yaml);

  graph::RunOptions options;
  options.rank = ranks.rank;
  options.world_size = ranks.world_size;
  options.local_rank = ranks.local_rank;
  options.run_dir = run_dir;
  options.resume = resumed.point;
  options.trace_path = o.trace;
  options.dot_path = o.dot;
  options.on_threads = [](int threads) { model::set_torch_threads(threads); };

  Reports reports;
  const auto started = std::chrono::steady_clock::now();
  options.on_report = [&](const std::string& node, const std::string& name, double value,
                          std::uint64_t step) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    files.append_metrics({{"step", step}, {"node", node}, {name, value}, {"seconds", seconds}});
    keep_report(reports, name, value, step);
  };

  const bool live = !o.quiet && isatty(STDERR_FILENO);
  const ProgressFigures plan = progress_plan(spec);
  int ticks = 0;
  options.progress_interval = 1.0;
  options.on_progress = [&](const graph::RunProgress& p) {
    const double rate = p.seconds > 0 ? static_cast<double>(p.images) / p.seconds : 0.0;
    files.append_metrics({{"seconds", p.seconds},
                          {"images", p.images},
                          {"images_per_second", rate},
                          {"epoch", p.epoch}});
    const ProgressFigures figures = progress_now(plan, p, reports);
    ++ticks;
    if (live)
      std::fprintf(stderr, "\rrun: %s   ", format_progress(figures).c_str());
    else if (!o.quiet && ticks % 10 == 0)
      std::fprintf(stderr, "run: %s\n", format_progress(figures).c_str());
  };

  options.stop_requests = &StopSignals::requests();
  graph::RunStats stats;
  {
    Deadline deadline(spec.section("train").get_float("max_seconds"));
    stats = graph::run_pipeline(spec, registry, options);
  }
  if (live) std::fprintf(stderr, "\n");

  const nlohmann::json mfu = apply_model_utilisation(stats, spec);  // sets the nodes' peaks
  const nlohmann::json summary = run_summary(stats, spec, reports, baseline, mfu, run_dir);
  files.write_summary(summary);
  print_run_end(stats, spec, reports, summary, mfu, run_dir);
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
  run->add_option("--trace", o->trace,
                  "Write a Chrome trace of every node call (open in Perfetto)");
  run->add_option("--dot", o->dot, "Write the built flow graph as DOT");
  run->add_option("--resume", o->resume,
                  "Continue from a checkpoint (file, checkpoints folder or run folder); the run "
                  "folder defaults to the checkpoint's");
  run->add_flag("--quiet", o->quiet, "No progress lines");
  run->callback([o] { run_pipeline_request(*o); });
}

}  // namespace capflow::cli
