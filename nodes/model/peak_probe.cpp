// Matmul and convolution probes of the machine's peak (see peak_probe.h).
#include "nodes/model/peak_probe.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <functional>

namespace capflow::model {
namespace {

using Clock = std::chrono::steady_clock;

// Best rate of fn (doing `flops` each call) over about `seconds`, at least 3 timed calls.
double best_gflops(const std::function<void()>& fn, double flops, double seconds) {
  fn();  // warm-up: oneDNN picks and JIT-compiles its kernel
  double best = 0;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  for (int i = 0; i < 3 || Clock::now() < end; ++i) {
    const auto t0 = Clock::now();
    fn();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::max(best, flops / s * 1e-9);
  }
  return best;
}

PeakProbe matmul_probe(torch::ScalarType dtype, double seconds) {
  constexpr int64_t n = 1024;
  const auto a = torch::randn({n, n}).to(dtype), b = torch::randn({n, n}).to(dtype);
  torch::Tensor c;
  const double gflops = best_gflops([&] { c = torch::matmul(a, b); }, 2.0 * n * n * n, seconds);
  return {"matmul 1024x1024x1024", dtype == torch::kBFloat16 ? "bf16" : "fp32", gflops};
}

// The encoder's typical layer: 3x3, 64 -> 64 channels, 56x56, batch 32, channels-last.
PeakProbe conv_probe(torch::ScalarType dtype, double seconds) {
  constexpr int64_t n = 32, c = 64, hw = 56;
  const auto x =
      torch::randn({n, c, hw, hw}).to(dtype).contiguous(torch::MemoryFormat::ChannelsLast);
  const auto w = torch::randn({c, c, 3, 3}).to(dtype).contiguous(torch::MemoryFormat::ChannelsLast);
  torch::Tensor y;
  torch::NoGradGuard no_grad;
  const double flops = 2.0 * n * c * c * 9 * hw * hw;
  const double gflops = best_gflops([&] { y = torch::conv2d(x, w, {}, 1, 1); }, flops, seconds);
  return {"conv3x3 64->64 56x56 b32 channels-last", dtype == torch::kBFloat16 ? "bf16" : "fp32",
          gflops};
}

}  // namespace

MachinePeak measure_peak(int threads, double seconds_per_probe) {
  const int before = at::get_num_threads();
  if (threads > 0) at::set_num_threads(threads);
  MachinePeak peak;
  peak.threads = at::get_num_threads();
  for (const auto dtype : {torch::kFloat, torch::kBFloat16}) {
    peak.probes.push_back(matmul_probe(dtype, seconds_per_probe));
    peak.probes.push_back(conv_probe(dtype, seconds_per_probe));
  }
  for (const PeakProbe& p : peak.probes) {
    double& best = p.precision == "fp32" ? peak.fp32_gflops : peak.bf16_gflops;
    best = std::max(best, p.gflops);
  }
  at::set_num_threads(before);
  return peak;
}

}  // namespace capflow::model
