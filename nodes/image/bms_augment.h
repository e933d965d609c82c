// The BMS image augment: crop white margins, turn tall pictures upright, optional random
// 90-degree turns, jitter and salt-and-pepper noise, then an aspect-preserving area resize
// centred on a white canvas of the model's input size. A plain kernel: no TBB, no YAML.
#pragma once

#include "graph/seeded_random.h"
#include "nodes/io/gray_image.h"
#include "nodes/io/pixel_map.h"

namespace capflow::image {

struct AugmentOptions {
  int width = 224, height = 224;  // output size
  bool crop_margins = true;       // crop white margins first
  bool upright = true;            // turn tall pictures (h > w) 90 degrees so they lie wide
  double rotate = 0.0;            // probability of one extra random 90-degree turn, either way
  double noise = 0.0;             // salt-and-pepper density (fraction of pixels)
  int jitter = 0;                 // random crop/pad of 0..jitter px per side before resizing
};

// Throws ConfigError listing every bad value: sizes outside 8..16384, probabilities outside
// 0..1, jitter outside 0..4096.
void validate(const AugmentOptions& options);

// Output is exactly width x height, 8-bit gray: the picture resized keeping its aspect ratio
// (resize_area) and centred on white padding. Steps, in order: crop the white margins (pixels
// >= 250), jitter each side of that window by a random -jitter..+jitter px (negative crops,
// positive pads white), turn a tall window counter-clockwise when `upright`, turn once more
// with probability `rotate` (direction random), resize and centre, then set about
// noise * width * height random pixels to black or white. All random draws come from `rng`,
// in that order, so the output depends only on the input, the options and the rng's keys.
// Throws ConfigError for bad options, DataError for an empty input. When `map` is given it
// receives where each point of the input lands in the output (atom positions follow it).
io::GrayImage bms_augment(const io::GrayImage& in, const AugmentOptions& options, SeededRng& rng,
                          io::PixelMap* map = nullptr);

}  // namespace capflow::image
