// Export of the encoder and decoder as TorchScript modules that Python's torch.jit.load runs
// without capflow: the weights become parameters and buffers ('.' in names replaced by '_')
// and the methods are TorchScript source defined from C++.
#pragma once

#include <string>

#include "nodes/model/attention_decoder.h"
#include "nodes/model/resnet_encoder.h"

namespace capflow::model {

// Writes `path` atomically (temporary file, fsync, rename). The module's method:
//   forward(x: Tensor) -> Tensor   float [N, in_channels, H, W] → [N, 512, H/32, W/32], in
//                                  eval mode (batch norm with running statistics).
// Throws std::runtime_error when the file cannot be written.
void export_encoder_torchscript(ResNetEncoder& encoder, const std::string& path);

// Writes `path` atomically. Attributes vocab_size, embed, hidden, attention, encoder_channels
// (int); methods (no dropout):
//   forward(features, tokens) -> logits [N, T-1, V]           teacher forcing
//   init_state(features) -> (feats, enc_proj, h, c)
//   step(feats, enc_proj, h, c, tokens) -> (log_probs [B, V], h, c)
//   greedy(features, max_length: int, sos: int = 1, eos: int = 2) -> int64 [N, L]: the
//       generated tokens with each row's <eos>, then <pad>=0; L <= max_length.
// Throws std::runtime_error when the file cannot be written.
void export_decoder_torchscript(AttentionDecoder& decoder, const std::string& path);

}  // namespace capflow::model
