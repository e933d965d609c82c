// Listing of the samples of a dataset (the BMS layout or a plain folder of images) and the
// per-epoch, per-rank order in which they are read. Plain kernels: no TBB, no YAML.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
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

struct Listing {
  std::vector<SampleRef> samples;
  std::size_t rejected = 0;                     // rows skipped as unsafe or malformed
  std::vector<std::string> rejected_examples;   // the first few, "file:line: reason"
};

// How many rejected rows a Listing keeps as examples.
inline constexpr std::size_t kMaxRejectedExamples = 10;

// True when `id` is a safe BMS image id: at least 3 characters, all in [0-9A-Za-z_-].
bool is_valid_image_id(const std::string& id);

// Lists a dataset in the BMS layout: the rows of root/labels_file (taken as is when absolute)
// with images at root/images_dir/a/b/c/<id>.<ext>, where a, b, c are the id's first three
// characters. Rows whose id is malformed or could escape the root are counted as rejected
// (never thrown). `extension` is "png", "jpg", "jpeg" or "auto": auto probes the first valid
// row's file with .png, .jpg, then .jpeg and throws ConfigError naming the paths tried when
// none exists. Image files are not checked otherwise (the decoder reports missing ones).
// Throws ConfigError for a missing labels file or a bad extension, DataError (file:line) for
// a malformed CSV row.
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
