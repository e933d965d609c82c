// Does the model read the image? The same captions scored with their own images and with the
// images permuted across the batch (every caption paired with another image): a model that
// only learnt the grammar of InChI strings loses nothing when the images are swapped. Used by
// `capflow eval --reliance`. No LibTorch in this header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "nodes/batch/caption_targets.h"
#include "nodes/io/sample_listing.h"

namespace capflow::model {

struct CaptionModel;

struct RelianceResult {
  // Mean teacher-forced cross-entropy per label token (eval mode), with each caption's own
  // image and with the image it is paired with by the derangement.
  double loss_real = 0, loss_shuffled = 0;
  // Mean Levenshtein distance of the greedy predictions of the real images to their own labels,
  // and to the labels of the captions their image was paired with.
  double levenshtein_real = 0, levenshtein_shuffled = 0;
  // levenshtein_shuffled / levenshtein_real: about 1 when the prediction does not depend on
  // the picture; 1 when both are 0, infinite when only levenshtein_real is.
  double ratio = 0;
  std::size_t images = 0;   // images measured
  std::size_t skipped = 0;  // unreadable images, and a batch's only readable one
};

// A fixed permutation of 0..n-1 without a fixed point (Sattolo's algorithm on a seeded
// generator: one cycle through all n). The identity for n < 2, which has no derangement.
std::vector<std::size_t> derangement(std::size_t n, std::uint64_t seed = 0x5eed);

// The batch sizes `count` samples are measured in: `batch` each (at least 2), the rest in the
// last one, which takes the previous batch's last sample when it would hold a single one.
std::vector<std::size_t> reliance_batches(std::size_t count, std::size_t batch);

// Measures `samples` (labelled) in batches: one encoder pass per batch, greedy decoding of the
// real images, and teacher forcing with the real and the deranged features. Labels are
// tokenized as the batch node does, in the model's notation by `targets` (unknown tokens become
// <unk>); predictions are scored as InChI (as_inchis). Throws ConfigError when fewer than 2
// images can be measured, DataError naming the image for a label that is not a standard InChI.
RelianceResult measure_image_reliance(CaptionModel& model, const batch::CaptionTargets& targets,
                                      const std::vector<io::SampleRef>& samples, int batch,
                                      int max_length);

}  // namespace capflow::model
