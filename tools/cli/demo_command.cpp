// capflow demo: the main job of the README's first command, on the embedded defaults.
// Until the training pipeline exists it makes the default dataset and says so.
#include <CLI/CLI.hpp>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "graph/errors.h"
#include "tools/cli/commands.h"
#include "tools/cli/data_report.h"
#include "tools/data/dataset_maker.h"

namespace fs = std::filesystem;

namespace capflow::cli {
namespace {

struct DemoOptions {
  std::string data_dir = "data";
  std::uint64_t count = 2000;
  std::uint64_t holdout = 200;
  std::uint64_t seed = 42;
  int threads = 0;
};

// True when DIR already holds a dataset made with this seed and count (dataset.json).
bool already_made(const data::DatasetOptions& o) {
  const fs::path meta = fs::path(o.out_dir) / "dataset.json";
  if (!fs::exists(meta) || !fs::exists(fs::path(o.out_dir) / "train_labels.csv")) return false;
  try {
    const YAML::Node n = YAML::LoadFile(meta.string());
    return n["seed"].as<std::uint64_t>() == o.seed && n["written"].as<std::uint64_t>() == o.count &&
           n["format"].as<std::string>() == o.format;
  } catch (const std::exception&) {
    return false;
  }
}

void make_or_reuse(const data::DatasetOptions& o, const char* what) {
  if (already_made(o)) {
    std::cout << "demo: " << what << " " << o.out_dir << " already made (" << o.count << " images, seed " << o.seed
              << "); delete it to make it again\n";
    return;
  }
  std::cout << "demo: making the " << what << " " << o.out_dir << " (" << o.count << " images, seed " << o.seed
            << ")\n";
  const auto report = data::make_dataset(o);
  print_make_report(std::cout, o, report);
  if (report.written < o.count) throw capflow::Error("demo: only " + std::to_string(report.written) + " images made");
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto opt = std::make_shared<DemoOptions>();
  auto* demo = app.add_subcommand(
      "demo", "The main job on the embedded default. Today: make the default dataset (DATA/demo) and a "
              "held-out set of molecules it does not contain (DATA/demo-holdout)");
  demo->add_option("--data", opt->data_dir, "Folder for the datasets")->capture_default_str();
  demo->add_option("--count", opt->count, "Training images")->capture_default_str();
  demo->add_option("--holdout", opt->holdout, "Held-out images (molecules unseen in training)")
      ->capture_default_str();
  demo->add_option("--seed", opt->seed, "Seed")->capture_default_str();
  demo->add_option("--threads", opt->threads, "Worker threads (0: all cores)")->capture_default_str();
  demo->callback([opt] {
    std::cout << "demo: capflow cannot train yet: the flow-graph engine and the model are still to come.\n"
                 "demo: until they land, the main job makes the default dataset that training will read.\n";
    data::DatasetOptions train;
    train.out_dir = (fs::path(opt->data_dir) / "demo").string();
    train.count = opt->count;
    train.seed = opt->seed;
    train.threads = opt->threads;
    make_or_reuse(train, "training set");

    data::DatasetOptions holdout = train;
    holdout.out_dir = (fs::path(opt->data_dir) / "demo-holdout").string();
    holdout.count = opt->holdout;
    holdout.seed = opt->seed + 1;
    holdout.exclude_files = {(fs::path(train.out_dir) / "train_labels.csv").string()};
    make_or_reuse(holdout, "held-out set");
    std::cout << "demo: done. Check them with: capflow data check " << train.out_dir << "\n";
  });
}

}  // namespace capflow::cli
