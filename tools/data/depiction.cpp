#include "tools/data/depiction.h"

#include <GraphMol/MolDraw2D/MolDraw2DCairo.h>
#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>

#include "graph/errors.h"
#include "nodes/image/gray_ops.h"

#ifndef CAPFLOW_RDKIT_DATA_DIR
#define CAPFLOW_RDKIT_DATA_DIR "/usr/share/RDKit/Data"
#endif

namespace capflow::data {
namespace {

const std::string& font_file() {
  static const std::string path = [] {
    const std::string p = std::string(CAPFLOW_RDKIT_DATA_DIR) + "/Fonts/Telex-Regular.ttf";
    return std::filesystem::exists(p) ? p : std::string();  // empty: RDKit's built-in font
  }();
  return path;
}

// RDKit 2022.09's MolDraw2DCairo replaces a caller's Cairo context with a surface of its own
// in initDrawing(), reachable only as an encoded PNG. Overriding that (private, virtual)
// step keeps the drawing on our surface, whose pixels we read directly.
class SurfaceDrawer : public RDKit::MolDraw2DCairo {
 public:
  SurfaceDrawer(int width, int height, cairo_t* cr) : MolDraw2DCairo(width, height, cr), cr_(cr) {}

 private:
  void initDrawing() override { cairo_set_line_cap(cr_, CAIRO_LINE_CAP_BUTT); }
  cairo_t* cr_;
};

}  // namespace

DepictionStyle random_depiction_style(SeededRng& rng) {
  DepictionStyle s;
  s.width = static_cast<int>(rng.uniform_int(300, 500));
  s.height = static_cast<int>(rng.uniform_int(300, 500));
  s.rotate_degrees = rng.uniform(0, 360);
  s.bond_width = rng.uniform(1.0, 3.0);
  s.font_scale = rng.uniform(0.45, 0.8);
  s.label_padding = rng.uniform(0.0, 0.25);
  s.bond_offset = rng.uniform(0.12, 0.2);
  return s;
}

PostprocessStyle random_postprocess_style(SeededRng& rng) {
  PostprocessStyle p;
  p.border_left = static_cast<int>(rng.uniform_int(4, 30));
  p.border_top = static_cast<int>(rng.uniform_int(4, 30));
  p.border_right = static_cast<int>(rng.uniform_int(4, 30));
  p.border_bottom = static_cast<int>(rng.uniform_int(4, 30));
  p.downscale = rng.bernoulli(0.35);
  p.downscale_factor = rng.uniform(0.55, 0.9);
  p.binarize = p.downscale || rng.bernoulli(0.7);
  p.binarize_threshold = static_cast<int>(rng.uniform_int(140, 230));
  p.noise_density = rng.bernoulli(0.75) ? rng.uniform(0.0, 0.003) : 0.0;
  p.pepper_share = rng.uniform(0.7, 1.0);
  return p;
}

io::GrayImage draw_molecule(const RDKit::ROMol& prepared, const DepictionStyle& style,
                            std::vector<io::AtomPoint>* atoms) {
  using SurfacePtr = std::unique_ptr<cairo_surface_t, void (*)(cairo_surface_t*)>;
  using ContextPtr = std::unique_ptr<cairo_t, void (*)(cairo_t*)>;
  SurfacePtr surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, style.width, style.height),
                     &cairo_surface_destroy);
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS)
    throw Error("cairo: cannot create a surface");
  ContextPtr cr(cairo_create(surface.get()), &cairo_destroy);
  cairo_set_source_rgb(cr.get(), 1, 1, 1);  // a new image surface is black
  cairo_paint(cr.get());
  {
    SurfaceDrawer drawer(style.width, style.height, cr.get());
    auto& o = drawer.drawOptions();
    RDKit::assignBWPalette(o.atomColourPalette);
    o.prepareMolsBeforeDrawing = false;
    o.includeMetadata = false;
    o.rotate = style.rotate_degrees;
    o.bondLineWidth = style.bond_width;
    o.scaleBondWidth = false;
    o.baseFontSize = style.font_scale;
    o.additionalAtomLabelPadding = style.label_padding;
    o.multipleBondOffset = style.bond_offset;
    o.padding = 0.04;
    o.fontFile = font_file();
    drawer.drawMolecule(prepared);
    if (atoms) {
      atoms->clear();
      for (const RDKit::Atom* a : prepared.atoms()) {
        const RDGeom::Point2D p = drawer.getDrawCoords(static_cast<int>(a->getIdx()));
        atoms->push_back(
            {io::atom_class(a->getSymbol()), static_cast<float>(p.x), static_cast<float>(p.y)});
      }
    }
    drawer.finishDrawing();
  }
  cairo_surface_flush(surface.get());
  const unsigned char* data = cairo_image_surface_get_data(surface.get());
  const int stride = cairo_image_surface_get_stride(surface.get());
  io::GrayImage img(style.width, style.height);
  for (int y = 0; y < style.height; ++y) {
    const auto* row =
        reinterpret_cast<const std::uint32_t*>(data + static_cast<std::ptrdiff_t>(y) * stride);
    std::uint8_t* out = &img.pixels[static_cast<std::size_t>(y) * style.width];
    for (int x = 0; x < style.width; ++x) {
      const std::uint32_t px = row[x];
      const unsigned r = (px >> 16) & 0xFF, g = (px >> 8) & 0xFF, b = px & 0xFF;
      out[x] = static_cast<std::uint8_t>((299u * r + 587u * g + 114u * b + 500u) / 1000u);
    }
  }
  return img;
}

io::GrayImage postprocess(const io::GrayImage& drawn, const PostprocessStyle& s, SeededRng& rng,
                          io::PixelMap* map) {
  const image::Rect ink = image::ink_bounds(drawn);
  io::GrayImage img = image::crop(drawn, ink);
  img = image::add_border(img, s.border_left, s.border_top, s.border_right, s.border_bottom);
  io::PixelMap m = io::PixelMap::shift(s.border_left - ink.x, s.border_top - ink.y);
  if (s.downscale) {
    const int w = std::max(8, static_cast<int>(std::lround(img.width * s.downscale_factor)));
    const int h = std::max(8, static_cast<int>(std::lround(img.height * s.downscale_factor)));
    m = m.then(io::PixelMap::scale(static_cast<double>(w) / img.width,
                                   static_cast<double>(h) / img.height));
    img = image::resize_nearest(img, w, h);
  }
  if (map) *map = m;
  if (s.binarize) image::binarize(img, static_cast<std::uint8_t>(s.binarize_threshold));
  image::salt_and_pepper(img, s.noise_density, s.pepper_share, rng);
  return img;
}

}  // namespace capflow::data
