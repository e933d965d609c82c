// Listing of the samples of a dataset (the BMS layout or a plain folder of images) and the
// per-epoch, per-rank order in which they are read. Plain kernels: no TBB, no YAML.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace capflow::io {

// One sample: its id, the image file, its label (InChI; empty when unlabelled) and the 1-based
// line of the labels file it came from (0 for samples listed from a folder).
struct SampleRef {
  std::string id;
  std::string path;
  std::string label;
  std::size_t line = 0;
};

// The samples of a dataset, stored compactly: every id, label and (for folders) path in one
// byte arena, and 16 bytes of offsets per row. A BMS image path is not stored: it is built on
// demand from the images folder, the id and the extension. A 2.42 M-row Kaggle labels file
// takes about its own size plus 16 bytes a row (SampleRef strings took about 400 bytes a row).
class Listing {
 public:
  std::size_t size() const { return rows_.size(); }
  bool empty() const { return rows_.empty(); }
  std::string_view id(std::size_t i) const;
  std::string_view label(std::size_t i) const;
  std::size_t line(std::size_t i) const { return rows_[i].line; }
  std::string path(std::size_t i) const;
  // Row i as a self-contained sample (strings copied).
  SampleRef sample(std::size_t i) const;
  // The first `limit` rows (all when 0) as samples, for the small sets of eval and predict.
  std::vector<SampleRef> samples(std::size_t limit = 0) const;
  // Keeps only the first n rows and releases the memory of the others.
  void truncate(std::size_t n);
  // Heap bytes this listing holds (arena and row capacities).
  std::size_t heap_bytes() const;

  // Building. BMS rows: paths are images_prefix + a/b/c/<id>.<extension>.
  void set_bms_paths(std::string images_prefix, std::string extension);
  const std::string& extension() const { return extension_; }
  void reserve(std::size_t rows, std::size_t bytes);
  // Adds a row; `path` empty for BMS rows. Throws DataError when the id is longer than
  // kMaxIdBytes or the path longer than 65,535 bytes or the line above 2^32 - 1.
  void add(std::string_view id, std::string_view label, std::size_t line,
           std::string_view path = {});

  std::size_t rejected = 0;                    // rows skipped as unsafe or malformed
  std::vector<std::string> rejected_examples;  // the first few, "file:line: reason"

 private:
  struct Row {
    std::uint64_t offset;  // of the id in the arena; the path, then the label follow it
    std::uint32_t line;    // 1-based line in the labels file (0: from a folder)
    std::uint16_t id_size;
    std::uint16_t path_size;  // 0 for BMS rows (built from the id)
  };
  std::size_t end_of(std::size_t i) const;
  std::string arena_;
  std::vector<Row> rows_;
  std::string images_prefix_;
  std::string extension_;
};

// Longest image id a labels file may hold (a file name is at most 255 bytes).
inline constexpr std::size_t kMaxIdBytes = 240;

// Rows whose image files `auto` probes before giving up.
inline constexpr std::size_t kMaxExtensionProbes = 1000;

// How many rejected rows a Listing keeps as examples.
inline constexpr std::size_t kMaxRejectedExamples = 10;

// True when `id` is a safe BMS image id: 3 to kMaxIdBytes characters, all in [0-9A-Za-z_-].
bool is_valid_image_id(std::string_view id);

// Lists a dataset in the BMS layout: the rows of root/labels_file (taken as is when absolute)
// with images at root/images_dir/a/b/c/<id>.<ext>, where a, b, c are the id's first three
// characters. Rows whose id is malformed or could escape the root are counted as rejected
// (never thrown). `extension` is "png", "jpg", "jpeg" or "auto": auto probes the files of the
// valid rows in order (at most kMaxExtensionProbes of them, so that a labels file whose first
// images are missing still works) with .png, .jpg, then .jpeg, and throws ConfigError naming
// the first row's paths when none exists. Image files are not checked otherwise (the decoder
// reports missing ones). Throws ConfigError for a missing labels file or a bad extension, DataError
// (file:line) for a malformed CSV row.
Listing list_bms(const std::string& root, const std::string& labels_file,
                 const std::string& images_dir, const std::string& extension);

// Lists every *.png, *.jpg and *.jpeg file (any letter case) under `dir`, recursively, sorted
// by path; id = the file's stem, label empty. Throws ConfigError when `dir` is not a folder.
Listing list_image_folder(const std::string& dir);

// The indices this rank reads in one epoch: a permutation of [0, n) drawn from the keys
// (seed, epoch) (the identity when !shuffle), cut into blocks of `block` consecutive
// positions, block g going to rank g % world_size. With block = the batch size, rank r's
// k-th batch is batch k × world_size + r of the one-rank order, so N ranks see what one rank
// accumulating N batches sees. Over all ranks every index appears exactly once. With `even`
// (and world_size > 1) only the first floor(n / (block × world_size)) whole rounds are dealt,
// so every rank gets the same number of whole blocks (ranks that average gradients must take
// the same number of steps); the rest, fewer than block × world_size, sits this epoch out.
// Depends only on its arguments. Throws ConfigError unless 0 <= rank < world_size, block > 0.
std::vector<std::size_t> epoch_order(std::size_t n, std::uint64_t seed, std::uint64_t epoch,
                                     bool shuffle, int rank, int world_size, std::size_t block = 1,
                                     bool even = false);

}  // namespace capflow::io
