// InChI without its stereo layers (see inchi_layers.h).
#include "nodes/text/inchi_layers.h"

namespace capflow::text {
namespace {

// Stereo layers start with one of these letters; the formula layer starts with an element or
// a digit, every other layer with another lower-case letter (c, h, q, p, i, f, r).
bool is_stereo_layer(std::string_view layer) {
  if (layer.empty()) return false;
  const char c = layer.front();
  return c == 'b' || c == 't' || c == 'm' || c == 's';
}

}  // namespace

std::string inchi_constitution(std::string_view inchi) {
  const std::size_t first = inchi.find('/');
  if (first == std::string_view::npos) return std::string(inchi);
  std::string out(inchi.substr(0, first));  // "InChI=1S"
  std::size_t at = first;
  while (at != std::string_view::npos) {
    const std::size_t next = inchi.find('/', at + 1);
    const std::string_view layer = inchi.substr(
        at + 1, next == std::string_view::npos ? std::string_view::npos : next - at - 1);
    // The first layer is the formula, kept whatever it starts with.
    if (at == first || !is_stereo_layer(layer)) {
      out += '/';
      out += layer;
    }
    at = next;
  }
  return out;
}

}  // namespace capflow::text
