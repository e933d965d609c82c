// capflow data make | check | vocab
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <memory>

#include "graph/errors.h"
#include "nodes/text/vocabulary.h"
#include "tools/cli/commands.h"
#include "tools/cli/data_report.h"
#include "tools/data/dataset_check.h"
#include "tools/data/dataset_maker.h"

namespace capflow::cli {

void add_data_commands(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Make, check and describe BMS-style datasets");
  data->require_subcommand(1);

  // data make
  auto opt = std::make_shared<data::DatasetOptions>();
  auto source = std::make_shared<std::string>("both");
  auto* make = data->add_subcommand(
      "make",
      "Draw molecules as BMS-style pictures with standard InChI labels: DIR/train_labels.csv and "
      "DIR/train/a/b/c/<image_id>.<ext>");
  make->add_option("--out", opt->out_dir, "Output directory")->required();
  make->add_option("--count", opt->count,
                   "Number of images (distinct molecules by InChI; see --drawings)")
      ->required();
  make->add_option("--seed", opt->seed, "Seed: the same seed gives the same bytes")
      ->capture_default_str();
  make->add_option("--format", opt->format,
                   "Image format: png (8-bit gray, libspng) or jpg (TurboJPEG)")
      ->capture_default_str();
  make->add_option(
      "--molecules", opt->molecule_files,
      "Molecule files (.smi/.smiles/.txt, .csv/.tsv with a SMILES column, .sdf); repeatable. "
      "Default: RDKit's NCI first_5K.smi and PAINS wehi_mols.csv");
  make->add_option(
      "--exclude", opt->exclude_files,
      "Labels CSV of another dataset: molecules in it are skipped, stereo variants included "
      "(InChIs compared without their stereo layers); repeatable");
  make->add_option("--source", *source,
                   "Molecules to draw: both (real ones first, then generated), real, generated")
      ->capture_default_str();
  make->add_option(
          "--stereo", opt->stereo_probability,
          "Probability that each unspecified stereocentre or stereo double bond gets a random "
          "configuration (0: keep molecules as they are)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  make->add_option("--drawings", opt->drawings,
                   "Pictures of each molecule, each with its own random depiction and stereo: "
                   "the real molecules are gone through N times before any generated one, "
                   "every generated one is drawn N times; an InChI is kept at most N times")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  make->add_option("--threads", opt->threads, "Worker threads (0: all cores)")
      ->capture_default_str();
  make->add_flag("--no-progress{false}", opt->progress, "No progress line on the terminal");
  make->callback([opt, source] {
    if (*source == "both") {
      opt->source = data::MoleculeSource::kBoth;
    } else if (*source == "real") {
      opt->source = data::MoleculeSource::kReal;
    } else if (*source == "generated") {
      opt->source = data::MoleculeSource::kGenerated;
    } else {
      throw ConfigError("--source must be both, real or generated, not '" + *source + "'");
    }
    const auto report = data::make_dataset(*opt);
    print_make_report(std::cout, *opt, report);
    if (report.interrupted) {
      throw Error("interrupted after " + std::to_string(report.written) + " images; " +
                  opt->out_dir + "/train_labels.csv lists exactly those");
    }
    if (report.written < opt->count) {
      throw Error("only " + std::to_string(report.written) + " of " + std::to_string(opt->count) +
                  " images could be made from these molecules (the rows made are in " +
                  opt->out_dir + "/train_labels.csv)");
    }
  });

  // data check
  auto dir = std::make_shared<std::string>();
  auto limit = std::make_shared<std::uint64_t>(0);
  auto* check = data->add_subcommand(
      "check",
      "Verify a dataset: every image decodes, every label is a valid standard InChI and "
      "round-trips through the tokenizer; prints JSON; exit 1 on any problem");
  check->add_option("dir", *dir, "Dataset directory (holding train_labels.csv)")->required();
  check->add_option("--limit", *limit, "Check only the first N rows (0: all)");
  check->callback([dir, limit] {
    const auto r = data::check_dataset(*dir, *limit);
    print_check_report(std::cout, r);
    if (!r.ok()) throw DataError("dataset check failed for " + *dir);
  });

  // data vocab
  auto labels = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto* vocab = data->add_subcommand("vocab", "Build the InChI token vocabulary of a labels file");
  vocab->add_option("--labels", *labels, "Labels CSV (image_id,InChI)")->required();
  vocab->add_option("--out", *out, "Vocabulary file to write (one token per line)")->required();
  vocab->callback([labels, out] {
    const auto v = text::Vocabulary::from_labels_csv(*labels);
    v.save(*out);
    std::cout << "data vocab: " << v.size() << " tokens (4 special) written to " << *out << "\n";
  });
}

}  // namespace capflow::cli
