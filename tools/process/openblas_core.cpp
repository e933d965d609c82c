// The choice of OpenBLAS's kernels (see openblas_core.h).
#include "tools/process/openblas_core.h"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <vector>

#include "graph/cpu_info.h"

namespace capflow::process {

namespace {

bool has_all(const std::string& flags, const std::vector<std::string>& wanted) {
  return std::all_of(wanted.begin(), wanted.end(),
                     [&](const std::string& f) { return graph::flags_contain(flags, f); });
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string openblas_core_for_flags(const std::string& flags) {
  if (has_all(flags, {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"}))
    return "SkylakeX";
  if (has_all(flags, {"avx2", "fma"})) return "Haswell";
  return "";
}

bool openblas_core_predates_avx2(const std::string& core) {
  static const std::vector<std::string> older = {
      "unknown",   "katmai", "coppermine", "northwood",  "prescott",    "banias",    "atom",
      "core2",     "penryn", "dunnington", "nehalem",    "sandybridge", "opteron",   "opteron_sse3",
      "barcelona", "bobcat", "bulldozer",  "piledriver", "steamroller", "excavator", "nano"};
  return std::find(older.begin(), older.end(), lower(core)) != older.end();
}

std::string openblas_core_in_use() {
  using CoreName = char* (*)();
  const auto corename = reinterpret_cast<CoreName>(::dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  const char* name = corename != nullptr ? corename() : nullptr;
  return name != nullptr ? name : "";
}

std::string openblas_core_to_request(const std::string& in_use) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return "";
  if (in_use.empty() || !openblas_core_predates_avx2(in_use)) return "";
  return openblas_core_for_flags(graph::cpuinfo_value("flags"));
}

}  // namespace capflow::process
