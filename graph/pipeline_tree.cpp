// The pipeline document as a located tree, and --set overrides merged into it.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <optional>

#include "graph/pipeline_internal.h"
#include "graph/yaml_guard.h"

namespace capflow::graph::detail {

// ---------------------------------------------------------------------------------------------
// The YAML document as a tree that remembers where each key and value was written (in the
// file, or in a --set override), so overrides can be merged before validation.

const Entry* Tree::find(const std::string& key) const {
  for (const Entry& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

Entry* Tree::find(const std::string& key) {
  for (Entry& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

// How a value is shown in a message: 'abc', "abc" (quoted), null, a list, a mapping.
std::string describe(const Tree& v) {
  switch (v.kind) {
    case Tree::Kind::kNull:
      return "null";
    case Tree::Kind::kScalar:
      return v.plain ? quote(v.text) : "\"" + shortened(v.text) + "\" (a quoted string)";
    case Tree::Kind::kSeq:
      return "a list";
    case Tree::Kind::kMap:
      return "a mapping";
  }
  return "?";
}

Locator file_locator(const std::string& file) {
  return [file](const YAML::Mark& m, const Location& fallback) {
    if (m.line < 0 || m.column < 0) return fallback;
    return Location{file, m.line + 1, m.column + 1};
  };
}

Locator fixed_locator(const Location& where) {
  return [where](const YAML::Mark&, const Location&) { return where; };
}

// The limit `node` would break, or empty.
std::string budget_problem(const YAML::Node& node, WalkBudget& budget) {
  const std::string expanded = " (an alias counts as often as it is used)";
  if (++budget.values > YamlLimits::kMaxValues)
    return "more than " + std::to_string(YamlLimits::kMaxValues) + " values" + expanded;
  if (node.IsScalar()) budget.text_bytes += node.Scalar().size();
  if (budget.text_bytes > YamlLimits::kMaxTextBytes)
    return "more than " + std::to_string(YamlLimits::kMaxTextBytes) + " bytes of text" + expanded;
  if (!node.IsSequence() && !node.IsMap()) return "";
  for (const YAML::Node& outer : budget.path) {
    if (outer.is(node)) return "recursive alias: this value contains itself";
  }
  if (budget.path.size() >= static_cast<std::size_t>(YamlLimits::kMaxDepth))
    return "nested more than " + std::to_string(YamlLimits::kMaxDepth) + " levels deep";
  if (node.IsMap() && node.size() > YamlLimits::kMaxKeys)
    return "a mapping with more than " + std::to_string(YamlLimits::kMaxKeys) + " keys";
  return "";
}

Tree to_tree(const YAML::Node& node, const Walk& walk, const Location& fallback);

void seq_tree(const YAML::Node& node, const Walk& walk, Tree& t) {
  t.kind = Tree::Kind::kSeq;
  for (const YAML::Node& item : node) {
    t.items.push_back(to_tree(item, walk, t.where));
    if (walk.budget.exhausted) return;
  }
}

void map_tree(const YAML::Node& node, const Walk& walk, Tree& t) {
  t.kind = Tree::Kind::kMap;
  for (const auto& pair : node) {
    const YAML::Node key = pair.first;
    const Location key_where = walk.locate(key.Mark(), t.where);
    if (key.IsMap() || key.IsSequence()) {
      walk.diags.add(key_where, "keys must be plain names, got " +
                                    std::string(key.IsMap() ? "a mapping" : "a list"));
      continue;
    }
    const std::string name = key.IsScalar() ? key.Scalar() : std::string();
    if (const Entry* first = t.find(name)) {
      walk.diags.add(key_where, "duplicate key " + quote(name) + " (first written at " +
                                    format_location(first->key_where) + ")");
      continue;
    }
    // An empty value (`key:`) is marked where the next token starts: point at the key.
    const YAML::Node value = pair.second;
    const bool empty_value = value.IsNull() && value.Mark().line != key.Mark().line;
    Tree v = to_tree(value, walk, key_where);
    if (walk.budget.exhausted) return;
    if (empty_value) v.where = key_where;
    t.entries.push_back(Entry{name, key_where, std::move(v)});
  }
}

Tree to_tree(const YAML::Node& node, const Walk& walk, const Location& fallback) {
  Tree t;
  t.where = walk.locate(node.Mark(), fallback);
  const std::string problem = budget_problem(node, walk.budget);
  if (!problem.empty()) {
    walk.diags.add(t.where, problem);
    walk.budget.exhausted = true;
    return t;
  }
  walk.budget.path.push_back(node);
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      t.kind = Tree::Kind::kScalar;
      t.text = node.Scalar();
      t.plain = node.Tag() == "?";
      break;
    case YAML::NodeType::Sequence:
      seq_tree(node, walk, t);
      break;
    case YAML::NodeType::Map:
      map_tree(node, walk, t);
      break;
    default:
      t.kind = Tree::Kind::kNull;
      break;
  }
  walk.budget.path.pop_back();
  return t;
}

// The value of a --set override as a tree; none (and a diagnostic) when it is not YAML or
// breaks a limit.
std::optional<Tree> override_value(const std::string& text, const Location& where,
                                   Diagnostics& diags, WalkBudget& budget) {
  if (const auto problem = check_yaml_text(text)) {
    diags.add(where, "value, column " + std::to_string(problem->column) + ": " + problem->message);
    return std::nullopt;
  }
  YAML::Node parsed;
  try {
    parsed = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    diags.add(where, "cannot parse value " + quote(text) + " as YAML: " + e.msg);
    return std::nullopt;
  }
  const Locator locate = fixed_locator(where);
  Tree value = to_tree(parsed, Walk{locate, diags, budget}, where);
  if (budget.exhausted) return std::nullopt;
  return value;
}

// Applies one `dotted.key=value` override to the document's tree.
void apply_override(Tree& root, const std::string& text, Diagnostics& diags, WalkBudget& budget) {
  const Location where{"--set " + shortened(text), 0, 0};
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos) {
    diags.add(where, "expected dotted.key=value (for example data.root=DIR)");
    return;
  }
  std::string key = text.substr(0, eq);
  const auto not_space = [](char c) { return c != ' ' && c != '\t'; };
  key.erase(key.begin(), std::find_if(key.begin(), key.end(), not_space));
  key.erase(std::find_if(key.rbegin(), key.rend(), not_space).base(), key.end());
  if (key.empty()) {
    diags.add(where, "empty key; expected dotted.key=value (for example data.root=DIR)");
    return;
  }
  if (!dotted_path(key, where, diags)) return;
  std::optional<Tree> parsed = override_value(text.substr(eq + 1), where, diags, budget);
  if (parsed) set_dotted(root, key, std::move(*parsed), where, diags);
}

std::optional<std::vector<std::string>> dotted_path(const std::string& key, const Location& where,
                                                    Diagnostics& diags) {
  std::vector<std::string> path;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = key.find('.', start);
    path.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (path.back().empty()) {
      diags.add(where, "empty name in key " + quote(key));
      return std::nullopt;
    }
    if (dot == std::string::npos) return path;
    start = dot + 1;
  }
}

void set_dotted(Tree& root, const std::string& key, Tree value, const Location& where,
                Diagnostics& diags) {
  const std::optional<std::vector<std::string>> path = dotted_path(key, where, diags);
  if (!path) return;
  Tree* current = &root;
  std::string walked;
  for (std::size_t i = 0; i < path->size(); ++i) {
    const std::string& part = (*path)[i];
    if (current->kind == Tree::Kind::kNull) current->kind = Tree::Kind::kMap;  // `key:` empty
    if (!current->is_map()) {
      diags.add(where, "cannot set " + quote(key) + ": " + quote(walked) + " is " +
                           describe(*current) + ", not a mapping");
      return;
    }
    walked += (i == 0 ? "" : ".") + part;
    Entry* entry = current->find(part);
    if (i + 1 == path->size()) {
      if (entry != nullptr) {
        entry->value = std::move(value);
      } else {
        current->entries.push_back(Entry{part, where, std::move(value)});
      }
      return;
    }
    if (entry == nullptr) {
      Tree created;
      created.kind = Tree::Kind::kMap;
      created.where = where;
      current->entries.push_back(Entry{part, where, std::move(created)});
      entry = &current->entries.back();
    }
    current = &entry->value;
  }
}

}  // namespace capflow::graph::detail
