// Facts about the CPU from /proc/cpuinfo (Linux; empty or false where it cannot be read):
// header-only, so that libraries without oneTBB (the model's precision choice) read them too.
#pragma once

#include <fstream>
#include <string>

namespace capflow::graph {

// The value of the first "name : value" line of /proc/cpuinfo whose name starts with `name`.
inline std::string cpuinfo_value(const std::string& name) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto first = line.find_first_not_of(' ', colon + 1);
    return first == std::string::npos ? std::string() : line.substr(first);
  }
  return {};
}

// The CPU's model name ("Intel(R) Xeon(R) Processor").
inline std::string read_cpu_model() { return cpuinfo_value("model name"); }

// Whether the space-separated `flags` (a /proc/cpuinfo "flags" value) hold `flag` whole.
inline bool flags_contain(const std::string& flags, const std::string& flag) {
  return (" " + flags + " ").find(" " + flag + " ") != std::string::npos;
}

// Whether the CPU lists `flag` (e.g. "avx512_bf16") among its flags.
inline bool cpu_has_flag(const std::string& flag) {
  return flags_contain(cpuinfo_value("flags"), flag);
}

}  // namespace capflow::graph
