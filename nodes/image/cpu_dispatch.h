// Vector code chosen when run: functions marked CAPFLOW_AVX2 are compiled for AVX2 whatever the
// build's target and must only be called when has_avx2() holds; those marked CAPFLOW_AVX512BW
// (AVX-512 F, BW and VL: 32 16-bit lanes, masked byte loads and stores) only when
// has_avx512bw() holds. Defined on x86-64 only (CAPFLOW_HAS_AVX2_PATH); elsewhere the portable
// code runs.
#pragma once

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CAPFLOW_HAS_AVX2_PATH 1
#define CAPFLOW_AVX2 __attribute__((target("avx2")))
#define CAPFLOW_AVX512BW __attribute__((target("avx2,avx512f,avx512bw,avx512vl")))

namespace capflow::image {

// Whether this processor runs AVX2 (checked once).
inline bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2") != 0;
  return yes;
}

// Whether this processor (and the operating system, which must save its registers) runs
// AVX-512 F, BW and VL (checked once).
inline bool has_avx512bw() {
  static const bool yes = __builtin_cpu_supports("avx512f") != 0 &&
                          __builtin_cpu_supports("avx512bw") != 0 &&
                          __builtin_cpu_supports("avx512vl") != 0;
  return yes;
}

}  // namespace capflow::image
#else
#define CAPFLOW_HAS_AVX2_PATH 0
#endif
