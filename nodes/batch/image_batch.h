// Collation of decoded, augmented samples into one training batch: the samples' pictures (shared,
// not copied), token rows padded to one length, real lengths, ids and labels. A plain kernel: no
// TBB, no YAML, no torch.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nodes/io/atom_positions.h"
#include "nodes/io/gray_image.h"

namespace capflow::batch {

using ImageRef = std::shared_ptr<const io::GrayImage>;

struct ImageBatch {
  int size = 0, height = 0, width = 0;
  // Row r's picture, height x width 8-bit gray, shared with the sample it came from: collation
  // copies no pixels (the model input's conversion reads each picture once, where it lies).
  std::vector<ImageRef> images;
  int max_length = 0;                 // token columns
  std::vector<std::int64_t> tokens;   // size*max_length, row-major, padded with pad_id
  std::vector<std::int32_t> lengths;  // real token count per row (incl. <sos>/<eos>)
  std::vector<std::string> ids;
  std::vector<std::string> labels;
  // Atom positions in the batch's pixel coordinates (io/atom_positions.h): those of row r are
  // atoms[atom_offsets[r] .. atom_offsets[r+1]). Both empty when no sample carried any.
  std::vector<io::AtomPoint> atoms;
  std::vector<std::int32_t> atom_offsets;

  const std::uint8_t* pixels_of(int row) const {
    return images[static_cast<std::size_t>(row)]->pixels.data();
  }
  // The pictures in row order, contiguous (NHWC with C = 1): size x height x width bytes,
  // written at `dst`, or returned.
  void copy_pixels_to(std::uint8_t* dst) const;
  std::vector<std::uint8_t> contiguous_pixels() const;
};

// One sample: `image` (shared with the batch) is required; `tokens`, `id`, `label` and `atoms`,
// borrowed, may be null (no caption: a row of padding with length 0; empty id or label; no atoms).
struct BatchSample {
  ImageRef image;
  const std::vector<int>* tokens;
  const std::string* id;
  const std::string* label;
  const std::vector<io::AtomPoint>* atoms = nullptr;
};

// The samples as one batch: their pictures shared, the rest copied. All images must share one
// size (else DataError naming the id). fixed_length > 0 pads or crops every token row to that
// length (a longer row keeps its first fixed_length - 1 tokens and its last one, the <eos>); 0 pads
// to the longest row. Throws ConfigError for a negative fixed_length, DataError for a null image.
ImageBatch collate(const std::vector<BatchSample>& samples, int fixed_length, std::int64_t pad_id);

// The batch cut into `parts` batches of consecutive rows, as even as can be (the first ones
// one row longer), for model replicas that each train on a share of a step's batch. Fewer
// parts when the batch has fewer rows (none for an empty batch). Each part keeps its rows'
// pictures, ids, labels and atoms; its token rows are cut to its own longest row (padding only
// costs decoder steps). Throws ConfigError for parts < 1.
std::vector<ImageBatch> split_rows(const ImageBatch& batch, int parts);

// A stable 64-bit hash of the dims, pixels (as if contiguous), tokens, lengths and ids (not the
// labels): equal batches give equal values on every platform and run, and changing any one
// pixel, token, length or id changes it.
std::uint64_t fingerprint(const ImageBatch& batch);

}  // namespace capflow::batch
