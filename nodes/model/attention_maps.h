// Where the decoder looks: one image decoded with a checkpoint while the attention weights α
// over the encoder's h x w grid are recorded at every step, and a contact sheet of them (one
// frame per emitted token, the picture tinted by α, the token written under it). Used by
// `capflow explain`. No LibTorch in this header.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "nodes/io/gray_image.h"
#include "nodes/model/rgb_canvas.h"

namespace capflow::model {

struct AttentionTrace {
  std::string inchi;                      // the prediction
  std::vector<std::string> tokens;        // one per step: the emitted token ("<eos>": the end)
  int grid_height = 0, grid_width = 0;    // the encoder's feature map
  std::vector<std::vector<float>> alpha;  // per step, grid_height * grid_width weights
                                          // (row-major), summing to 1
  io::GrayImage image;                    // the picture as the model saw it
};

// Decodes the image at `image_path` with a checkpoint (file, checkpoints folder or run folder)
// after predict's preprocessing: greedy for beam 1, else beam search's best hypothesis. The
// decoded tokens are then fed back through the decoder's step API to record α (the same
// computation greedy decoding does). The <eos> step is the last one when it was emitted
// within max_length steps.
AttentionTrace trace_attention(const std::string& checkpoint, const std::string& image_path,
                               int beam, int max_length);

// The sheet's geometry: frames of the picture scaled so that its longer side is kFrameSide,
// kColumns at most per row, kMargin pixels around each, a kLabelHeight band under each for its
// label. width = columns * (frame_width + kMargin) + kMargin, height = rows * (frame_height +
// kLabelHeight + kMargin) + kMargin, with columns = min(frames, kColumns) and rows = ceil(frames /
// columns) (one frame at least).
struct SheetLayout {
  static constexpr int kFrameSide = 128, kColumns = 8, kMargin = 4, kLabelHeight = kGlyphHeight + 4;
  int frame_width = 0, frame_height = 0, columns = 0, rows = 0, width = 0, height = 0;
};
SheetLayout attention_sheet_layout(int image_width, int image_height, std::size_t frames);

// Frame i shows the picture with α of step i upsampled (bilinear) over it, red where the
// decoder looks (scaled to the step's largest weight), and the label "i+1 token" under it.
RgbImage compose_attention_sheet(const AttentionTrace& trace);

}  // namespace capflow::model
