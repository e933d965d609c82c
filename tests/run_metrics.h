// Reading a run folder's metrics.jsonl in the integration tests (header-only: nlohmann-json).
#pragma once

#include <map>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/test_support.h"

namespace capflow::testing {

// step -> loss, from RUN_DIR/metrics.jsonl.
inline std::map<int, double> losses(const std::string& run_dir) {
  std::map<int, double> out;
  std::istringstream in(read_text(run_dir + "/metrics.jsonl"));
  for (std::string line; std::getline(in, line);) {
    const auto m = nlohmann::json::parse(line);
    if (m.contains("loss")) out[m.at("step").get<int>()] = m.at("loss").get<double>();
  }
  return out;
}

}  // namespace capflow::testing
