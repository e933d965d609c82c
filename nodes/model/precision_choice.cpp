// The choice of a model node's precision (see precision_choice.h).
#include "nodes/model/precision_choice.h"

#include <sched.h>

#include <cstdio>

#include "graph/cpu_info.h"
#include "graph/errors.h"
#include "nodes/model/peak_cache.h"

namespace capflow::model {

namespace {

// The cores this process may run on: the thread count a run takes by default.
int usable_cores() {
  cpu_set_t set;
  return ::sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
}

struct Bf16Speed {
  bool fast = false;
  std::string basis;
};

const Bf16Speed& bf16_speed() {
  static const Bf16Speed speed = [] {
    if (!cpu_has_bf16_instructions())
      return Bf16Speed{false, "no AMX or AVX512-BF16: oneDNN emulates bf16"};
    const PeakLookup lookup = any_peak_for(graph::read_cpu_model(), usable_cores());
    char basis[256];
    std::snprintf(basis, sizeof basis, "bf16 %.0f GFLOP/s against fp32 %.0f GFLOP/s (%s)",
                  lookup.peak.bf16_gflops, lookup.peak.fp32_gflops, lookup.source.c_str());
    return Bf16Speed{bf16_beats_fp32(lookup.peak), basis};
  }();
  return speed;
}

}  // namespace

bool cpu_has_bf16_instructions() {
  static const bool present = graph::cpu_has_flag("amx_bf16") || graph::cpu_has_flag("avx512_bf16");
  return present;
}

bool bf16_beats_fp32(const MachinePeak& peak) { return peak.bf16_gflops > peak.fp32_gflops; }

bool cpu_runs_bf16_fast() { return bf16_speed().fast; }

std::string bf16_speed_basis() { return bf16_speed().basis; }

std::string choose_precision(const std::string& argument, bool on_cuda, bool bf16_fast) {
  if (argument == "auto") return on_cuda || bf16_fast ? "bf16" : "fp32";
  if (argument == "fp32" || argument == "float32") return "fp32";
  if (argument == "bf16" || argument == "bfloat16") return "bf16";
  throw ConfigError("precision must be auto, fp32 or bf16, got '" + argument + "'");
}

std::string choose_precision(const std::string& argument, bool on_cuda) {
  // An explicit precision needs no measurement.
  if (argument != "auto" || on_cuda) return choose_precision(argument, on_cuda, false);
  return choose_precision(argument, on_cuda, cpu_runs_bf16_fast());
}

std::string slow_bf16_warning(const std::string& argument, bool on_cuda) {
  if (on_cuda || choose_precision(argument, false, false) != "bf16" || cpu_runs_bf16_fast())
    return {};
  return "precision " + argument + " on a CPU where bf16 is slower than fp32 (" +
         bf16_speed_basis() + "; capflow info --peak): precision: auto picks fp32 here";
}

}  // namespace capflow::model
