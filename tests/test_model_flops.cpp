// Model FLOPs from layer shapes against hand counts (a multiply-add = 2 FLOPs).
#include <gtest/gtest.h>

#include "nodes/model/model_flops.h"

using namespace capflow::model;

// ResNet-18 at 224×224, 3 channels, all four stages: the published 1.81 G multiply-adds.
// By hand: conv1 3·64·49·112² = 118,013,952; layer1 4 · 64·64·9·56² = 462,422,016; layers 2-4
// each (in·2in·9 + 3 · 2in·2in·9 + in·2in) · side² = 411,041,792 → 1,813,561,344 MACs.
TEST(ModelFlops, ResNet18At224IsTheHandCount) {
  const EncoderShape resnet18{18, 3, 4, 64};
  EXPECT_EQ(encoder_forward_flops(resnet18, 224, 224), 2.0 * 1'813'561'344.0);
  EXPECT_EQ(encoder_grid(resnet18, 224, 224), std::make_pair(7, 7));
  // The demo's encoder: width 32, three stages, 1 channel → a 14×14 grid.
  EXPECT_EQ(encoder_grid(EncoderShape{18, 1, 3, 32}, 224, 224), std::make_pair(14, 14));
}

// A tiny encoder: stem 1→8 7×7/2 on 32×32 (16×16 out): 1·8·49·256 = 100,352 MACs; max pool to
// 8×8; layer1, four 3×3 8→8 convolutions on 8×8: 4 · 8·8·9·64 = 147,456 MACs.
TEST(ModelFlops, SmallEncoderIsTheHandCount) {
  EXPECT_EQ(encoder_forward_flops(EncoderShape{18, 1, 1, 8}, 32, 32), 2.0 * (100'352 + 147'456));
  EXPECT_EQ(encoder_grid(EncoderShape{18, 1, 1, 8}, 32, 32), std::make_pair(8, 8));
  EXPECT_THROW(encoder_forward_flops(EncoderShape{50, 1, 4, 64}, 224, 224), std::invalid_argument);
}

// One LSTM step with V=10, E=4, H=8, A=6, C=16 over P=9 pixels, by hand:
// embed_gates 4·32 = 128, hidden_proj 8·(6+16+32) = 432, scores 9·6 = 54, context 9·16 = 144,
// context_gates 16·32 = 512, fc 8·10 = 80 → 1,350 MACs a token; once per image: enc_att
// 9·16·6 = 864, init_h and init_c 2·16·8 = 256 → 1,120 MACs; a formula head F=5, S=3 adds
// 2·16·5 + 5·3 = 175.
TEST(ModelFlops, OneDecoderStepIsTheHandCount) {
  DecoderShape d{10, 4, 8, 6, 16, 0, 0};
  DecoderFlops f = decoder_forward_flops(d, 9);
  EXPECT_EQ(f.per_token, 2.0 * 1350);
  EXPECT_EQ(f.per_image, 2.0 * 1120);
  d.formula_head = 5;
  d.formula_slots = 3;
  f = decoder_forward_flops(d, 9);
  EXPECT_EQ(f.per_image, 2.0 * (1120 + 175));
  EXPECT_EQ(f.per_token, 2.0 * 1350);
}

// A transformer decoder with V=10, d=8, L=2 layers, F=12, C=16 over P=9 pixels, by hand, per
// layer and token: self_qkv 8·24 = 192, self_out 64, cross_q 64, cross_out 64, cross scores and
// weighted sum 2·9·8 = 144, ffn 8·12 + 12·8 = 192 → 720; two layers and fc 8·10 = 80 → 1,520
// MACs a token. Once per image: memory_proj 9·16·8 = 1,152, each layer's cross_kv 9·8·16 =
// 1,152 → 3,456. Per attended pair: score and weighted sum 2·8 per layer → 32.
TEST(ModelFlops, TransformerDecoderIsTheHandCount) {
  DecoderShape d{10, 8, 8, 0, 16, 0, 0};
  d.transformer = true;
  d.layers = 2;
  d.ffn = 12;
  const DecoderFlops f = decoder_forward_flops(d, 9);
  EXPECT_EQ(f.per_token, 2.0 * 1520);
  EXPECT_EQ(f.per_image, 2.0 * 3456);
  EXPECT_EQ(f.per_attended, 2.0 * 32);
}
