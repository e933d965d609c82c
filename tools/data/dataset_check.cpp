#include "tools/data/dataset_check.h"

#include <tbb/parallel_for.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>

#include "graph/errors.h"
#include "nodes/chem/inchi_openbabel.h"
#include "nodes/io/image_codec.h"
#include "nodes/io/labels_csv.h"
#include "nodes/text/inchi_tokenizer.h"
#include "nodes/text/vocabulary.h"
#include "tools/data/image_id.h"

namespace fs = std::filesystem;

namespace capflow::data {

CheckReport check_dataset(const std::string& dir, std::uint64_t limit) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string labels_path = (fs::path(dir) / "train_labels.csv").string();
  auto rows = io::read_labels_csv(labels_path);
  if (limit > 0 && rows.size() > limit) rows.resize(limit);

  CheckReport r;
  r.rows = rows.size();
  std::vector<std::string> inchis;
  for (const auto& row : rows) inchis.push_back(row.inchi);
  text::Vocabulary vocab;
  try {
    vocab = text::Vocabulary::from_inchis(inchis);
  } catch (const std::invalid_argument&) {
    // reported per row below
  }
  r.vocabulary_size = vocab.size();

  std::atomic<std::uint64_t> decoded{0}, missing{0}, corrupt{0}, valid{0}, canonical{0},
      round_trip{0};
  std::mutex problems_mutex;
  auto problem = [&](std::string msg) {
    std::lock_guard<std::mutex> lock(problems_mutex);
    if (r.problems.size() < 10) r.problems.push_back(std::move(msg));
  };
  tbb::parallel_for(std::size_t{0}, rows.size(), [&](std::size_t i) {
    const auto& row = rows[i];
    const std::string where =
        labels_path + ":" + std::to_string(row.line) + " (" + row.image_id + ")";
    std::string path;
    for (const char* ext : {"png", "jpg"}) {
      const auto p = fs::path(dir) / bms_relative_path(row.image_id, ext);
      if (fs::exists(p)) path = p.string();
    }
    if (path.empty()) {
      ++missing;
      problem(where + ": no image file");
    } else {
      try {
        io::decode_image_file(path);
        ++decoded;
      } catch (const std::exception& e) {
        ++corrupt;
        problem(e.what());
      }
    }
    const auto check = chem::check_inchi(row.inchi);
    if (check.valid) {
      ++valid;
    } else {
      problem(where + ": not a valid InChI: " + row.inchi);
    }
    if (check.canonical) ++canonical;
    try {
      if (vocab.decode(vocab.encode(row.inchi)) == row.inchi &&
          text::detokenize_inchi(text::tokenize_inchi(row.inchi)) == row.inchi) {
        ++round_trip;
      } else {
        problem(where + ": tokenizer round trip differs");
      }
    } catch (const std::exception& e) {
      problem(where + ": " + e.what());
    }
  });
  r.decoded = decoded;
  r.missing = missing;
  r.corrupt = corrupt;
  r.valid_inchi = valid;
  r.canonical_inchi = canonical;
  r.round_trip = round_trip;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace capflow::data
