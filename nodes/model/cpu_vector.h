// Small helpers for the hand-written CPU loops of the model kernels: bfloat16 <-> float
// conversion that compilers vectorize, a dot product they vectorize; CAPFLOW_VECTOR_CLONES
// (cpu_clones.h) for one compiled copy of a function per x86-64 instruction set level.
#pragma once

#include <c10/util/BFloat16.h>

#include <cstdint>
#include <cstring>

#include "nodes/model/cpu_clones.h"

namespace capflow::model::cpu {

inline float load(float v) { return v; }
inline float load(c10::BFloat16 v) {
  const uint32_t bits = static_cast<uint32_t>(v.x) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
inline void store(float& to, float v) { to = v; }
// Round to nearest even, as LibTorch's own conversion; NaN stays a (quiet) NaN.
inline void store(c10::BFloat16& to, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  to.x = v != v ? static_cast<uint16_t>(0x7fc0) : static_cast<uint16_t>(bits >> 16);
}

// Σ load(a[i])·b[i] in 16 partial sums, which compilers turn into vector code (a single running
// sum stays scalar: float addition is not reassociated).
template <typename T>
inline float dot(const T* __restrict a, const float* __restrict b, int64_t len) {
  constexpr int kLanes = 16;
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= len; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) acc[k] += load(a[i + k]) * b[i + k];
  }
  float sum = 0.0f;
  for (; i < len; ++i) sum += load(a[i]) * b[i];
  for (const float v : acc) sum += v;
  return sum;
}

}  // namespace capflow::model::cpu
