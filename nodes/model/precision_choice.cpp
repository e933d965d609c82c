// The choice of a model node's precision (see precision_choice.h).
#include "nodes/model/precision_choice.h"

#include <fstream>

#include "graph/errors.h"

namespace capflow::model {

namespace {

bool cpu_has_flag(const std::string& flag) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) == 0)
      return (line + " ").find(" " + flag + " ") != std::string::npos;
  }
  return false;
}

}  // namespace

bool cpu_runs_bf16_natively() {
  static const bool native = cpu_has_flag("amx_bf16") || cpu_has_flag("avx512_bf16");
  return native;
}

std::string choose_precision(const std::string& argument, bool on_cuda, bool bf16_native) {
  if (argument == "auto") return on_cuda || bf16_native ? "bf16" : "fp32";
  if (argument == "fp32" || argument == "float32") return "fp32";
  if (argument == "bf16" || argument == "bfloat16") return "bf16";
  throw ConfigError("precision must be auto, fp32 or bf16, got '" + argument + "'");
}

std::string choose_precision(const std::string& argument, bool on_cuda) {
  return choose_precision(argument, on_cuda, cpu_runs_bf16_natively());
}

std::string emulated_bf16_warning(const std::string& argument, bool on_cuda) {
  if (on_cuda || cpu_runs_bf16_natively() || choose_precision(argument, false, false) != "bf16")
    return {};
  return "precision " + argument +
         " on a CPU without AMX or AVX512-BF16: oneDNN emulates bf16, many times slower than "
         "fp32 here (precision: auto picks fp32 on such a CPU)";
}

}  // namespace capflow::model
