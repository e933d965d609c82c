// The choice of OpenBLAS's kernels (tools/process/openblas_core.h): the core for a CPU's flags,
// and which cores predate AVX2. test_run_cli checks the core that `capflow info` runs.
#include <gtest/gtest.h>

#include "tools/process/openblas_core.h"

namespace capflow::process {
namespace {

TEST(OpenblasCore, TheCoreFollowsTheCpusVectorInstructions) {
  // An Intel Xeon with AVX-512 (2026-12-02; OpenBLAS 0.3.21 took it for a Prescott).
  EXPECT_EQ(openblas_core_for_flags("fpu sse2 avx avx2 fma avx512f avx512dq avx512cd avx512bw "
                                    "avx512vl avx512_bf16"),
            "SkylakeX");
  // AVX-512 without BW and VL (Knights Landing) is not SkylakeX's instruction set.
  EXPECT_EQ(openblas_core_for_flags("avx avx2 fma avx512f avx512cd"), "Haswell");
  EXPECT_EQ(openblas_core_for_flags("sse2 avx avx2 fma"), "Haswell");
  EXPECT_EQ(openblas_core_for_flags("sse2 avx"), "");
  EXPECT_EQ(openblas_core_for_flags("avx2"), "") << "AVX2 without FMA";
  EXPECT_EQ(openblas_core_for_flags(""), "");
  // Whole flags only: "avx2fma" is not avx2.
  EXPECT_EQ(openblas_core_for_flags("avx2fma fma"), "");
}

TEST(OpenblasCore, OnlyCoresFromBeforeAvx2AreReplaced) {
  for (const char* old : {"Prescott", "PRESCOTT", "Core2", "Nehalem", "Sandybridge", "Unknown"})
    EXPECT_TRUE(openblas_core_predates_avx2(old)) << old;
  for (const char* current : {"Haswell", "SkylakeX", "Cooperlake", "Zen", "SapphireRapids", ""})
    EXPECT_FALSE(openblas_core_predates_avx2(current)) << current;
}

}  // namespace
}  // namespace capflow::process
