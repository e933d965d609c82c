// Running a pipeline the way `capflow run` does, for the commands that run one (run, demo):
// validation, datasets on demand, the run folder, progress, metrics, summary, the table.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace capflow::cli {

struct PipelineRunRequest {
  std::string pipeline;   // file to read, or the name shown for `yaml_text`
  std::string yaml_text;  // when set: the pipeline itself (an embedded one)
  std::vector<std::string> sets;
  std::string out;  // run folder ("" = runs/<name>-<date>-<time>, or the resumed run's)
  std::string trace, dot;
  std::string resume;  // checkpoint, checkpoints folder or run folder ("" = a fresh run)
  bool quiet = false;
};

// Runs it and returns summary.json's content. Throws like run_pipeline; after a clean stop on
// SIGINT/SIGTERM, throws Interrupted (exit 130/143) once the summary is written.
nlohmann::json run_pipeline_request(const PipelineRunRequest& request);

// How an evaluation decoded, from its "beam" (summary.json's eval): "greedy" or "beam N".
inline std::string decoding_name(const nlohmann::json& eval) {
  const int beam = static_cast<int>(eval.value("beam", 1.0));
  return beam > 1 ? "beam " + std::to_string(beam) : std::string("greedy");
}

}  // namespace capflow::cli
