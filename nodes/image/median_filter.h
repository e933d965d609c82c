// The median filter: each pixel becomes the median of its (2r+1) x (2r+1) neighbourhood.
// Removes isolated specks (salt-and-pepper noise, as in the BMS test images) and keeps lines
// of at least r+1 pixels.
#pragma once

#include "nodes/io/gray_image.h"

namespace capflow::image {

// The median of each pixel's (2·radius+1)² neighbourhood, the image's edge pixels repeated
// outside it. Huang's sliding histogram: O(radius) work per pixel. radius >= 1 (else
// std::invalid_argument); an empty image gives an empty image.
io::GrayImage median_filter(const io::GrayImage& img, int radius = 1);

}  // namespace capflow::image
