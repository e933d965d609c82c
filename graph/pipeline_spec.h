// A pipeline file (YAML) turned into a validated, resolved spec. Validation checks the whole
// file against the schemas and reports every problem in one run, each with
// file:line:column; `--set dotted.key=value` overrides are applied before validation.
// Nothing here knows what the nodes do.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "graph/schema.h"

namespace capflow::graph {

// 1-based line and column; line 0 = not from a file (for example a --set override).
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
};
// "file:line:column", or just `file` when line is 0.
std::string format_location(const Location& where);

struct Diagnostic {
  Location where;
  std::string message;
};

// Collected problems. throw_if_any() throws one ConfigError whose message lists every
// problem, one per line, as "file:line:column: message", in file order.
class Diagnostics {
 public:
  void add(Location where, std::string message);
  bool empty() const { return items_.empty(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  std::string format() const;
  void throw_if_any() const;

 private:
  std::vector<Diagnostic> items_;
};

// A validated argument value. Integers stay integers; kFloat arguments are stored as double
// even when written as integers.
using ArgValue =
    std::variant<std::monostate, bool, std::int64_t, double, std::string, std::vector<std::int64_t>,
                 std::vector<double>, std::vector<std::string>>;

// The resolved arguments of a node or a section: every argument of its schema is present
// (defaults filled in), each value checked against its type. Accessors throw ConfigError
// naming the owner when asked for an argument the schema lacks or a type it does not have:
// those are programming errors of a node adapter, not user errors.
class Args {
 public:
  Args() = default;
  explicit Args(std::string owner) : owner_(std::move(owner)) {}

  void set(const std::string& name, ArgValue value, Location where);

  const std::string& owner() const { return owner_; }  // "node 'decode'", "section 'data'"
  bool contains(const std::string& name) const { return values_.count(name) != 0; }
  bool is_null(const std::string& name) const;

  bool get_bool(const std::string& name) const;
  std::int64_t get_int(const std::string& name) const;  // kIntOrAuto: 0 means auto
  double get_float(const std::string& name) const;      // accepts ints
  const std::string& get_string(const std::string& name) const;
  std::vector<std::int64_t> get_int_list(const std::string& name) const;
  std::vector<double> get_float_list(const std::string& name) const;
  std::vector<std::string> get_string_list(const std::string& name) const;

  // Where the value was written; for a default, where its node or section was written.
  Location where(const std::string& name) const;
  const std::map<std::string, ArgValue>& values() const { return values_; }

 private:
  const ArgValue& value(const std::string& name) const;
  std::string owner_;
  std::map<std::string, ArgValue> values_;
  std::map<std::string, Location> where_;
};

// concurrency: serial (1), a count, or auto (as many as the thread budget allows).
struct Concurrency {
  int count = 1;
  bool automatic = false;
};

struct NodeSpec {
  std::string name;
  std::string kind;
  std::string device = "cpu";
  Concurrency concurrency;
  Args args;
  Location where;                      // where the node's name was written under `nodes:`
  const NodeSchema* schema = nullptr;  // owned by the catalog
};

struct PipelineSpec {
  std::string file;
  std::uint64_t seed = 0;
  std::map<std::string, Args> sections;  // every section of the catalog, defaults filled
  std::vector<NodeSpec> nodes;           // in the order of `edges`
  std::string resolved_yaml;             // the resolved configuration, for RUN_DIR/config.yaml
  // The `when:` conditions that held on this machine, in file order, each as
  // "NAME: key=value, key=value": their overrides are in the values above.
  std::vector<std::string> conditions_applied;

  const Args& section(const std::string& name) const;   // throws ConfigError when absent
  const NodeSpec* node(const std::string& name) const;  // nullptr when absent
};

// A fact about the machine that a pipeline may adapt to. A pipeline's top-level `when:` maps a
// condition's name to dotted-key overrides (`when: {NAME: {nodes.batch.size: 16}}`), applied
// where holds() is true, before --set overrides (which win). Where it does not hold, the
// overrides are still checked: a mistake in them is an error on every machine.
struct MachineCondition {
  std::string name;
  std::string doc;  // what holds, for messages and the reference
  std::function<bool()> holds;
};

// What validation needs to know about the node kinds and sections; the registry is one.
class SchemaCatalog {
 public:
  virtual ~SchemaCatalog() = default;
  virtual const NodeSchema* node_schema(const std::string& kind) const = 0;
  virtual std::vector<std::string> kinds() const = 0;                           // sorted
  virtual std::vector<std::string> devices(const std::string& kind) const = 0;  // sorted
  virtual const SectionSchema* section_schema(const std::string& name) const = 0;
  virtual std::vector<std::string> sections() const = 0;  // sorted
  // The conditions a pipeline's `when:` may name, sorted by name.
  virtual std::vector<MachineCondition> conditions() const { return {}; }
  // The node kind inserted on an edge from a node on device `from` to one on device `to`
  // (graph/device_transfer.h); empty: none.
  virtual std::string transfer_kind(const std::string& /*from*/, const std::string& /*to*/) const {
    return {};
  }
  // Said after "kind K has no 'DEVICE' implementation in this build": why, and how to get a
  // build that has one (for example a build without CUDA); empty: nothing to add.
  virtual std::string device_note(const std::string& /*device*/) const { return {}; }
};

// Parses and validates. `overrides` are "dotted.key=value" strings (value in YAML syntax:
// `4`, `data/x`, `[224, 224]`), for example "data.root=DIR", "nodes.batch.size=64",
// "resources.threads=2", "seed=7". Throws ConfigError listing every problem.
PipelineSpec parse_pipeline(const std::string& yaml_text, const std::string& file_name,
                            const std::vector<std::string>& overrides,
                            const SchemaCatalog& catalog);
// Reads the file first; a missing or unreadable file is a ConfigError naming it.
PipelineSpec load_pipeline(const std::string& path, const std::vector<std::string>& overrides,
                           const SchemaCatalog& catalog);

}  // namespace capflow::graph
