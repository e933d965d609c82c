// The machine's measured peak for the model's arithmetic: a short oneDNN-backed matmul and
// convolution probe through LibTorch, in fp32 and bf16, at a given thread count. The
// denominator of model FLOP utilisation. Torch-free header.
#pragma once

#include <string>
#include <vector>

namespace capflow::model {

struct PeakProbe {
  std::string name;       // e.g. "matmul 1024x1024x1024", "conv3x3 64->64 56x56 b32 channels-last"
  std::string precision;  // "fp32" or "bf16"
  double gflops = 0;      // best iteration's rate
};

struct MachinePeak {
  int threads = 0;
  double fp32_gflops = 0;  // the best fp32 probe
  double bf16_gflops = 0;  // the best bf16 probe
  std::vector<PeakProbe> probes;
  double peak(const std::string& precision) const {
    return precision == "fp32" ? fp32_gflops : bf16_gflops;
  }
};

// Runs each probe (warm-up, then repeated for about `seconds_per_probe`, at least 3 times) with
// `threads` LibTorch intra-op threads and restores the previous thread count.
MachinePeak measure_peak(int threads, double seconds_per_probe = 0.5);

}  // namespace capflow::model
