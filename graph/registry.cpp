// The node registry: schemas by kind, factories by (kind, device), section schemas.
#include "graph/registry.h"

#include <stdexcept>

#include "graph/errors.h"

namespace capflow::graph {

void Registry::add_kind(NodeSchema schema) {
  const std::string kind = schema.kind;
  if (!kinds_.emplace(kind, std::move(schema)).second)
    throw std::logic_error("node kind registered twice: " + kind);
}

void Registry::add_implementation(const std::string& kind, const std::string& device,
                                  NodeFactory factory) {
  if (!kinds_.count(kind))
    throw std::logic_error("implementation of an unregistered kind: " + kind);
  if (!factories_[kind].emplace(device, std::move(factory)).second)
    throw std::logic_error("node kind '" + kind + "' registered twice for device " + device);
}

void Registry::add_section(SectionSchema schema) {
  const std::string name = schema.name;
  if (!sections_.emplace(name, std::move(schema)).second)
    throw std::logic_error("section registered twice: " + name);
}

void Registry::add_transfer(const std::string& from, const std::string& to,
                            const std::string& kind) {
  if (!kinds_.count(kind)) throw std::logic_error("transfer of an unregistered kind: " + kind);
  if (!transfers_.emplace(std::make_pair(from, to), kind).second)
    throw std::logic_error("transfer " + from + " -> " + to + " registered twice");
}

void Registry::add_device_note(const std::string& device, std::string note) {
  device_notes_[device] = std::move(note);
}

void Registry::add_condition(MachineCondition condition) {
  const std::string name = condition.name;
  if (!conditions_.emplace(name, std::move(condition)).second)
    throw std::logic_error("condition '" + name + "' registered twice");
}

std::vector<MachineCondition> Registry::conditions() const {
  std::vector<MachineCondition> out;
  for (const auto& [name, condition] : conditions_) out.push_back(condition);
  return out;
}

std::string Registry::transfer_kind(const std::string& from, const std::string& to) const {
  const auto it = transfers_.find(std::make_pair(from, to));
  return it == transfers_.end() ? std::string() : it->second;
}

std::string Registry::device_note(const std::string& device) const {
  const auto it = device_notes_.find(device);
  return it == device_notes_.end() ? std::string() : it->second;
}

std::unique_ptr<Node> Registry::create(const NodeContext& context) const {
  const NodeSpec& spec = *context.spec;
  const std::string where = format_location(spec.where);
  const auto kind = factories_.find(spec.kind);
  if (kind == factories_.end() || !kind->second.count(spec.device))
    throw ConfigError(where + ": node '" + spec.name + "': kind '" + spec.kind + "' has no '" +
                      spec.device + "' implementation in this build" +
                      (device_note(spec.device).empty() ? "" : ": " + device_note(spec.device)));
  try {
    std::unique_ptr<Node> node = kind->second.at(spec.device)(context);
    if (!node) throw std::logic_error("factory returned no node");
    return node;
  } catch (const ConfigError& e) {
    throw ConfigError(where + ": node '" + spec.name + "': " + e.what());
  } catch (const Error& e) {
    throw Error(where + ": node '" + spec.name + "': " + e.what());
  }
}

const NodeSchema* Registry::node_schema(const std::string& kind) const {
  const auto it = kinds_.find(kind);
  return it == kinds_.end() ? nullptr : &it->second;
}

std::vector<std::string> Registry::kinds() const {
  std::vector<std::string> out;
  for (const auto& [kind, schema] : kinds_) out.push_back(kind);
  return out;
}

std::vector<std::string> Registry::devices(const std::string& kind) const {
  std::vector<std::string> out;
  const auto it = factories_.find(kind);
  if (it != factories_.end())
    for (const auto& [device, factory] : it->second) out.push_back(device);
  return out;
}

const SectionSchema* Registry::section_schema(const std::string& name) const {
  const auto it = sections_.find(name);
  return it == sections_.end() ? nullptr : &it->second;
}

std::vector<std::string> Registry::sections() const {
  std::vector<std::string> out;
  for (const auto& [name, schema] : sections_) out.push_back(name);
  return out;
}

void register_engine_sections(Registry& registry) {
  SectionSchema resources;
  resources.name = "resources";
  resources.doc = "the run's share of the machine";
  resources.args = {
      arg_int_or_auto("threads", "auto",
                      "threads for the whole run, shared by oneTBB and LibTorch (auto: the cores "
                      "this process may use)"),
      arg_int("max_in_flight", "4",
              "groups (batches) alive at once; bounds memory: a new one starts when one ends", 1,
              1024),
      arg_int_or_auto(
          "replicas", "1",
          "model replicas training side by side in this process, each on its share of the "
          "threads and on its own batch of the batch node's size; their gradients are averaged "
          "in memory (auto: one per thread)",
          1, 1024),
      arg_choice("numa", "auto", {"auto", "off"},
                 "auto: on a machine with several NUMA nodes, run in an arena bound to one node "
                 "when the threads fit in it"),
  };
  registry.add_section(std::move(resources));
}

}  // namespace capflow::graph
