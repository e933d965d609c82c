// Dropout's mask from a counter-based hash (see dropout_mask.h).
#include "nodes/model/dropout_mask.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#include <cmath>
#include <limits>
#include <mutex>

#include "nodes/model/cpu_clones.h"

namespace capflow::model {

namespace {

// MurmurHash3's 32-bit finalizer: a bijection whose every output bit depends on every input
// bit (avalanche), applied to the element's index mixed with the seed's two halves.
inline uint32_t mix(uint32_t x) {
  x ^= x >> 16;
  x *= 0x85ebca6bu;
  x ^= x >> 13;
  x *= 0xc2b2ae35u;
  x ^= x >> 16;
  return x;
}

// Elements [i0, i1): scale where the hash's top 24 bits fall below threshold, else 0.
CAPFLOW_VECTOR_CLONES void fill_range(float* out, int64_t i0, int64_t i1, uint32_t lo, uint32_t hi,
                                      uint32_t threshold, float scale) {
  for (int64_t i = i0; i < i1; ++i) {
    const uint32_t h = mix(mix(static_cast<uint32_t>(i) * 0x9e3779b9u + lo) ^ hi);
    out[i] = (h >> 8) < threshold ? scale : 0.0f;
  }
}

}  // namespace

void fill_dropout_mask(at::Tensor& mask, double keep, uint64_t seed) {
  TORCH_CHECK(mask.device().is_cpu() && mask.scalar_type() == at::kFloat && mask.is_contiguous(),
              "dropout mask: a contiguous float CPU tensor expected");
  TORCH_CHECK(mask.numel() <= std::numeric_limits<uint32_t>::max(),
              "dropout mask: at most 2^32 - 1 elements, got ", mask.numel());
  TORCH_CHECK(keep > 0.0 && keep <= 1.0, "dropout mask: keep must be in (0, 1], got ", keep);
  // P(top 24 bits < threshold) = threshold / 2^24, keep to within 2^-24.
  const auto threshold = static_cast<uint32_t>(std::lround(keep * (1 << 24)));
  const auto scale = static_cast<float>(1.0 / keep);
  const auto lo = static_cast<uint32_t>(seed), hi = static_cast<uint32_t>(seed >> 32);
  float* out = mask.data_ptr<float>();
  at::parallel_for(0, mask.numel(), 1 << 16, [&](int64_t i0, int64_t i1) {
    fill_range(out, i0, i1, lo, hi, threshold, scale);
  });
}

uint64_t draw_seed(const at::Generator& generator) {
  auto* gen = at::check_generator<at::CPUGeneratorImpl>(generator);
  std::lock_guard<std::mutex> lock(gen->mutex_);
  return gen->random64();
}

}  // namespace capflow::model
