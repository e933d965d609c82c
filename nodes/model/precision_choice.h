// Which precision a model node computes in, behind a torch-free header: `auto` takes bf16 on a
// CUDA device, and on a CPU only where bf16 is fast: the CPU has AMX or AVX512-BF16 and this
// machine's measured bf16 peak is above its fp32 peak (`capflow info --peak`, peak_cache.h).
// Elsewhere fp32. Without those instructions oneDNN emulates bf16: on an AMD EPYC Zen 3 the
// shipped recipe trained at 2.7 images/s in bf16 against 47.3 in fp32. With AVX512-BF16 but no
// AMX an Intel Xeon measured 164 GFLOP/s in bf16 against 312 in fp32 (its convolutions: 155
// against 312), and trained 12 % slower in bf16 (docs/benchmarks.md).
#pragma once

#include <string>

#include "nodes/model/peak_probe.h"

namespace capflow::model {

// Whether this CPU has the instructions of oneDNN's bf16 kernels (AMX or AVX512-BF16), from
// /proc/cpuinfo; checked once.
bool cpu_has_bf16_instructions();

// Whether a machine's measured bf16 peak is above its fp32 peak.
bool bf16_beats_fp32(const MachinePeak& peak);

// Whether bf16 is the faster precision on this CPU: its instructions are there and the
// measured peak (peak_cache.h: cached, else measured once, about 2 s) says so. Decided once per
// process; no measurement on a CPU without the instructions.
bool cpu_runs_bf16_fast();

// The figures cpu_runs_bf16_fast() decided by, or why it measured none: "bf16 164 GFLOP/s
// against fp32 312 GFLOP/s (cached (measured by capflow info --peak, DATE))".
std::string bf16_speed_basis();

// "bf16" or "fp32" for a node's `precision` argument ("auto", "bf16", "fp32", "bfloat16",
// "float32"): auto is bf16 on CUDA or where bf16 is fast on the CPU (bf16_fast), else fp32.
// Throws ConfigError for anything else.
std::string choose_precision(const std::string& argument, bool on_cuda, bool bf16_fast);

// The same on this machine.
std::string choose_precision(const std::string& argument, bool on_cuda);

// A warning for an explicit bf16 on a CPU where it is slower than fp32 (emulated, or measured
// slower), else empty.
std::string slow_bf16_warning(const std::string& argument, bool on_cuda);

}  // namespace capflow::model
