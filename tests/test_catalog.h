// A hand-made SchemaCatalog for tests of pipeline files and their documentation: map-based
// lookups, plus the shared example (files -> decode -> augment -> batch -> sink, sections
// data and resources) that each test file extends with what it needs.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "graph/pipeline_spec.h"
#include "graph/schema.h"

namespace capflow::testing {

class MapCatalog : public graph::SchemaCatalog {
 public:
  // Adds or replaces.
  void add(const graph::NodeSchema& s, std::vector<std::string> devices);
  void add_section(const graph::SectionSchema& s);
  // The schema of a kind already added, to adjust it; throws std::out_of_range otherwise.
  graph::NodeSchema& mutable_node(const std::string& kind);

  const graph::NodeSchema* node_schema(const std::string& kind) const override;
  std::vector<std::string> kinds() const override;
  std::vector<std::string> devices(const std::string& kind) const override;
  const graph::SectionSchema* section_schema(const std::string& name) const override;
  std::vector<std::string> sections() const override;
  void add_condition(graph::MachineCondition c) { conditions_.push_back(std::move(c)); }
  std::vector<graph::MachineCondition> conditions() const override { return conditions_; }

  const std::map<std::string, graph::NodeSchema>& all_nodes() const { return nodes_; }
  const std::map<std::string, graph::SectionSchema>& all_sections() const { return sections_; }

 private:
  std::map<std::string, graph::NodeSchema> nodes_;
  std::map<std::string, std::vector<std::string>> devices_;
  std::map<std::string, graph::SectionSchema> sections_;
  std::vector<graph::MachineCondition> conditions_;
};

// Adds the shared example: kinds files (no arguments), decode (max_side; cpu and cuda,
// concurrency auto), augment (size, noise, mode), batch (required size; ordered) and sink;
// sections data (root, labels, val_fraction) and resources (threads, max_in_flight).
void add_example_schemas(MapCatalog& c);

}  // namespace capflow::testing
