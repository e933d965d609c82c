// BMS-like pictures of molecules: RDKit draws the prepared molecule in black and white on a
// Cairo surface at a random size, rotation, bond width, font size and label padding; then the
// white margins are cropped, a border added, the picture sometimes downscaled (nearest
// neighbour) and binarised, and salt-and-pepper noise sprinkled on.
#pragma once

#include <string>
#include <vector>

#include "graph/seeded_random.h"
#include "nodes/io/atom_positions.h"
#include "nodes/io/gray_image.h"
#include "nodes/io/pixel_map.h"

namespace RDKit {
class ROMol;
}

namespace capflow::data {

struct DepictionStyle {
  int width = 400, height = 400;  // canvas, pixels
  double rotate_degrees = 0;
  double bond_width = 2;      // pixels
  double font_scale = 0.6;    // RDKit baseFontSize
  double label_padding = 0;   // RDKit additionalAtomLabelPadding
  double bond_offset = 0.15;  // RDKit multipleBondOffset
};

struct PostprocessStyle {
  int border_left = 10, border_top = 10, border_right = 10, border_bottom = 10;
  bool downscale = false;
  double downscale_factor = 1;
  bool binarize = true;
  int binarize_threshold = 160;
  double noise_density = 0;    // share of pixels
  double pepper_share = 0.85;  // share of noise pixels that are black
};

DepictionStyle random_depiction_style(SeededRng& rng);
PostprocessStyle random_postprocess_style(SeededRng& rng);

// Draws a molecule already prepared for drawing (2D coordinates, kekulised, wedged); the
// drawer does not prepare it again, so the picture shows exactly this structure. `atoms`, when
// given, receives each atom's element and centre in the picture's pixels, in atom order.
io::GrayImage draw_molecule(const RDKit::ROMol& prepared, const DepictionStyle& style,
                            std::vector<io::AtomPoint>* atoms = nullptr);

// Crop, border, optional downscale and binarisation, then noise drawn from `rng`. `map`, when
// given, receives where a point of the drawing lands in the result.
io::GrayImage postprocess(const io::GrayImage& drawn, const PostprocessStyle& style, SeededRng& rng,
                          io::PixelMap* map = nullptr);

}  // namespace capflow::data
