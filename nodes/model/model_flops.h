// Model FLOPs of the captioner counted from its layer shapes (no LibTorch): what a training
// step computes per image, the numerator of model FLOP utilisation (MFU). A multiply-add counts
// 2 FLOPs. Counted: every convolution and matrix product (the encoder's convolutions; the
// decoder's linear layers, attention scores and attention-weighted sums). Not counted: batch
// norm, ReLU, pooling, softmax, tanh/sigmoid, the LSTM's elementwise gates, the loss and the
// optimizer (a few % of the total). Backward = 2 × forward (gradients of inputs and of
// weights), so a training step = 3 × forward, the usual convention (a frozen encoder: 1 ×).
//
//   encoder  Σ_conv 2 · Cin · Cout · k² · Hout · Wout
//   decoder  per image (once):   2 · (P·C·A  +  2·C·H  [+ 2C·F + F·S with a formula head])
//            per token (step):   2 · (E·4H  +  H·(A + C + 4H)  +  P·A  +  P·C  +  C·4H  +  H·V)
//   transformer decoder (width d, L layers, feed-forward size F):
//            per image (once):   2 · (P·C·d  +  L · P·d·2d)       memory and its keys, values
//            per token (step):   2 · (L · (6d² + 2·P·d + 2·d·F)  +  d·V)
//            per attended pair:  2 · L · 2d   (a token's query against one earlier token:
//                                 score and weighted sum; a caption of n tokens has n(n+1)/2)
//   image    F_fwd = encoder + decoder_once + L̄ · decoder_token (+ pairs · decoder_pair),
//            training = 3 · F_fwd
// with C the encoder's feature channels, P = h·w its grid, E/H/A the embedding, hidden and
// attention sizes, V the vocabulary, F/S the formula head's hidden size and slots, and L̄ the
// predicted tokens per image (caption tokens + <eos>, padding excluded), measured per batch.
#pragma once

#include <cstdint>
#include <utility>

namespace capflow::model {

struct EncoderShape {
  int depth = 18;  // 18 or 34
  int in_channels = 1;
  int stages = 4;  // residual stages kept
  int width = 64;  // channels of the stem and layer1
};

struct DecoderShape {
  int vocab = 0;               // V
  int embed = 256;             // E
  int hidden = 512;            // H
  int attention = 256;         // A
  int encoder_channels = 512;  // C
  int formula_head = 0;        // F (0: none)
  int formula_slots = 0;       // S
  bool transformer = false;    // a transformer decoder of width `hidden`:
  int layers = 0, ffn = 0;     //   its layers and feed-forward size
};

// The encoder's output grid (h, w) for an input of height × width.
std::pair<int, int> encoder_grid(const EncoderShape& shape, int height, int width);

// Forward FLOPs of the encoder's convolutions for one image of height × width.
double encoder_forward_flops(const EncoderShape& shape, int height, int width);

// Forward FLOPs of the decoder: once per image (attention's encoder side, initial state,
// formula head) and per predicted token, for an encoder grid of `pixels` positions.
struct DecoderFlops {
  double per_image = 0;
  double per_token = 0;
  double per_attended = 0;  // per (token, earlier token) pair of causal self-attention
};
DecoderFlops decoder_forward_flops(const DecoderShape& shape, int pixels);

// Forward and backward of a training step: backward costs twice the forward.
inline constexpr double kBackwardFactor = 2.0;

}  // namespace capflow::model
