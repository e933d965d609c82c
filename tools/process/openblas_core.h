// OpenBLAS (LibTorch's fp32 matmuls) picks its kernels from the CPU's family and model. On a
// CPU it does not know (a VM that hides the model, a processor newer than the library) it
// falls back to "Prescott", SSE3 kernels: on an AVX-512 Intel Xeon LibTorch's 1024³ fp32
// matmul ran at 57 GFLOP/s instead of 148, and training 18-22 % slower (docs/benchmarks.md).
// OPENBLAS_CORETYPE chooses the kernels, read only when the library loads, so the process
// settings (process_settings.h) set it before a restart.
#pragma once

#include <string>

namespace capflow::process {

// The OpenBLAS core for a CPU with these /proc/cpuinfo flags (space-separated): "SkylakeX"
// with AVX-512 F, BW, VL, DQ and CD; "Haswell" with AVX2 and FMA; else "" (no better choice).
std::string openblas_core_for_flags(const std::string& flags);

// Whether an OpenBLAS core name is one from before AVX2 (Prescott, Core2, Nehalem, Sandybridge
// and their kind), that is, one that leaves an AVX2 or AVX-512 CPU's vector units half used.
bool openblas_core_predates_avx2(const std::string& core);

// The core OpenBLAS runs in this process (openblas_get_corename), or "" when the BLAS is not
// OpenBLAS.
std::string openblas_core_in_use();

// The core to request with OPENBLAS_CORETYPE in this process, where OpenBLAS runs `in_use`
// (openblas_core_in_use()), or "" for none: OpenBLAS is in use, the caller did not set
// OPENBLAS_CORETYPE, and it chose a core from before AVX2 while this CPU has better
// (openblas_core_for_flags).
std::string openblas_core_to_request(const std::string& in_use);

// The variable a restart leaves with the core OpenBLAS had chosen by itself, for
// `capflow info`.
constexpr const char* kOpenblasOwnChoiceVariable = "CAPFLOW_OPENBLAS_OWN_CORE";

}  // namespace capflow::process
