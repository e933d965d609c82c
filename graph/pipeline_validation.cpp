// Validation of a pipeline tree against the schema catalog: every problem, located.
#include <algorithm>
#include <cmath>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "graph/device_transfer.h"
#include "graph/pipeline_internal.h"

namespace capflow::graph::detail {

// ---------------------------------------------------------------------------------------------
// Argument values

std::string range_text(const ArgSpec& spec) {
  const bool has_min = std::isfinite(spec.min);
  const bool has_max = std::isfinite(spec.max);
  if (has_min && has_max) {
    return "between " + shortest_double(spec.min) + " and " + shortest_double(spec.max);
  }
  if (has_min) return ">= " + shortest_double(spec.min);
  return "<= " + shortest_double(spec.max);
}

class ValueChecker {
 public:
  explicit ValueChecker(Diagnostics& diags) : diags_(diags) {}

  // Converts `v` to the type of `spec`; reports problems with the message prefix `what`
  // ("node 'batch': argument 'size'") and returns false when it is not valid.
  bool convert(const ArgSpec& spec, const Tree& v, const std::string& what, ArgValue* out) {
    if (v.kind == Tree::Kind::kNull) {
      if (spec.nullable) {
        *out = std::monostate{};
        return true;
      }
      return fail(v, what + " expects " + arg_type_name(spec.type) + ", got null");
    }
    switch (spec.type) {
      case ArgType::kBool: {
        bool b = false;
        if (!v.is_scalar() || !v.plain || !parse_bool(v.text, &b)) return expects(spec, v, what);
        *out = b;
        return true;
      }
      case ArgType::kInt: {
        std::int64_t i = 0;
        if (!scalar_int(v, &i)) return expects(spec, v, what);
        *out = i;
        return in_range(spec, static_cast<double>(i), v, what);
      }
      case ArgType::kIntOrAuto: {
        std::int64_t i = 0;
        if (v.is_scalar() && v.text == "auto") {
          *out = std::int64_t{0};
          return true;
        }
        if (!scalar_int(v, &i)) return expects(spec, v, what);
        *out = i;
        return in_range(spec, static_cast<double>(i), v, what);
      }
      case ArgType::kFloat: {
        double d = 0;
        if (!scalar_float(v, &d)) return expects(spec, v, what);
        *out = d;
        return in_range(spec, d, v, what);
      }
      case ArgType::kString:
        if (!v.is_scalar()) return expects(spec, v, what);
        *out = v.text;
        return true;
      case ArgType::kChoice:
        if (!v.is_scalar()) return expects(spec, v, what);
        if (std::find(spec.choices.begin(), spec.choices.end(), v.text) == spec.choices.end()) {
          return fail(v, what + " must be one of " + join(spec.choices) + "; got " + quote(v.text) +
                             did_you_mean(v.text, spec.choices));
        }
        *out = v.text;
        return true;
      case ArgType::kIntList:
        return convert_list<std::int64_t>(spec, v, what, out);
      case ArgType::kFloatList:
        return convert_list<double>(spec, v, what, out);
      case ArgType::kStringList:
        return convert_list<std::string>(spec, v, what, out);
    }
    return expects(spec, v, what);
  }

 private:
  bool fail(const Tree& v, std::string message) {
    diags_.add(v.where, std::move(message));
    return false;
  }

  bool expects(const ArgSpec& spec, const Tree& v, const std::string& what) {
    return fail(v, what + " expects " + arg_type_name(spec.type) + ", got " + describe(v));
  }

  static bool scalar_int(const Tree& v, std::int64_t* out) {
    return v.is_scalar() && v.plain && parse_int(v.text, out);
  }

  static bool scalar_float(const Tree& v, double* out) {
    return v.is_scalar() && v.plain && parse_float(v.text, out);
  }

  bool in_range(const ArgSpec& spec, double x, const Tree& v, const std::string& what) {
    if (x >= spec.min && x <= spec.max) return true;
    return fail(v, what + " must be " + range_text(spec) + ", got " + v.text);
  }

  template <typename T>
  bool convert_list(const ArgSpec& spec, const Tree& v, const std::string& what, ArgValue* out) {
    if (v.kind != Tree::Kind::kSeq) return expects(spec, v, what);
    bool ok = true;
    if (spec.list_size > 0 && v.items.size() != static_cast<std::size_t>(spec.list_size)) {
      ok = fail(v, what + " expects a list of " + std::to_string(spec.list_size) + " items, got " +
                       std::to_string(v.items.size()));
    }
    std::vector<T> values;
    for (std::size_t i = 0; i < v.items.size(); ++i) {
      const Tree& item = v.items[i];
      const std::string item_what = what + " item " + std::to_string(i + 1);
      if constexpr (std::is_same_v<T, std::int64_t>) {
        std::int64_t x = 0;
        if (!scalar_int(item, &x)) {
          ok = fail(item, item_what + " expects int, got " + describe(item));
        } else {
          ok = in_range(spec, static_cast<double>(x), item, item_what) && ok;
          values.push_back(x);
        }
      } else if constexpr (std::is_same_v<T, double>) {
        double x = 0;
        if (!scalar_float(item, &x)) {
          ok = fail(item, item_what + " expects float, got " + describe(item));
        } else {
          ok = in_range(spec, x, item, item_what) && ok;
          values.push_back(x);
        }
      } else {
        if (!item.is_scalar()) {
          ok = fail(item, item_what + " expects string, got " + describe(item));
        } else {
          values.push_back(item.text);
        }
      }
    }
    *out = std::move(values);
    return ok;
  }

  Diagnostics& diags_;
};

// ---------------------------------------------------------------------------------------------
// Validation of the whole document

const char* const kReservedNodeKeys[] = {"kind", "device", "concurrency"};

bool is_reserved_node_key(const std::string& key) {
  for (const char* k : kReservedNodeKeys) {
    if (key == k) return true;
  }
  return false;
}

struct NodeDraft {
  NodeSpec spec;
  bool body_ok = false;  // the value was a mapping
};

struct ChainLink {
  std::string name;
  Location where;
  const NodeSchema* schema = nullptr;  // nullptr: unknown kind
  bool gap_before = false;             // an unusable edges item was dropped before this one
};

class Validator {
 public:
  Validator(const SchemaCatalog& catalog, Diagnostics& diags, std::string file)
      : catalog_(catalog), diags_(diags), values_(diags), file_(std::move(file)) {}

  PipelineSpec run(const Tree& root) {
    PipelineSpec spec;
    spec.file = file_;
    spec.seed = 42;
    check_top_level_keys(root);
    if (const Entry* seed = root.find("seed")) check_seed(seed->value, &spec.seed);
    for (const std::string& name : catalog_.sections()) {
      const SectionSchema* schema = catalog_.section_schema(name);
      if (schema == nullptr) continue;
      spec.sections[name] = check_section(*schema, root.find(name), root.where);
    }
    const Entry* nodes = root.find("nodes");
    std::vector<NodeDraft> drafts;
    bool nodes_ok = false;
    if (nodes == nullptr) {
      diags_.add(root.where, "missing required key 'nodes' (a mapping of node name to node)");
    } else if (!nodes->value.is_map()) {
      diags_.add(nodes->value.where,
                 "'nodes' must be a mapping of node name to node, got " + describe(nodes->value));
    } else if (nodes->value.entries.empty()) {
      diags_.add(nodes->value.where,
                 "'nodes' is empty; a pipeline needs at least a source and "
                 "a sink");
    } else {
      nodes_ok = true;
      for (const Entry& e : nodes->value.entries) drafts.push_back(check_node(e));
    }
    std::vector<std::string> order;
    if (nodes_ok) order = check_edges(root.find("edges"), drafts);
    for (const std::string& name : order) {
      for (NodeDraft& d : drafts) {
        if (d.spec.name == name) spec.nodes.push_back(std::move(d.spec));
      }
    }
    return spec;
  }

 private:
  void check_top_level_keys(const Tree& root) {
    std::vector<std::string> allowed = {"seed", "nodes", "edges", "when"};
    for (const std::string& s : catalog_.sections()) {
      if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) allowed.push_back(s);
    }
    std::sort(allowed.begin(), allowed.end());
    for (const Entry& e : root.entries) {
      if (e.key == "when") {  // the file's own `when` is taken out before overrides apply
        diags_.add(e.key_where,
                   "'when' is read from the pipeline file before any override; it cannot be "
                   "set by --set or by a condition's overrides");
        continue;
      }
      if (std::find(allowed.begin(), allowed.end(), e.key) != allowed.end()) continue;
      diags_.add(e.key_where, "unknown top-level key " + quote(e.key) +
                                  did_you_mean(e.key, allowed) +
                                  "; allowed keys: " + join(allowed));
    }
  }

  void check_seed(const Tree& v, std::uint64_t* seed) {
    if (!v.is_scalar() || !v.plain || !parse_uint(v.text, seed)) {
      diags_.add(v.where, "'seed' must be an integer >= 0, got " + describe(v));
    }
  }

  // Checks the entries of `map` (other than reserved node keys when `node` is true) against
  // `specs`, fills defaults and reports unknown and missing arguments.
  Args check_args(const std::vector<ArgSpec>& specs, const Tree* map, bool node,
                  const std::string& owner, const Location& owner_where) {
    Args args(owner);
    const char* noun = node ? "argument" : "key";
    std::vector<std::string> accepted;
    for (const ArgSpec& a : specs) accepted.push_back(a.name);
    if (node) {
      for (const char* k : kReservedNodeKeys) accepted.push_back(k);
    }
    std::sort(accepted.begin(), accepted.end());
    if (map != nullptr) {
      for (const Entry& e : map->entries) {
        if (node && is_reserved_node_key(e.key)) continue;
        const ArgSpec* spec = nullptr;
        for (const ArgSpec& a : specs) {
          if (a.name == e.key) spec = &a;
        }
        if (spec == nullptr) {
          diags_.add(e.key_where, owner + ": unknown " + noun + " " + quote(e.key) +
                                      did_you_mean(e.key, accepted) +
                                      "; accepted: " + join(accepted));
          continue;
        }
        ArgValue value;
        if (values_.convert(*spec, e.value, owner + ": " + noun + " " + quote(e.key), &value)) {
          args.set(e.key, std::move(value), e.value.where);
        }
      }
    }
    for (const ArgSpec& spec : specs) {
      if (map != nullptr && map->find(spec.name) != nullptr) continue;
      if (spec.required()) {
        diags_.add(owner_where, owner + ": missing required " + noun + " " + quote(spec.name) +
                                    " (" + arg_type_name(spec.type) + ")");
        continue;
      }
      const std::string what = owner + ": default of " + noun + " " + quote(spec.name);
      YAML::Node parsed;
      try {
        parsed = YAML::Load(spec.default_yaml);
      } catch (const YAML::Exception& e) {
        diags_.add(owner_where, what + " is not valid YAML: " + e.msg);
        continue;
      }
      Diagnostics ignored;
      WalkBudget budget;
      const Locator locate = fixed_locator(owner_where);
      const Tree tree = to_tree(parsed, Walk{locate, ignored, budget}, owner_where);
      ArgValue value;
      if (values_.convert(spec, tree, what, &value)) args.set(spec.name, value, owner_where);
    }
    return args;
  }

  Args check_section(const SectionSchema& schema, const Entry* entry, const Location& root_where) {
    const std::string owner = "section " + quote(schema.name);
    if (entry == nullptr) return check_args(schema.args, nullptr, false, owner, root_where);
    const Tree& v = entry->value;
    if (v.kind == Tree::Kind::kNull) {  // `data:` with nothing: all defaults
      return check_args(schema.args, nullptr, false, owner, entry->key_where);
    }
    if (!v.is_map()) {
      diags_.add(v.where, owner + " must be a mapping, got " + describe(v));
      return Args(owner);
    }
    return check_args(schema.args, &v, false, owner, entry->key_where);
  }

  bool parse_concurrency(const Tree& v, Concurrency* out) {
    std::int64_t count = 0;
    if (!v.is_scalar()) return false;
    if (v.text == "serial") {
      *out = Concurrency{1, false};
    } else if (v.text == "auto") {
      *out = Concurrency{0, true};
    } else if (v.plain && parse_int(v.text, &count) && count >= 1 && count <= 1 << 20) {
      *out = Concurrency{static_cast<int>(count), false};
    } else {
      return false;
    }
    return true;
  }

  // `concurrency` (or the kind's default): serial, auto or a count; only transform nodes run
  // concurrently (sources, collectors and sinks see one item at a time).
  void check_concurrency(const Tree& body, const std::string& owner, NodeSpec& node) {
    const char* const forms = "serial, auto or an integer >= 1";
    const Entry* given = body.find("concurrency");
    Tree fallback;
    fallback.kind = Tree::Kind::kScalar;
    fallback.where = node.where;
    if (given == nullptr && node.schema == nullptr) return;
    if (given == nullptr) fallback.text = node.schema->default_concurrency;
    const Tree& value = given != nullptr ? given->value : fallback;
    if (!parse_concurrency(value, &node.concurrency)) {
      diags_.add(value.where,
                 given != nullptr
                     ? owner + ": concurrency must be " + forms + ", got " + describe(value)
                     : owner + ": kind " + quote(node.kind) +
                           " has an invalid default concurrency " + quote(value.text) +
                           " (expected " + forms + ")");
      return;
    }
    const bool serial = !node.concurrency.automatic && node.concurrency.count == 1;
    if (node.schema != nullptr && node.schema->role != NodeRole::kTransform && !serial) {
      diags_.add(value.where, owner + ": a " + std::string(node_role_name(node.schema->role)) +
                                  " node runs serially; remove its concurrency (got " +
                                  describe(value) + ")");
    }
  }

  NodeDraft check_node(const Entry& entry) {
    NodeDraft draft;
    NodeSpec& node = draft.spec;
    node.name = entry.key;
    node.where = entry.key_where;
    const std::string owner = "node " + quote(node.name);
    if (!valid_node_name(node.name)) {
      diags_.add(entry.key_where, "invalid node name " + quote(node.name) +
                                      ": use letters, digits and '_', not starting with a digit");
    }
    const Tree& body = entry.value;
    if (!body.is_map()) {
      diags_.add(body.where,
                 owner + " must be a mapping with at least 'kind', got " + describe(body));
      return draft;
    }
    draft.body_ok = true;
    node.args = Args(owner);

    const Entry* kind = body.find("kind");
    if (kind == nullptr) {
      diags_.add(entry.key_where, owner + ": missing required key 'kind'");
    } else if (!kind->value.is_scalar()) {
      diags_.add(kind->value.where,
                 owner + ": 'kind' must be a kind name, got " + describe(kind->value));
    } else {
      node.kind = kind->value.text;
      node.schema = catalog_.node_schema(node.kind);
      if (node.schema == nullptr) {
        const std::vector<std::string> kinds = catalog_.kinds();
        diags_.add(kind->value.where, owner + ": unknown kind " + quote(node.kind) +
                                          did_you_mean(node.kind, kinds) +
                                          "; known kinds: " + join(kinds));
      }
    }

    const Entry* device = body.find("device");
    Location device_where = entry.key_where;
    bool device_ok = true;
    if (device != nullptr) {
      device_where = device->value.where;
      if (!device->value.is_scalar()) {
        diags_.add(device->value.where, owner +
                                            ": 'device' must be a device name such as cpu, "
                                            "got " +
                                            describe(device->value));
        device_ok = false;
      } else {
        node.device = device->value.text;
      }
    }
    if (device_ok && node.schema != nullptr) {
      const std::vector<std::string> devices = catalog_.devices(node.kind);
      if (std::find(devices.begin(), devices.end(), node.device) == devices.end()) {
        diags_.add(device_where, owner + ": kind " + quote(node.kind) + " has no " +
                                     quote(node.device) + " implementation in this build " +
                                     "(available: " + (devices.empty() ? "none" : join(devices)) +
                                     ")" +
                                     (catalog_.device_note(node.device).empty()
                                          ? std::string()
                                          : ": " + catalog_.device_note(node.device)));
      }
    }

    check_concurrency(body, owner, node);
    if (node.schema != nullptr) {
      node.args = check_args(node.schema->args, &body, true, owner, entry.key_where);
    }
    return draft;
  }

  // Checks `edges` (or the order of `nodes` when absent) and returns the node order.
  std::vector<std::string> check_edges(const Entry* edges, const std::vector<NodeDraft>& drafts) {
    std::map<std::string, const NodeDraft*> by_name;
    std::vector<std::string> names;
    for (const NodeDraft& d : drafts) {
      by_name[d.spec.name] = &d;
      names.push_back(d.spec.name);
    }
    const auto schema_of = [&](const std::string& name) -> const NodeSchema* {
      const auto it = by_name.find(name);
      return it == by_name.end() ? nullptr : it->second->spec.schema;
    };

    std::vector<ChainLink> chain;
    std::vector<std::string> order;
    if (edges == nullptr) {
      for (const NodeDraft& d : drafts) {
        chain.push_back(ChainLink{d.spec.name, d.spec.where, d.spec.schema});
        order.push_back(d.spec.name);
      }
    } else {
      const Tree& list = edges->value;
      if (list.kind != Tree::Kind::kSeq) {
        diags_.add(list.where, "'edges' must be a list of node names, for example [" + join(names) +
                                   "]; got " + describe(list));
        return order;
      }
      std::map<std::string, Location> seen;
      bool gap = false;
      for (const Tree& item : list.items) {
        if (!item.is_scalar()) {
          diags_.add(item.where, "edges: items must be node names, got " + describe(item));
        } else if (by_name.count(item.text) == 0) {
          diags_.add(item.where, "edges: unknown node " + quote(item.text) +
                                     did_you_mean(item.text, names) + "; nodes: " + join(names));
        } else if (seen.count(item.text) != 0) {
          diags_.add(item.where, "edges: node " + quote(item.text) +
                                     " is listed more than once (first at " +
                                     format_location(seen[item.text]) + ")");
        } else {
          seen[item.text] = item.where;
          chain.push_back(ChainLink{item.text, item.where, schema_of(item.text), gap});
          order.push_back(item.text);
          gap = false;
          continue;
        }
        gap = true;
      }
      for (const NodeDraft& d : drafts) {
        if (seen.count(d.spec.name) == 0) {
          diags_.add(d.spec.where, "node " + quote(d.spec.name) + " is not listed in 'edges'");
        }
      }
    }
    check_chain(chain);
    return order;
  }

  static std::string who(const ChainLink& link) {
    return quote(link.name) + " (kind " + link.schema->kind + ")";
  }

  // Roles by position (source first, sink last, at most one collect) and, for neighbours,
  // output == input. Links of unknown kinds are skipped.
  void check_chain(const std::vector<ChainLink>& chain) {
    const ChainLink* first_collect = nullptr;
    for (std::size_t i = 0; i < chain.size(); ++i) {
      const ChainLink& link = chain[i];
      if (link.schema == nullptr) continue;
      const NodeRole role = link.schema->role;
      const std::string role_name = node_role_name(role);
      const bool first = i == 0;
      const bool last = i + 1 == chain.size();
      if (first && role != NodeRole::kSource) {
        diags_.add(link.where,
                   "the first node must be a source, but " + who(link) + " is a " + role_name);
      }
      if (last && role != NodeRole::kSink) {
        diags_.add(link.where,
                   "the last node must be a sink, but " + who(link) + " is a " + role_name);
      }
      if (!first && role == NodeRole::kSource) {
        diags_.add(link.where, who(link) + " is a source, which can only be the first node");
      }
      if (!last && role == NodeRole::kSink) {
        diags_.add(link.where, who(link) + " is a sink, which can only be the last node");
      }
      if (role == NodeRole::kCollect) {
        if (first_collect != nullptr) {
          diags_.add(link.where, who(link) + " is a second collect node (the first is " +
                                     quote(first_collect->name) + "); a pipeline has at most one");
        } else {
          first_collect = &link;
        }
      }
      if (i == 0 || link.gap_before) continue;
      const ChainLink& prev = chain[i - 1];
      if (prev.schema == nullptr || prev.schema->role == NodeRole::kSink ||
          role == NodeRole::kSource) {
        continue;
      }
      if (!link.schema->takes(prev.schema->output)) {
        std::vector<std::string> takes;
        for (const std::string& in : link.schema->inputs()) takes.push_back(quote(in));
        diags_.add(link.where, "edge " + quote(prev.name) + " -> " + quote(link.name) + ": " +
                                   quote(prev.name) + " produces " + quote(prev.schema->output) +
                                   " but " + who(link) + " takes " + join(takes, " or "));
      }
    }
  }

  const SchemaCatalog& catalog_;
  Diagnostics& diags_;
  ValueChecker values_;
  std::string file_;
};

PipelineSpec validate_tree(const Tree& root, const SchemaCatalog& catalog, Diagnostics& diags,
                           const std::string& file) {
  Validator validator(catalog, diags, file);
  return validator.run(root);
}

}  // namespace capflow::graph::detail
