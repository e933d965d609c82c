// `capflow data make`: a BMS-style dataset (train_labels.csv and train/a/b/c/<id>.<ext>) from
// real molecules and molecules recombined from their fragments. A oneTBB pipeline over all
// cores: candidates in order -> parse/generate, 2D layout, InChI, drawing, encoding (in
// parallel) -> de-duplication by InChI (in order) -> file writes (in parallel) -> label rows
// (in order). Every random draw depends on (seed, candidate), so the bytes written are the
// same for any thread count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace capflow::data {

enum class MoleculeSource { kBoth, kReal, kGenerated };

struct DatasetOptions {
  std::string out_dir;
  std::uint64_t count = 0;
  std::uint64_t seed = 42;
  std::string format = "png";               // png | jpg
  std::vector<std::string> molecule_files;  // empty: the rdkit-data lists
  std::vector<std::string> exclude_files;   // labels CSVs whose InChIs are skipped
  MoleculeSource source = MoleculeSource::kBoth;
  int threads = 0;                  // 0: all cores
  bool progress = true;             // a progress line when stderr is a terminal
  double stereo_probability = 0.5;  // unspecified stereocentres/bonds given a random configuration
  // Pictures of each molecule: the real molecules are gone through this many times (each
  // time a picture of its own: depiction and stereo drawn anew), then each generated molecule
  // is drawn this many times; an InChI is kept at most this many times.
  int drawings = 1;
  int png_compression = 6;
  int jpeg_quality = 90;
};

struct DatasetReport {
  std::uint64_t written = 0, from_real = 0, from_generated = 0;
  std::uint64_t candidates = 0;
  std::uint64_t unparsable = 0, out_of_range = 0, generation_failed = 0, no_inchi = 0,
                draw_failed = 0, duplicates = 0, excluded = 0;
  std::uint64_t real_molecules = 0;  // records read from the molecule files
  std::uint64_t fragments = 0;       // fragment library size (0 when not needed)
  double fragment_seconds = 0;       // time to build it (part of `seconds`)
  double seconds = 0;
  int threads = 0;
  bool interrupted = false;  // Ctrl-C (SIGINT) or SIGTERM: stopped early, rows made kept
  std::vector<std::string> skip_examples;  // the first few skipped records, with file:line

  std::uint64_t skipped() const {
    return unparsable + out_of_range + generation_failed + no_inchi + draw_failed;
  }
};

// Throws ConfigError for bad options or a missing input file (exit 2). When fewer than
// `count` images could be made, report.written says how many (all listed in the labels).
// SIGINT and SIGTERM stop it cleanly: images in flight are finished, the labels file lists
// exactly the images written, and report.interrupted is set.
DatasetReport make_dataset(const DatasetOptions& options);

}  // namespace capflow::data
