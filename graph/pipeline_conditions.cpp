// A pipeline's top-level `when:`: overrides that apply where a fact about the machine holds
// (MachineCondition in pipeline_spec.h), taken out of the tree and checked here.
#include <algorithm>

#include "graph/pipeline_internal.h"

namespace capflow::graph::detail {

namespace {

std::vector<std::string> condition_names(const std::vector<MachineCondition>& known) {
  std::vector<std::string> names;
  for (const MachineCondition& c : known) names.push_back(c.name);
  return names;
}

const MachineCondition* find_condition(const std::vector<MachineCondition>& known,
                                       const std::string& name) {
  for (const MachineCondition& c : known) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// One `NAME: {dotted.key: value, ...}` entry checked; none when it has a problem.
std::optional<ConditionalOverrides::Condition> check_condition(
    const Entry& e, const std::vector<MachineCondition>& known, Diagnostics& diags) {
  const MachineCondition* condition = find_condition(known, e.key);
  if (condition == nullptr) {
    const std::vector<std::string> names = condition_names(known);
    diags.add(e.key_where,
              "when: unknown condition " + quote(e.key) + did_you_mean(e.key, names) +
                  "; known conditions: " + (names.empty() ? std::string("none") : join(names)));
    return std::nullopt;
  }
  if (!e.value.is_map()) {
    diags.add(e.value.where, "when: " + quote(e.key) +
                                 " must be a mapping of dotted.key to value (for example "
                                 "nodes.batch.size: 16), got " +
                                 describe(e.value));
    return std::nullopt;
  }
  ConditionalOverrides::Condition out;
  out.name = e.key;
  out.holds = condition->holds && condition->holds();
  for (const Entry& o : e.value.entries) {
    if (dotted_path(o.key, o.key_where, diags)) out.overrides.push_back(o);
  }
  return out;
}

// A value as one line of flow YAML, for the log: 16, [160, 160], {a: 1}.
std::string flow_text(const Tree& v) {
  switch (v.kind) {
    case Tree::Kind::kNull:
      return "null";
    case Tree::Kind::kScalar:
      return v.plain ? v.text : "\"" + v.text + "\"";
    case Tree::Kind::kSeq: {
      std::vector<std::string> items;
      for (const Tree& item : v.items) items.push_back(flow_text(item));
      return "[" + join(items) + "]";
    }
    case Tree::Kind::kMap: {
      std::vector<std::string> items;
      for (const Entry& e : v.entries) items.push_back(e.key + ": " + flow_text(e.value));
      return "{" + join(items) + "}";
    }
  }
  return "?";
}

}  // namespace

ConditionalOverrides take_conditions(Tree& root, const SchemaCatalog& catalog, Diagnostics& diags) {
  ConditionalOverrides out;
  const auto it = std::find_if(root.entries.begin(), root.entries.end(),
                               [](const Entry& e) { return e.key == "when"; });
  if (it == root.entries.end()) return out;
  const Entry when = std::move(*it);
  root.entries.erase(it);
  if (when.value.kind == Tree::Kind::kNull) return out;
  if (!when.value.is_map()) {
    diags.add(when.value.where, "'when' must be a mapping of condition name to overrides, got " +
                                    describe(when.value));
    return out;
  }
  const std::vector<MachineCondition> known = catalog.conditions();
  for (const Entry& e : when.value.entries) {
    if (auto condition = check_condition(e, known, diags)) out.conditions.push_back(*condition);
  }
  return out;
}

void ConditionalOverrides::merge(Tree& root, const Condition& only, Diagnostics& diags) const {
  for (const Entry& o : only.overrides) set_dotted(root, o.key, o.value, o.key_where, diags);
}

void ConditionalOverrides::merge_holding(Tree& root, Diagnostics& diags) const {
  for (const Condition& c : conditions) {
    if (c.holds) merge(root, c, diags);
  }
}

std::vector<std::string> ConditionalOverrides::applied() const {
  std::vector<std::string> out;
  for (const Condition& c : conditions) {
    if (!c.holds) continue;
    std::vector<std::string> sets;
    for (const Entry& o : c.overrides) sets.push_back(o.key + "=" + flow_text(o.value));
    out.push_back(c.name + ": " + join(sets));
  }
  return out;
}

void check_conditions_elsewhere(const Tree& base, const ConditionalOverrides& conditional,
                                const std::vector<std::string>& overrides,
                                const SchemaCatalog& catalog, const std::string& file,
                                Diagnostics& diags) {
  for (const ConditionalOverrides::Condition& c : conditional.conditions) {
    if (c.holds) continue;
    Tree tree = base;
    Diagnostics found;
    WalkBudget budget;
    conditional.merge_holding(tree, found);
    conditional.merge(tree, c, found);
    for (const std::string& o : overrides) apply_override(tree, o, found, budget);
    insert_device_transfers(tree, catalog);
    validate_tree(tree, catalog, found, file);
    for (const Diagnostic& d : found.items()) {
      const bool known =
          std::any_of(diags.items().begin(), diags.items().end(), [&](const auto& k) {
            return k.message == d.message && format_location(k.where) == format_location(d.where);
          });
      if (!known)
        diags.add(d.where,
                  "when " + quote(c.name) + " (it does not hold on this machine): " + d.message);
    }
  }
}

}  // namespace capflow::graph::detail
