// The node registry: node kinds (one schema each) and their implementations keyed by device.
// Filled by explicit registration functions (no static initialisers), so what a binary
// contains is visible in one place: see register_engine_sections() here and
// nodes/register_nodes.h.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "graph/node.h"
#include "graph/pipeline_spec.h"

namespace capflow::graph {

using NodeFactory = std::function<std::unique_ptr<Node>(const NodeContext&)>;

class Registry : public SchemaCatalog {
 public:
  // Throws std::logic_error on a duplicate kind, section or (kind, device).
  void add_kind(NodeSchema schema);
  void add_implementation(const std::string& kind, const std::string& device, NodeFactory factory);
  void add_section(SectionSchema schema);
  // The kind the builder inserts on an edge from a node on device `from` to one on `to`
  // (graph/device_transfer.h); the kind must be registered. Throws on a duplicate pair.
  void add_transfer(const std::string& from, const std::string& to, const std::string& kind);
  // A condition a pipeline's `when:` may name; throws std::logic_error on a duplicate name.
  void add_condition(MachineCondition condition);
  // Why `device` has no implementations in this build (appended to validation's message).
  void add_device_note(const std::string& device, std::string note);

  // Creates the node of `context.spec`; ConfigError (naming the node and where it was written)
  // when the factory rejects its arguments or the implementation is missing.
  std::unique_ptr<Node> create(const NodeContext& context) const;

  const NodeSchema* node_schema(const std::string& kind) const override;
  std::vector<std::string> kinds() const override;
  std::vector<std::string> devices(const std::string& kind) const override;
  const SectionSchema* section_schema(const std::string& name) const override;
  std::vector<std::string> sections() const override;
  std::string transfer_kind(const std::string& from, const std::string& to) const override;
  std::string device_note(const std::string& device) const override;
  std::vector<MachineCondition> conditions() const override;

 private:
  std::map<std::string, NodeSchema> kinds_;
  // kind -> device -> factory
  std::map<std::string, std::map<std::string, NodeFactory>> factories_;
  std::map<std::string, SectionSchema> sections_;
  std::map<std::pair<std::string, std::string>, std::string> transfers_;  // (from, to) -> kind
  std::map<std::string, std::string> device_notes_;
  std::map<std::string, MachineCondition> conditions_;
};

// Registers a kind and its `device` implementation T, constructed from the NodeContext: the
// usual shape of a node family's registration function.
template <class T>
void add_node(Registry& registry, NodeSchema schema, const std::string& device = "cpu") {
  const std::string kind = schema.kind;
  registry.add_kind(std::move(schema));
  registry.add_implementation(
      kind, device, [](const NodeContext& context) { return std::make_unique<T>(context); });
}

// The sections the engine itself reads: `resources` (threads, max_in_flight, numa).
void register_engine_sections(Registry& registry);

}  // namespace capflow::graph
