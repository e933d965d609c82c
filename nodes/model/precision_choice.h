// Which precision a model node computes in, behind a torch-free header: `auto` takes bf16
// where the hardware runs it natively (AMX or AVX512-BF16 on the CPU; a CUDA device) and fp32
// elsewhere. Without that hardware, oneDNN emulates bf16: on an AMD EPYC Zen 3, the shipped
// recipe trained at 2.7 images/s in bf16 against 47.3 in fp32 (docs/benchmarks.md).
#pragma once

#include <string>

namespace capflow::model {

// Whether this CPU has oneDNN's fast bf16 path (AMX or AVX512-BF16), from /proc/cpuinfo;
// checked once.
bool cpu_runs_bf16_natively();

// "bf16" or "fp32" for a node's `precision` argument ("auto", "bf16", "fp32", "bfloat16",
// "float32"): auto is bf16 on CUDA or where the CPU runs bf16 natively (bf16_native), else fp32.
// Throws ConfigError for anything else.
std::string choose_precision(const std::string& argument, bool on_cuda, bool bf16_native);

// The same on this machine.
std::string choose_precision(const std::string& argument, bool on_cuda);

// A warning for an explicit bf16 on a CPU that emulates it, else empty.
std::string emulated_bf16_warning(const std::string& argument, bool on_cuda);

}  // namespace capflow::model
