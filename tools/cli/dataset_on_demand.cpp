// Datasets on demand: reuse what is there (dataset.json), make what is missing.
#include "tools/cli/dataset_on_demand.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include "graph/errors.h"
#include "graph/stop_signals.h"
#include "tools/cli/data_report.h"
#include "tools/cli/run_files.h"

namespace capflow::cli {

namespace fs = std::filesystem;

namespace {
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

// A held-out set made by a build whose --exclude compared whole InChIs can hold stereo
// variants of training molecules (a quarter of a 500-molecule set against 20,000 training
// images): said once, the set is kept (it is the user's to delete).
void warn_if_stereo_variants_possible(const std::string& dir) {
  try {
    const YAML::Node n = YAML::LoadFile((fs::path(dir) / "dataset.json").string());
    if (!n["exclude"] || n["exclude"].size() == 0 || n["exclude_match"]) return;
  } catch (const std::exception&) {
    return;  // not made by capflow: nothing known about it
  }
  std::cout << "note: the held-out set " << dir
            << " was made by an older capflow whose exclusion compared whole InChIs, so "
               "stereo variants of training molecules may be in it; delete it to make it "
               "again\n";
}
}  // namespace

void make_or_reuse(const data::DatasetOptions& o, const std::string& what) {
  if (already_made(o)) {
    std::cout << what << " " << o.out_dir << " already made (" << o.count << " images, seed "
              << o.seed << "); delete it to make it again\n";
    return;
  }
  std::cout << "making the " << what << " " << o.out_dir << " (" << o.count << " images, seed "
            << o.seed << ")\n";
  const auto report = data::make_dataset(o);
  print_make_report(std::cout, o, report);
  if (report.interrupted && StopSignals::last_signal() != 0) {
    const std::string made = std::to_string(report.written) + " of " + std::to_string(o.count);
    throw Interrupted(StopSignals::last_signal(),
                      "the " + what + " " + o.out_dir + " is incomplete (" + made + " images)");
  }
  if (report.written < o.count)
    throw Error("only " + std::to_string(report.written) + " of " + std::to_string(o.count) +
                " images made in " + o.out_dir);
}

namespace {
// Another rank makes it: wait until it is complete.
void wait_for(const data::DatasetOptions& o, const std::string& what) {
  std::cout << "waiting for rank 0 to make the " << what << " " << o.out_dir << "\n" << std::flush;
  for (int seconds = 0; !already_made(o); ++seconds) {
    if (seconds > 3600)
      throw ConfigError("the " + what + " " + o.out_dir +
                        " did not appear within an hour (rank 0 makes it; "
                        "is data.root on a file system every rank sees?)");
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}
}  // namespace

void ensure_pipeline_datasets(const graph::PipelineSpec& spec, bool maker) {
  const graph::Args& data = spec.section("data");
  const auto count = static_cast<std::uint64_t>(data.get_int("make_count"));
  if (count == 0 || data.get_string("layout") != "bms") return;
  data::DatasetOptions train;
  train.out_dir = data.get_string("root");
  train.count = count;
  train.seed = spec.seed;
  train.format = data.get_string("extension") == "jpg" ? "jpg" : "png";
  if (!fs::exists(fs::path(train.out_dir) / data.get_string("labels")))
    maker ? make_or_reuse(train, "training set") : wait_for(train, "training set");
  if (data.is_null("val_root")) return;
  data::DatasetOptions held_out = train;
  held_out.out_dir = data.get_string("val_root");
  held_out.count = std::max<std::uint64_t>(50, count / 10);
  held_out.seed = spec.seed + 1;
  held_out.exclude_files = {(fs::path(train.out_dir) / data.get_string("labels")).string()};
  if (!fs::exists(fs::path(held_out.out_dir) / data.get_string("labels")))
    maker ? make_or_reuse(held_out, "held-out set (molecules not in the training set)")
          : wait_for(held_out, "held-out set");
  else if (maker)
    warn_if_stereo_variants_possible(held_out.out_dir);
}

}  // namespace capflow::cli
