// Plain kernels on grayscale images, shared by the dataset maker and the augment node.
// Random ones take the generator explicitly, so their output depends only on its seed.
#pragma once

#include <cstdint>

#include "graph/seeded_random.h"
#include "nodes/io/gray_image.h"

namespace capflow::image {

using io::GrayImage;

// Smallest rectangle holding every pixel darker than `threshold`; the whole image when it is
// blank. Returns a copy of that rectangle.
GrayImage crop_white_margins(const GrayImage& img, std::uint8_t threshold = 250);

// Adds `left, top, right, bottom` pixels of `value` around the image.
GrayImage add_border(const GrayImage& img, int left, int top, int right, int bottom,
                     std::uint8_t value = 255);

// Nearest-neighbour resize to width x height (both >= 1).
GrayImage resize_nearest(const GrayImage& img, int width, int height);

// Pixels below `threshold` become 0, the rest 255.
void binarize(GrayImage& img, std::uint8_t threshold = 128);

// Sets about `density * pixels` random pixels: to black (pepper) with probability
// `pepper_share`, else to white (salt).
void salt_and_pepper(GrayImage& img, double density, double pepper_share, SeededRng& rng);

}  // namespace capflow::image
