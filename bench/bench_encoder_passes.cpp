// Benchmarks of the encoder's hand-written passes alone, on the demo's activations (16 images,
// channels-last bf16, one thread): the stem's 3×3 max pooling (112 × 112 × 32 → 56 × 56) and a
// batch norm with the residual sum and the ReLU (the stem's 112 × 112 × 32 and a first-stage
// 56 × 56 × 32). Items are images. CAPFLOW_ENCODER_KERNELS=aten measures LibTorch's operations
// in their place.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "nodes/model/batch_norm_act.h"
#include "nodes/model/max_pool_kernels.h"
#include "nodes/model/precision.h"
#include "nodes/model/torch_runtime.h"

namespace {

constexpr int64_t kImages = 16, kChannels = 32;

torch::Tensor activations(int64_t side, bool requires_grad) {
  torch::manual_seed(0);
  auto x = capflow::model::as_channels_last(torch::randn({kImages, kChannels, side, side}))
               .to(torch::kBFloat16);
  return x.set_requires_grad(requires_grad);
}

// Arg: backward (0: the forward alone, 1: forward and backward).
void BM_max_pool_stem_bf16(benchmark::State& state) {
  capflow::model::set_torch_threads(1);
  const bool backward = state.range(0) != 0;
  const auto x = activations(112, backward);
  for (auto _ : state) {
    auto y = capflow::model::max_pool_3x3s2(x);
    if (backward) {
      auto dx = torch::autograd::grad({y}, {x}, {torch::ones_like(y)});
      benchmark::DoNotOptimize(dx[0].data_ptr());
    }
    benchmark::DoNotOptimize(y.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * kImages);
}
BENCHMARK(BM_max_pool_stem_bf16)
    ->ArgName("backward")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// Args: side (112 or 56), backward (0/1). With the residual where side is 56 (a block's second
// norm), without at 112 (the stem's).
void BM_batch_norm_act_bf16(benchmark::State& state) {
  capflow::model::set_torch_threads(1);
  const int64_t side = state.range(0);
  const bool backward = state.range(1) != 0;
  const auto x = activations(side, backward);
  const auto residual = side == 56 ? activations(side, false) : torch::Tensor();
  torch::nn::BatchNorm2d bn(kChannels);
  bn->train();
  for (auto _ : state) {
    auto y = capflow::model::batch_norm_act(x, *bn, residual, /*relu=*/true);
    if (backward) {
      auto dx = torch::autograd::grad({y}, {x}, {torch::ones_like(y)});
      benchmark::DoNotOptimize(dx[0].data_ptr());
    }
    benchmark::DoNotOptimize(y.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * kImages);
}
BENCHMARK(BM_batch_norm_act_bf16)
    ->ArgNames({"side", "backward"})
    ->ArgsProduct({{112, 56}, {0, 1}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
