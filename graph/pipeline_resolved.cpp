// The resolved configuration written back as YAML (config.yaml).
#include <yaml-cpp/yaml.h>

#include <sstream>

#include "graph/pipeline_internal.h"
#include "graph/resolved_conditions.h"

namespace capflow::graph::detail {

// ---------------------------------------------------------------------------------------------
// The resolved configuration as YAML

bool reads_as_non_string(const std::string& s) {
  std::int64_t i = 0;
  double d = 0;
  bool b = false;
  return s.empty() || parse_int(s, &i) || parse_float(s, &d) || parse_bool(s, &b) || s == "auto" ||
         YAML::IsNullString(s);
}

void emit_string(YAML::Emitter& out, const std::string& s) {
  if (reads_as_non_string(s)) out << YAML::DoubleQuoted;
  out << s;
}

void emit_value(YAML::Emitter& out, const ArgSpec& spec, const ArgValue& value) {
  if (std::holds_alternative<std::monostate>(value)) {
    out << YAML::Null;
  } else if (const auto* b = std::get_if<bool>(&value)) {
    out << (*b ? "true" : "false");
  } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
    if (spec.type == ArgType::kIntOrAuto && *i == 0) {
      out << "auto";
    } else {
      out << std::to_string(*i);
    }
  } else if (const auto* d = std::get_if<double>(&value)) {
    out << yaml_double(*d);
  } else if (const auto* s = std::get_if<std::string>(&value)) {
    emit_string(out, *s);
  } else if (const auto* il = std::get_if<std::vector<std::int64_t>>(&value)) {
    out << YAML::Flow << YAML::BeginSeq;
    for (std::int64_t x : *il) out << std::to_string(x);
    out << YAML::EndSeq;
  } else if (const auto* dl = std::get_if<std::vector<double>>(&value)) {
    out << YAML::Flow << YAML::BeginSeq;
    for (double x : *dl) out << yaml_double(x);
    out << YAML::EndSeq;
  } else if (const auto* sl = std::get_if<std::vector<std::string>>(&value)) {
    out << YAML::Flow << YAML::BeginSeq;
    for (const std::string& x : *sl) emit_string(out, x);
    out << YAML::EndSeq;
  }
}

void emit_args(YAML::Emitter& out, const std::vector<ArgSpec>& specs, const Args& args) {
  for (const ArgSpec& spec : specs) {
    const auto it = args.values().find(spec.name);
    if (it == args.values().end()) continue;
    out << YAML::Key << spec.name << YAML::Value;
    emit_value(out, spec, it->second);
  }
}

std::string concurrency_text(const Concurrency& c) {
  if (c.automatic) return "auto";
  if (c.count == 1) return "serial";
  return std::to_string(c.count);
}

// The comment line that names a condition applied (conditions_in_resolved reads it back).
constexpr const char* kWhenPrefix = "# when ";
constexpr const char* kWhenSuffix =
    " (held on the machine that resolved this; in the values below)";

std::string resolved_yaml(const PipelineSpec& spec, const SchemaCatalog& catalog) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "seed" << YAML::Value << std::to_string(spec.seed);
  for (const auto& [name, args] : spec.sections) {
    const SectionSchema* schema = catalog.section_schema(name);
    out << YAML::Key << name << YAML::Value << YAML::BeginMap;
    if (schema != nullptr) emit_args(out, schema->args, args);
    out << YAML::EndMap;
  }
  out << YAML::Key << "nodes" << YAML::Value << YAML::BeginMap;
  for (const NodeSpec& node : spec.nodes) {
    out << YAML::Key << node.name << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "kind" << YAML::Value << node.kind;
    out << YAML::Key << "device" << YAML::Value << node.device;
    out << YAML::Key << "concurrency" << YAML::Value << concurrency_text(node.concurrency);
    if (node.schema != nullptr) emit_args(out, node.schema->args, node.args);
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  out << YAML::Key << "edges" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const NodeSpec& node : spec.nodes) out << node.name;
  out << YAML::EndSeq;
  out << YAML::EndMap;
  std::string head;
  for (const std::string& applied : spec.conditions_applied)
    head += kWhenPrefix + applied + kWhenSuffix + "\n";
  return head + out.c_str() + "\n";
}

}  // namespace capflow::graph::detail

namespace capflow::graph {

std::vector<std::string> conditions_in_resolved(const std::string& resolved_yaml) {
  using detail::kWhenPrefix;
  using detail::kWhenSuffix;
  std::vector<std::string> out;
  std::istringstream in(resolved_yaml);
  std::string line;
  const std::string prefix = kWhenPrefix, suffix = kWhenSuffix;
  while (std::getline(in, line) && line.rfind("#", 0) == 0) {
    if (line.size() > prefix.size() + suffix.size() && line.rfind(prefix, 0) == 0 &&
        line.compare(line.size() - suffix.size(), suffix.size(), suffix) == 0)
      out.push_back(line.substr(prefix.size(), line.size() - prefix.size() - suffix.size()));
  }
  return out;
}

}  // namespace capflow::graph
