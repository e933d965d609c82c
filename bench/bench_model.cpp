// Benchmarks of the model kernels: ResNet-18 encoder forward and forward+backward at 224×224,
// the attention-LSTM decoder's teacher-forced forward+backward, and greedy decoding, in fp32
// and bf16 autocast. Two intra-op threads (the DESIGN's 2-core figures) unless the threads
// argument says otherwise. Items are images.
#include <ATen/CPUGeneratorImpl.h>
#include <benchmark/benchmark.h>

#include "nodes/model/attention_decoder.h"
#include "nodes/model/caption_search.h"
#include "nodes/model/dropout_mask.h"
#include "nodes/model/fused_adam.h"
#include "nodes/model/packed_gemm.h"
#include "nodes/model/packed_gemm_bf16.h"
#include "nodes/model/precision.h"
#include "nodes/model/resnet_encoder.h"
#include "nodes/model/torch_runtime.h"

namespace {

using capflow::model::AttentionDecoder;
using capflow::model::AutocastGuard;
using capflow::model::DecoderOptions;
using capflow::model::Precision;
using capflow::model::ResNetEncoder;

constexpr int kVocab = 193, kTokens = 100, kSide = 224;

Precision precision_arg(const benchmark::State& state, int index) {
  return state.range(index) ? Precision::kBf16 : Precision::kFp32;
}

// Args: batch, bf16 (0/1), channels_last (0/1), threads.
void set_label(benchmark::State& state, Precision precision, bool channels_last, int threads) {
  state.SetLabel(std::string(capflow::model::precision_name(precision)) +
                 (channels_last ? " channels-last" : " nchw") +
                 " threads=" + std::to_string(threads));
}

ResNetEncoder make_encoder(bool channels_last) {
  torch::manual_seed(0);
  ResNetEncoder encoder;
  if (channels_last) capflow::model::to_channels_last(*encoder);
  return encoder;
}

torch::Tensor make_images(int64_t batch, bool channels_last) {
  auto x = torch::rand({batch, 1, kSide, kSide});
  return channels_last ? capflow::model::as_channels_last(x) : x;
}

void BM_encoder_forward(benchmark::State& state) {
  const int64_t batch = state.range(0);
  const auto precision = precision_arg(state, 1);
  const bool channels_last = state.range(2) != 0;
  const int threads = static_cast<int>(state.range(3));
  capflow::model::set_torch_threads(threads);
  auto encoder = make_encoder(channels_last);
  encoder->eval();
  const auto x = make_images(batch, channels_last);
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    AutocastGuard autocast(precision);
    benchmark::DoNotOptimize(encoder->forward(x));
  }
  state.SetItemsProcessed(state.iterations() * batch);
  set_label(state, precision, channels_last, threads);
}
BENCHMARK(BM_encoder_forward)
    ->ArgNames({"batch", "bf16", "cl", "threads"})
    ->ArgsProduct({{8, 32}, {0, 1}, {1}, {2}})
    ->Args({32, 0, 0, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// One forward (under autocast) and backward of a loss on the features.
void encoder_train_step(ResNetEncoder& encoder, const torch::Tensor& x, Precision precision) {
  encoder->zero_grad();
  torch::Tensor features;
  {
    AutocastGuard autocast(precision);
    features = encoder->forward(x);
  }
  features.to(torch::kFloat).mean().backward();
}

void BM_encoder_forward_backward(benchmark::State& state) {
  const int64_t batch = state.range(0);
  const auto precision = precision_arg(state, 1);
  const bool channels_last = state.range(2) != 0;
  const int threads = static_cast<int>(state.range(3));
  capflow::model::set_torch_threads(threads);
  auto encoder = make_encoder(channels_last);
  encoder->train();
  const auto x = make_images(batch, channels_last);
  for (auto _ : state) encoder_train_step(encoder, x, precision);
  state.SetItemsProcessed(state.iterations() * batch);
  set_label(state, precision, channels_last, threads);
}
BENCHMARK(BM_encoder_forward_backward)
    ->ArgNames({"batch", "bf16", "cl", "threads"})
    ->ArgsProduct({{8, 32}, {0, 1}, {1}, {2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The encoder of the demo where bf16 is native (pipelines/demo.yaml: stages 3, width 32, 224 x
// 224, channels-last, bf16 autocast), one replica's 16 images on one thread, as it trains: the
// forward and the backward of a loss on its features. CAPFLOW_ENCODER_KERNELS=aten in the
// environment measures it with LibTorch's operations in place of the hand-written passes
// (batch norm with the residual and ReLU, the stem's max pooling).
void BM_encoder_demo_bf16(benchmark::State& state) {
  capflow::model::set_torch_threads(1);
  torch::manual_seed(0);
  capflow::model::EncoderOptions options;
  options.stages = 3;
  options.width = 32;
  ResNetEncoder encoder(options);
  capflow::model::to_channels_last(*encoder);
  encoder->train();
  const auto x = capflow::model::as_channels_last(torch::rand({16, 1, kSide, kSide}));
  for (auto _ : state) encoder_train_step(encoder, x, Precision::kBf16);
  state.SetItemsProcessed(state.iterations() * 16);
}
BENCHMARK(BM_encoder_demo_bf16)->Unit(benchmark::kMillisecond)->UseRealTime();

DecoderOptions decoder_options() {
  DecoderOptions o;
  o.vocab_size = kVocab;  // embed 256, hidden 512, attention 256, 512 channels, dropout 0.5
  return o;
}

// Features as the encoder gives them for 224×224: [N, 512, 7, 7], channels-last.
torch::Tensor make_features(int64_t batch) {
  return torch::randn({batch, 512, 7, 7}).contiguous(at::MemoryFormat::ChannelsLast);
}

torch::Tensor make_tokens(int64_t batch, int64_t length = kTokens) {
  auto tokens = torch::randint(4, kVocab, {batch, length}, torch::kLong);
  tokens.select(1, 0).fill_(1);           // <sos>
  tokens.select(1, length - 1).fill_(2);  // <eos>
  return tokens;
}

// One teacher-forced forward (under autocast) and backward of the caption loss.
void decoder_train_step(AttentionDecoder& decoder, const torch::Tensor& features,
                        const torch::Tensor& tokens, Precision precision) {
  decoder->zero_grad();
  torch::Tensor logits;
  {
    AutocastGuard autocast(precision);
    logits = decoder->forward(features, tokens);
  }
  capflow::model::caption_loss(logits, tokens).backward();
}

void BM_decoder_forward_backward(benchmark::State& state) {
  const int64_t batch = state.range(0);
  const auto precision = precision_arg(state, 1);
  const int threads = static_cast<int>(state.range(2));
  capflow::model::set_torch_threads(threads);
  torch::manual_seed(0);
  AttentionDecoder decoder(decoder_options());
  decoder->train();
  const auto features = make_features(batch).requires_grad_(true);
  const auto tokens = make_tokens(batch);
  for (auto _ : state) decoder_train_step(decoder, features, tokens, precision);
  state.SetItemsProcessed(state.iterations() * batch);
  set_label(state, precision, true, threads);
}
BENCHMARK(BM_decoder_forward_backward)
    ->ArgNames({"batch", "bf16", "threads"})
    ->ArgsProduct({{32}, {0, 1}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_greedy_decode(benchmark::State& state) {
  const int64_t batch = state.range(0);
  const auto precision = precision_arg(state, 1);
  const int threads = static_cast<int>(state.range(2));
  capflow::model::set_torch_threads(threads);
  torch::manual_seed(0);
  AttentionDecoder decoder(decoder_options());
  decoder->eval();
  const auto features = make_features(batch);
  {  // random weights rarely emit <eos>: every row runs all max_length steps (the worst case)
    torch::NoGradGuard no_grad;
    decoder->fc->bias[2] = -100.0f;
  }
  for (auto _ : state) {
    AutocastGuard autocast(precision);
    benchmark::DoNotOptimize(capflow::model::greedy_decode(*decoder, features, kTokens, 1, 2));
  }
  state.SetItemsProcessed(state.iterations() * batch);
  set_label(state, precision, true, threads);
}
BENCHMARK(BM_greedy_decode)
    ->ArgNames({"batch", "bf16", "threads"})
    ->ArgsProduct({{32}, {0, 1}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The decoder alone at several caption lengths: teacher-forced forward (no gradients) or
// forward+backward. Args: tokens, bf16, backward (0/1); batch 32, 2 threads.
void BM_decoder_sequence(benchmark::State& state) {
  const int64_t tokens = state.range(0), batch = 32;
  const auto precision = precision_arg(state, 1);
  const bool backward = state.range(2) != 0;
  const int threads = 2;
  capflow::model::set_torch_threads(threads);
  torch::manual_seed(0);
  AttentionDecoder decoder(decoder_options());
  decoder->train();
  const auto features = make_features(batch).requires_grad_(backward);
  const auto captions = make_tokens(batch, tokens);
  for (auto _ : state) {
    if (backward) {
      decoder_train_step(decoder, features, captions, precision);
    } else {
      torch::NoGradGuard no_grad;
      AutocastGuard autocast(precision);
      benchmark::DoNotOptimize(decoder->forward(features, captions));
    }
  }
  state.SetItemsProcessed(state.iterations() * batch);
  set_label(state, precision, true, threads);
}
BENCHMARK(BM_decoder_sequence)
    ->ArgNames({"tokens", "bf16", "backward"})
    ->ArgsProduct({{50, 100, 200}, {1}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The decoder of the demo, one replica's 16 images on one thread: embed 128, hidden 256,
// attention 128, 45 SMILES tokens of 40 kinds. `_fp32` as it trains on a CPU without native
// bf16 (pipelines/demo.yaml under `when: cpu_without_native_bf16`: a 10 x 10 grid of 96
// channels, fp32); `_bf16` as it trains where bf16 is native (a 14 x 14 grid of 128 channels,
// under bf16 autocast). Arg: backward (0: teacher-forced forward only, without autograd; 1:
// forward and backward).
void decoder_demo(benchmark::State& state, Precision precision, int64_t grid, int64_t channels) {
  const bool backward = state.range(0) != 0;
  capflow::model::set_torch_threads(1);
  torch::manual_seed(0);
  DecoderOptions o;
  o.vocab_size = 40;
  o.embed = 128;
  o.hidden = 256;
  o.attention = 128;
  o.encoder_channels = channels;
  o.dropout = 0.3;
  AttentionDecoder decoder(o);
  decoder->train();
  const int64_t batch = 16, length = 45;
  const auto features = torch::randn({batch, channels, grid, grid})
                            .contiguous(at::MemoryFormat::ChannelsLast)
                            .requires_grad_(backward);
  auto tokens = torch::randint(4, o.vocab_size, {batch, length}, torch::kLong);
  tokens.select(1, 0).fill_(1);
  tokens.select(1, length - 1).fill_(2);
  for (auto _ : state) {
    if (backward) {
      decoder_train_step(decoder, features, tokens, precision);
    } else {
      torch::NoGradGuard no_grad;
      AutocastGuard autocast(precision);
      benchmark::DoNotOptimize(decoder->forward(features, tokens));
    }
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
void BM_decoder_demo_fp32(benchmark::State& state) {
  decoder_demo(state, Precision::kFp32, 10, 96);
}
void BM_decoder_demo_bf16(benchmark::State& state) {
  decoder_demo(state, Precision::kBf16, 14, 128);
}
BENCHMARK(BM_decoder_demo_fp32)
    ->ArgNames({"backward"})
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_decoder_demo_bf16)
    ->ArgNames({"backward"})
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The demo decoder's dropout mask (16 captions × 45 steps × 256 hidden, keep 0.7) on one thread:
// LibTorch's bernoulli_ and div_ from a generator (what the decoder did before) against
// fill_dropout_mask from one seed. Arg: hashed (0/1).
void BM_dropout_mask(benchmark::State& state) {
  capflow::model::set_torch_threads(1);
  const bool hashed = state.range(0) != 0;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(42);
  auto mask = torch::empty({16, 45, 256});
  for (auto _ : state) {
    if (hashed) {
      capflow::model::fill_dropout_mask(mask, 0.7, capflow::model::draw_seed(generator));
    } else {
      mask.bernoulli_(0.7, generator).div_(0.7);
    }
    benchmark::DoNotOptimize(mask.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * mask.numel());
}
BENCHMARK(BM_dropout_mask)
    ->ArgName("hashed")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// One step's hidden-state projection of the fp32 demo's decoder, [16 x 256] by a weight of
// [1248 x 256] plus bias, on one thread: LibTorch's addmm (OpenBLAS, which packs the weight on
// every call) against packed_gemm with the weight packed once. Arg: packed (0/1).
void BM_decoder_step_matmul(benchmark::State& state) {
  const bool packed = state.range(0) != 0;
  capflow::model::set_torch_threads(1);
  torch::manual_seed(0);
  const int64_t rows = 16, in = 256, out = 1248;
  const auto x = torch::randn({rows, in}), w = torch::randn({out, in}), b = torch::randn({out});
  const auto weight =
      capflow::model::PackedMatrix::from_transposed(w.data_ptr<float>(), out, in, in);
  auto y = torch::empty({rows, out});
  for (auto _ : state) {
    if (packed) {
      capflow::model::packed_gemm(rows, x.data_ptr<float>(), in, weight, y.data_ptr<float>(), out,
                                  b.data_ptr<float>());
    } else {
      at::addmm_out(y, b, x, w.t());
    }
    benchmark::DoNotOptimize(y.data_ptr<float>());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * rows * in * out * state.iterations() / 1e9,
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_decoder_step_matmul)
    ->ArgNames({"packed"})
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// The same product in the bf16 demo's shape, [16 x 256] by a weight of [1280 x 256] plus bias,
// on one thread: LibTorch's addmm (oneDNN) against packed_gemm_bf16 with the weight packed once
// (where the CPU has AVX512-BF16). Arg: packed (0/1).
void BM_decoder_step_matmul_bf16(benchmark::State& state) {
  const bool packed = state.range(0) != 0;
  if (packed && !capflow::model::packed_bf16_available()) {
    state.SkipWithError("no AVX512-BF16 on this CPU");
    return;
  }
  capflow::model::set_torch_threads(1);
  torch::manual_seed(0);
  const int64_t rows = 16, in = 256, out = 1280;
  const auto x = torch::randn({rows, in}).to(torch::kBFloat16);
  const auto w = torch::randn({out, in}).to(torch::kBFloat16);
  const auto b = torch::randn({out}).to(torch::kBFloat16);
  auto bits = [](const torch::Tensor& t) {
    return reinterpret_cast<const uint16_t*>(t.data_ptr<at::BFloat16>());
  };
  const auto weight = packed
                          ? capflow::model::PackedBf16Matrix::from_transposed(bits(w), out, in, in)
                          : capflow::model::PackedBf16Matrix();
  auto y = torch::empty({rows, out}, x.options());
  for (auto _ : state) {
    if (packed) {
      capflow::model::packed_gemm_bf16(rows, bits(x), in, weight,
                                       reinterpret_cast<uint16_t*>(y.data_ptr<at::BFloat16>()), out,
                                       bits(b), false, 0, weight.panels());
    } else {
      at::addmm_out(y, b, x, w.t());
    }
    benchmark::DoNotOptimize(y.data_ptr<at::BFloat16>());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * rows * in * out * state.iterations() / 1e9,
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_decoder_step_matmul_bf16)
    ->ArgNames({"packed"})
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// One AdamW step over the encoder's and decoder's parameters (gradients set once).
// One AdamW step over the default encoder's and decoder's parameters as the trainer takes it,
// the gradients zeroed after it. Args: threads; fused (0: LibTorch's step and zero_grad, 1:
// fused_adam_step).
void BM_adamw_step(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const bool fused = state.range(1) != 0;
  capflow::model::set_torch_threads(threads);
  torch::manual_seed(0);
  auto encoder = make_encoder(true);
  AttentionDecoder decoder(decoder_options());
  std::vector<torch::Tensor> params = encoder->parameters();
  for (const auto& p : decoder->parameters()) params.push_back(p);
  int64_t count = 0;
  for (auto& p : params) {
    p.mutable_grad() = torch::empty_like(p).copy_(torch::randn_like(p) * 1e-3);
    count += p.numel();
  }
  torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(1e-4).weight_decay(0.01));
  for (auto _ : state) {
    if (fused) {
      if (!capflow::model::fused_adam_step(optimizer, true, 1.0f))
        state.SkipWithError("the fused step refused the parameters");
    } else {
      optimizer.step();
      optimizer.zero_grad();
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * count * static_cast<int64_t>(sizeof(float)));
  state.SetLabel(std::to_string(count) + " parameters, threads=" + std::to_string(threads));
}
BENCHMARK(BM_adamw_step)
    ->ArgNames({"threads", "fused"})
    ->ArgsProduct({{1, 2}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
