// What a resolved configuration (PipelineSpec::resolved_yaml, a run's config.yaml) says about
// the `when:` conditions that held where it was resolved (pipeline_resolved.cpp writes them as
// its first comment lines).
#pragma once

#include <string>
#include <vector>

namespace capflow::graph {

// PipelineSpec::conditions_applied as it was when `resolved_yaml` was resolved.
std::vector<std::string> conditions_in_resolved(const std::string& resolved_yaml);

}  // namespace capflow::graph
