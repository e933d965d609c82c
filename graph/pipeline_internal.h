// The pipeline loader's internals, shared by its files (not for use outside graph/):
//   pipeline_text.cpp        small text helpers: quoting, suggestions, number parsing
//   pipeline_tree.cpp        the YAML document as a located tree; --set overrides merged in
//   pipeline_conditions.cpp  `when:`, overrides for a fact about the machine, merged or checked
//   pipeline_transfers.cpp   device transfer nodes inserted where the chain crosses devices
//   pipeline_validation.cpp  the tree checked against the schemas into a PipelineSpec
//   pipeline_resolved.cpp    the resolved configuration written back as YAML
//   pipeline_spec.cpp        locations, diagnostics, Args, and the entry points
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "graph/pipeline_spec.h"

namespace capflow::graph::detail {

// Text helpers.
std::string join(const std::vector<std::string>& items, const char* sep = ", ");
std::string shortened(const std::string& s);  // long text cut, with "..."
std::string quote(const std::string& s);      // 'text', shortened
std::size_t edit_distance(const std::string& a, const std::string& b);
// " (did you mean 'x'?)" for the closest candidate, or empty.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);
std::string shortest_double(double x);
std::string yaml_double(double x);
bool parse_int(const std::string& s, std::int64_t* out);
bool parse_uint(const std::string& s, std::uint64_t* out);
bool parse_float(const std::string& s, double* out);
bool parse_bool(const std::string& s, bool* out);
bool valid_node_name(const std::string& s);

// The YAML document as a tree that remembers where each key and value was written (in the
// file, or in a --set override), so overrides can be merged before validation.
struct Entry;

struct Tree {
  enum class Kind { kNull, kScalar, kSeq, kMap };
  Kind kind = Kind::kNull;
  std::string text;   // scalars
  bool plain = true;  // scalars: written without quotes or an explicit tag
  Location where;
  std::vector<Tree> items;     // sequences
  std::vector<Entry> entries;  // mappings, in written order

  bool is_map() const { return kind == Kind::kMap; }
  bool is_scalar() const { return kind == Kind::kScalar; }
  const Entry* find(const std::string& key) const;
  Entry* find(const std::string& key);
};

struct Entry {
  std::string key;
  Location key_where;
  Tree value;
};

// How a value is shown in a message: 'abc', "abc" (quoted), null, a list, a mapping.
std::string describe(const Tree& v);

// Maps yaml-cpp marks to locations: in a file (0-based marks made 1-based) or one fixed place.
using Locator = std::function<Location(const YAML::Mark&, const Location& fallback)>;
Locator file_locator(const std::string& file);
Locator fixed_locator(const Location& where);

// What walking the parsed document may cost. yaml-cpp shares an aliased node, so a small file
// can stand for a huge tree (an alias bomb) or an endless one (an alias inside its own
// anchor); the walk counts what it copies and stops, with one message, at the first limit.
struct WalkBudget {
  std::size_t values = 0;
  std::size_t text_bytes = 0;
  std::vector<YAML::Node> path;  // the lists and mappings being walked
  bool exhausted = false;
};

struct Walk {
  const Locator& locate;
  Diagnostics& diags;
  WalkBudget& budget;
};

Tree to_tree(const YAML::Node& node, const Walk& walk, const Location& fallback);
// Merges one `dotted.key=value` override into the tree (problems into diags).
void apply_override(Tree& root, const std::string& text, Diagnostics& diags, WalkBudget& budget);
// `key` split at its dots; none (and a diagnostic at `where`) when a name is empty.
std::optional<std::vector<std::string>> dotted_path(const std::string& key, const Location& where,
                                                    Diagnostics& diags);
// Puts `value` at `key` (dotted.key), making mappings on the way; problems (an empty name, a
// value on the way that is not a mapping) go into diags at `where`.
void set_dotted(Tree& root, const std::string& key, Tree value, const Location& where,
                Diagnostics& diags);

// The top-level `when:` (MachineCondition in pipeline_spec.h), taken out of the tree.
struct ConditionalOverrides {
  struct Condition {
    std::string name;
    bool holds = false;
    std::vector<Entry> overrides;  // dotted key -> value, in file order
  };
  std::vector<Condition> conditions;  // in file order; unknown names and bad values left out

  // Merges the overrides of the conditions that hold (holds = true) or of `only` into `root`.
  void merge_holding(Tree& root, Diagnostics& diags) const;
  void merge(Tree& root, const Condition& only, Diagnostics& diags) const;
  // "NAME: key=value, key=value" for each condition that holds.
  std::vector<std::string> applied() const;
};
// Removes `when` from root and checks it: a mapping of known condition names to mappings of
// dotted keys (problems into diags).
ConditionalOverrides take_conditions(Tree& root, const SchemaCatalog& catalog, Diagnostics& diags);
// Validates, for each condition that does not hold here, the pipeline as a machine where it
// holds would see it (`base`: the tree without `when`, before any override), and adds the
// problems that this machine's validation did not already report, so a mistake in any
// condition's overrides is an error everywhere.
void check_conditions_elsewhere(const Tree& base, const ConditionalOverrides& conditional,
                                const std::vector<std::string>& overrides,
                                const SchemaCatalog& catalog, const std::string& file,
                                Diagnostics& diags);

// Transfer nodes where the chain crosses devices (graph/device_transfer.h), added to the tree.
void insert_device_transfers(Tree& root, const SchemaCatalog& catalog);

// The tree checked against the catalog: a PipelineSpec; every problem goes into diags.
PipelineSpec validate_tree(const Tree& root, const SchemaCatalog& catalog, Diagnostics& diags,
                           const std::string& file);

// The resolved configuration as YAML (every default written out).
std::string resolved_yaml(const PipelineSpec& spec, const SchemaCatalog& catalog);

}  // namespace capflow::graph::detail
