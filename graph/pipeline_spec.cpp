// Pipeline files: YAML text (plus --set overrides) checked against the schema catalog and
// turned into a PipelineSpec. Every problem found is collected with its file:line:column and
// reported in one ConfigError; the resolved configuration is written back as YAML.
#include "graph/pipeline_spec.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "graph/device_transfer.h"
#include "graph/errors.h"
#include "graph/pipeline_internal.h"
#include "graph/yaml_guard.h"

namespace capflow::graph {

// ---------------------------------------------------------------------------------------------
// Locations and diagnostics

std::string format_location(const Location& where) {
  if (where.line == 0) return where.file;
  return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
}

void Diagnostics::add(Location where, std::string message) {
  items_.push_back(Diagnostic{std::move(where), std::move(message)});
}

namespace {

// Overrides (line 0) first, then each file in order of first appearance, then line, column.
std::vector<Diagnostic> sorted_items(const std::vector<Diagnostic>& items) {
  std::map<std::string, std::size_t> file_rank;
  for (const Diagnostic& d : items) {
    if (file_rank.count(d.where.file) == 0) {
      const std::size_t rank = file_rank.size();
      file_rank[d.where.file] = rank;
    }
  }
  std::vector<Diagnostic> sorted = items;
  std::stable_sort(sorted.begin(), sorted.end(), [&](const Diagnostic& a, const Diagnostic& b) {
    const auto key = [&](const Diagnostic& d) {
      return std::make_tuple(d.where.line == 0 ? 0 : 1, file_rank.at(d.where.file), d.where.line,
                             d.where.column);
    };
    return key(a) < key(b);
  });
  return sorted;
}

std::string format_line(const Diagnostic& d) {
  const std::string where = format_location(d.where);
  return where.empty() ? d.message : where + ": " + d.message;
}

}  // namespace

std::string Diagnostics::format() const {
  std::string out;
  for (const Diagnostic& d : sorted_items(items_)) {
    if (!out.empty()) out += '\n';
    out += format_line(d);
  }
  return out;
}

void Diagnostics::throw_if_any() const {
  if (items_.empty()) return;
  if (items_.size() == 1) throw ConfigError(format_line(items_.front()));
  std::string file;
  for (const Diagnostic& d : sorted_items(items_)) {
    if (d.where.line != 0) {
      file = d.where.file;
      break;
    }
  }
  std::string header = std::to_string(items_.size()) + " problems";
  if (!file.empty()) header += " in " + file;
  throw ConfigError(header + ":\n" + format());
}

// ---------------------------------------------------------------------------------------------
// Args and PipelineSpec accessors

namespace {

const char* value_kind_name(const ArgValue& v) {
  static const char* const kNames[] = {"null",   "bool",     "int",        "float",
                                       "string", "int list", "float list", "string list"};
  return kNames[v.index()];
}

}  // namespace

void Args::set(const std::string& name, ArgValue value, Location where) {
  values_[name] = std::move(value);
  where_[name] = std::move(where);
}

const ArgValue& Args::value(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) throw ConfigError(owner_ + ": no argument '" + name + "'");
  return it->second;
}

namespace {

[[noreturn]] void wrong_type(const std::string& owner, const std::string& name, const ArgValue& v,
                             const char* wanted) {
  throw ConfigError(owner + ": argument '" + name + "' holds " + value_kind_name(v) + ", not " +
                    wanted);
}

}  // namespace

bool Args::is_null(const std::string& name) const {
  return std::holds_alternative<std::monostate>(value(name));
}

bool Args::get_bool(const std::string& name) const {
  const ArgValue& v = value(name);
  if (const auto* b = std::get_if<bool>(&v)) return *b;
  wrong_type(owner_, name, v, "bool");
}

std::int64_t Args::get_int(const std::string& name) const {
  const ArgValue& v = value(name);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return *i;
  wrong_type(owner_, name, v, "int");
}

double Args::get_float(const std::string& name) const {
  const ArgValue& v = value(name);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  wrong_type(owner_, name, v, "float");
}

const std::string& Args::get_string(const std::string& name) const {
  const ArgValue& v = value(name);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  wrong_type(owner_, name, v, "string");
}

std::vector<std::int64_t> Args::get_int_list(const std::string& name) const {
  const ArgValue& v = value(name);
  if (const auto* l = std::get_if<std::vector<std::int64_t>>(&v)) return *l;
  wrong_type(owner_, name, v, "int list");
}

std::vector<double> Args::get_float_list(const std::string& name) const {
  const ArgValue& v = value(name);
  if (const auto* l = std::get_if<std::vector<double>>(&v)) return *l;
  if (const auto* l = std::get_if<std::vector<std::int64_t>>(&v)) {
    return std::vector<double>(l->begin(), l->end());
  }
  wrong_type(owner_, name, v, "float list");
}

std::vector<std::string> Args::get_string_list(const std::string& name) const {
  const ArgValue& v = value(name);
  if (const auto* l = std::get_if<std::vector<std::string>>(&v)) return *l;
  wrong_type(owner_, name, v, "string list");
}

Location Args::where(const std::string& name) const {
  const auto it = where_.find(name);
  if (it == where_.end()) throw ConfigError(owner_ + ": no argument '" + name + "'");
  return it->second;
}

const Args& PipelineSpec::section(const std::string& name) const {
  const auto it = sections.find(name);
  if (it == sections.end()) {
    throw ConfigError("pipeline '" + file + "' has no section '" + name + "'");
  }
  return it->second;
}

const NodeSpec* PipelineSpec::node(const std::string& name) const {
  for (const NodeSpec& n : nodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Entry points

// The document of `yaml_text`; throws ConfigError, located, when the text or yaml-cpp
// refuses it.
YAML::Node load_document(const std::string& yaml_text, const std::string& file_name) {
  Diagnostics diags;
  if (const auto problem = check_yaml_text(yaml_text)) {
    diags.add(Location{file_name, problem->line, problem->column}, problem->message);
    diags.throw_if_any();
  }
  const auto located = [&](const YAML::Mark& mark) {
    return mark.line < 0 ? Location{file_name, 0, 0}
                         : Location{file_name, mark.line + 1, mark.column + 1};
  };
  try {
    return YAML::Load(yaml_text);
  } catch (const YAML::DeepRecursion& e) {
    diags.add(located(e.mark),
              "invalid YAML: nested more than " + std::to_string(e.depth()) + " levels deep");
  } catch (const YAML::Exception& e) {
    diags.add(located(e.mark), "invalid YAML: " + e.msg);
  }
  diags.throw_if_any();
  return {};
}

PipelineSpec parse_pipeline(const std::string& yaml_text, const std::string& file_name,
                            const std::vector<std::string>& overrides,
                            const SchemaCatalog& catalog) {
  using namespace detail;
  const YAML::Node doc = load_document(yaml_text, file_name);
  Diagnostics diags;
  const Locator locate = file_locator(file_name);
  const Location top{file_name, 1, 1};
  if (!doc.IsDefined() || doc.IsNull()) {
    diags.add(top, "the pipeline file is empty; expected a mapping with at least 'nodes'");
    diags.throw_if_any();
  }
  WalkBudget budget;
  Tree root = to_tree(doc, Walk{locate, diags, budget}, top);
  if (budget.exhausted) diags.throw_if_any();
  if (!doc.IsMap()) {
    diags.add(
        root.where,
        "the top level must be a mapping (seed, nodes, edges and sections), got " + describe(root));
    diags.throw_if_any();
  }
  const ConditionalOverrides conditional = take_conditions(root, catalog, diags);
  const Tree base = root;
  conditional.merge_holding(root, diags);
  for (const std::string& o : overrides) apply_override(root, o, diags, budget);
  if (budget.exhausted) diags.throw_if_any();
  insert_device_transfers(root, catalog);

  PipelineSpec spec = validate_tree(root, catalog, diags, file_name);
  check_conditions_elsewhere(base, conditional, overrides, catalog, file_name, diags);
  diags.throw_if_any();
  spec.conditions_applied = conditional.applied();
  spec.resolved_yaml = resolved_yaml(spec, catalog);
  return spec;
}

PipelineSpec load_pipeline(const std::string& path, const std::vector<std::string>& overrides,
                           const SchemaCatalog& catalog) {
  return parse_pipeline(read_bounded(path, YamlLimits::kMaxBytes), path, overrides, catalog);
}

}  // namespace capflow::graph
