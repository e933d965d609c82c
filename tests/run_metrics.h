// Reading a run folder's metrics.jsonl in the integration tests (header-only: nlohmann-json).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/test_support.h"

namespace capflow::testing {

// step -> value of every row that reports `name` ("loss", "eval.train_seconds", …), from
// RUN_DIR/metrics.jsonl (a step reported twice keeps its last value).
inline std::map<int, double> metric(const std::string& run_dir, const std::string& name) {
  std::map<int, double> out;
  std::istringstream in(read_text(run_dir + "/metrics.jsonl"));
  for (std::string line; std::getline(in, line);) {
    const auto m = nlohmann::json::parse(line);
    if (m.contains(name)) out[m.at("step").get<int>()] = m.at(name).get<double>();
  }
  return out;
}

// step -> loss, from RUN_DIR/metrics.jsonl.
inline std::map<int, double> losses(const std::string& run_dir) { return metric(run_dir, "loss"); }

}  // namespace capflow::testing
