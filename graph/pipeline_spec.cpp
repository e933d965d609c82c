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

[[noreturn]] void wrong_type(const std::string& owner, const std::string& name,
                             const ArgValue& v, const char* wanted) {
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
// Small text helpers

namespace {

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

// At most about 80 bytes of `s` (cut at a character boundary), for messages.
std::string shortened(const std::string& s) {
  constexpr std::size_t kKeep = 72;
  if (s.size() <= kKeep + 8) return s;
  std::size_t cut = kKeep;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "... (" + std::to_string(s.size()) + " bytes)";
}

std::string quote(const std::string& s) { return "'" + shortened(s) + "'"; }

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean 'x'?)" for the closest candidate within edit distance 2, else "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  const std::string* best = nullptr;
  std::size_t best_distance = 3;
  for (const std::string& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance && d < c.size()) {
      best = &c;
      best_distance = d;
    }
  }
  return best ? " (did you mean " + quote(*best) + "?)" : "";
}

// Shortest text that reads back as the same double ("0.05", "1e-05", "42").
std::string shortest_double(double x) {
  if (std::isinf(x)) return x > 0 ? ".inf" : "-.inf";
  if (std::isnan(x)) return ".nan";
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, result.ptr);
}

// A double as a YAML float that every YAML reader takes for a float ("4.0", "1.0e-05").
std::string yaml_double(double x) {
  std::string s = shortest_double(x);
  if (std::isinf(x) || std::isnan(x)) return s;
  if (s.find('.') == std::string::npos) {
    const std::size_t e = s.find('e');
    if (e == std::string::npos) {
      s += ".0";
    } else {
      s.insert(e, ".0");
    }
  }
  return s;
}

bool is_digits(const std::string& s, std::size_t from) {
  if (from >= s.size()) return false;
  for (std::size_t i = from; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

// YAML integers: [-+]?[0-9]+ (decimal only).
bool parse_int(const std::string& s, std::int64_t* out) {
  const std::size_t start = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
  if (!is_digits(s, start)) return false;
  const char* first = s.data() + (s[0] == '+' ? 1 : 0);
  const auto result = std::from_chars(first, s.data() + s.size(), *out);
  return result.ec == std::errc() && result.ptr == s.data() + s.size();
}

bool parse_uint(const std::string& s, std::uint64_t* out) {
  const std::size_t start = (!s.empty() && s[0] == '+') ? 1 : 0;
  if (!is_digits(s, start)) return false;
  const auto result = std::from_chars(s.data() + start, s.data() + s.size(), *out);
  return result.ec == std::errc() && result.ptr == s.data() + s.size();
}

// YAML floats: integers, [-+]?(.digits|digits[.digits])([eE][-+]?digits)?, [-+]?.inf.
bool parse_float(const std::string& s, double* out) {
  std::size_t i = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
  const bool negative = !s.empty() && s[0] == '-';
  const std::string rest = s.substr(i);
  if (rest == ".inf" || rest == ".Inf" || rest == ".INF") {
    *out = negative ? -HUGE_VAL : HUGE_VAL;
    return true;
  }
  const auto skip_digits = [&s, &i]() {
    const std::size_t from = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - from;
  };
  std::size_t digits = skip_digits();
  if (i < s.size() && s[i] == '.') {
    ++i;
    digits += skip_digits();
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!is_digits(s, i)) return false;
    i = s.size();
  }
  if (i != s.size()) return false;
  const char* first = s.data() + (s[0] == '+' ? 1 : 0);
  const auto result = std::from_chars(first, s.data() + s.size(), *out);
  return result.ec == std::errc() && result.ptr == s.data() + s.size();
}

bool parse_bool(const std::string& s, bool* out) {
  if (s == "true" || s == "True" || s == "TRUE") {
    *out = true;
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    *out = false;
    return true;
  }
  return false;
}

bool valid_node_name(const std::string& s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The YAML document as a tree that remembers where each key and value was written (in the
// file, or in a --set override), so overrides can be merged before validation.

struct Entry;

struct Tree {
  enum class Kind { kNull, kScalar, kSeq, kMap };
  Kind kind = Kind::kNull;
  std::string text;    // scalars
  bool plain = true;   // scalars: written without quotes or an explicit tag
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
    case Tree::Kind::kNull: return "null";
    case Tree::Kind::kScalar:
      return v.plain ? quote(v.text) : "\"" + shortened(v.text) + "\" (a quoted string)";
    case Tree::Kind::kSeq: return "a list";
    case Tree::Kind::kMap: return "a mapping";
  }
  return "?";
}

// Maps yaml-cpp marks to locations: in a file (0-based marks made 1-based) or one fixed place.
using Locator = std::function<Location(const YAML::Mark&, const Location& fallback)>;

Locator file_locator(const std::string& file) {
  return [file](const YAML::Mark& m, const Location& fallback) {
    if (m.line < 0 || m.column < 0) return fallback;
    return Location{file, m.line + 1, m.column + 1};
  };
}

Locator fixed_locator(const Location& where) {
  return [where](const YAML::Mark&, const Location&) { return where; };
}

// What walking the parsed document may cost. yaml-cpp shares an aliased node, so a small file
// can stand for a huge tree (an alias bomb) or an endless one (an alias inside its own
// anchor); the walk counts what it copies and stops, with one message, at the first limit.
struct WalkBudget {
  std::size_t values = 0;
  std::size_t text_bytes = 0;
  std::vector<YAML::Node> path;  // the lists and mappings being walked
  bool exhausted = false;
};

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

struct Walk {
  const Locator& locate;
  Diagnostics& diags;
  WalkBudget& budget;
};

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
  const std::string value_text = text.substr(eq + 1);
  const auto not_space = [](char c) { return c != ' ' && c != '\t'; };
  key.erase(key.begin(), std::find_if(key.begin(), key.end(), not_space));
  key.erase(std::find_if(key.rbegin(), key.rend(), not_space).base(), key.end());
  if (key.empty()) {
    diags.add(where, "empty key; expected dotted.key=value (for example data.root=DIR)");
    return;
  }
  std::vector<std::string> path;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = key.find('.', start);
    path.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  for (const std::string& part : path) {
    if (part.empty()) {
      diags.add(where, "empty name in key " + quote(key));
      return;
    }
  }
  std::optional<Tree> parsed = override_value(value_text, where, diags, budget);
  if (!parsed) return;
  Tree value = std::move(*parsed);

  Tree* current = &root;
  std::string walked;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (current->kind == Tree::Kind::kNull) current->kind = Tree::Kind::kMap;  // `key:` empty
    if (!current->is_map()) {
      diags.add(where, "cannot set " + quote(key) + ": " + quote(walked) + " is " +
                           describe(*current) + ", not a mapping");
      return;
    }
    walked += (i == 0 ? "" : ".") + path[i];
    Entry* entry = current->find(path[i]);
    if (i + 1 == path.size()) {
      if (entry != nullptr) {
        entry->value = std::move(value);
      } else {
        current->entries.push_back(Entry{path[i], where, std::move(value)});
      }
      return;
    }
    if (entry == nullptr) {
      Tree created;
      created.kind = Tree::Kind::kMap;
      created.where = where;
      current->entries.push_back(Entry{path[i], where, std::move(created)});
      entry = &current->entries.back();
    }
    current = &entry->value;
  }
}

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
          return fail(v, what + " must be one of " + join(spec.choices) + "; got " +
                             quote(v.text) + did_you_mean(v.text, spec.choices));
        }
        *out = v.text;
        return true;
      case ArgType::kIntList: return convert_list<std::int64_t>(spec, v, what, out);
      case ArgType::kFloatList: return convert_list<double>(spec, v, what, out);
      case ArgType::kStringList: return convert_list<std::string>(spec, v, what, out);
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
// Transfer nodes where the chain crosses devices (graph/device_transfer.h): added to the tree
// before validation, so they are validated, resolved and reported like written nodes. Where
// `nodes` or `edges` is malformed nothing is added (validation reports it).

std::string scalar_text(const Tree& map, const char* key, const char* fallback) {
  const Entry* e = map.is_map() ? map.find(key) : nullptr;
  return e != nullptr && e->value.is_scalar() ? e->value.text : fallback;
}

void insert_device_transfers(Tree& root, const SchemaCatalog& catalog) {
  Entry* nodes = root.find("nodes");
  if (nodes == nullptr || !nodes->value.is_map()) return;
  Entry* edges = root.find("edges");
  if (edges != nullptr && edges->value.kind != Tree::Kind::kSeq) return;
  std::vector<ChainNode> chain;
  if (edges == nullptr) {
    for (const Entry& e : nodes->value.entries)
      chain.push_back({e.key, scalar_text(e.value, "kind", ""), scalar_text(e.value, "device", "cpu")});
  } else {
    for (const Tree& item : edges->value.items) {
      const Entry* e = item.is_scalar() ? nodes->value.find(item.text) : nullptr;
      if (e == nullptr) return;
      chain.push_back({e->key, scalar_text(e->value, "kind", ""), scalar_text(e->value, "device", "cpu")});
    }
  }
  const std::vector<TransferInsertion> plan = plan_device_transfers(chain, catalog);
  for (auto it = plan.rbegin(); it != plan.rend(); ++it) {  // back to front: indices stay valid
    const std::string& before = chain[it->before].name;
    Entry* target = nodes->value.find(before);
    const Location where = target->value.find("device") != nullptr ? target->value.find("device")->value.where
                                                                    : target->key_where;
    Tree body;
    body.kind = Tree::Kind::kMap;
    body.where = where;
    Tree kind;
    kind.kind = Tree::Kind::kScalar;
    kind.text = it->kind;
    kind.where = where;
    Tree device = kind;
    device.text = it->to;
    body.entries.push_back(Entry{"kind", where, kind});
    body.entries.push_back(Entry{"device", where, device});
    auto& entries = nodes->value.entries;
    const auto pos = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.key == before; });
    entries.insert(pos, Entry{it->name, where, std::move(body)});
    if (edges != nullptr) {
      Tree name = kind;
      name.text = it->name;
      edges->value.items.insert(edges->value.items.begin() + static_cast<std::ptrdiff_t>(it->before), std::move(name));
    }
  }
}

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
      diags_.add(nodes->value.where, "'nodes' must be a mapping of node name to node, got " +
                                         describe(nodes->value));
    } else if (nodes->value.entries.empty()) {
      diags_.add(nodes->value.where, "'nodes' is empty; a pipeline needs at least a source and "
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
    std::vector<std::string> allowed = {"seed", "nodes", "edges"};
    for (const std::string& s : catalog_.sections()) {
      if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) allowed.push_back(s);
    }
    std::sort(allowed.begin(), allowed.end());
    for (const Entry& e : root.entries) {
      if (std::find(allowed.begin(), allowed.end(), e.key) != allowed.end()) continue;
      diags_.add(e.key_where, "unknown top-level key " + quote(e.key) +
                                  did_you_mean(e.key, allowed) + "; allowed keys: " +
                                  join(allowed));
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
                                      did_you_mean(e.key, accepted) + "; accepted: " +
                                      join(accepted));
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
      diags_.add(body.where, owner + " must be a mapping with at least 'kind', got " +
                                 describe(body));
      return draft;
    }
    draft.body_ok = true;
    node.args = Args(owner);

    const Entry* kind = body.find("kind");
    if (kind == nullptr) {
      diags_.add(entry.key_where, owner + ": missing required key 'kind'");
    } else if (!kind->value.is_scalar()) {
      diags_.add(kind->value.where, owner + ": 'kind' must be a kind name, got " +
                                        describe(kind->value));
    } else {
      node.kind = kind->value.text;
      node.schema = catalog_.node_schema(node.kind);
      if (node.schema == nullptr) {
        const std::vector<std::string> kinds = catalog_.kinds();
        diags_.add(kind->value.where, owner + ": unknown kind " + quote(node.kind) +
                                          did_you_mean(node.kind, kinds) + "; known kinds: " +
                                          join(kinds));
      }
    }

    const Entry* device = body.find("device");
    Location device_where = entry.key_where;
    bool device_ok = true;
    if (device != nullptr) {
      device_where = device->value.where;
      if (!device->value.is_scalar()) {
        diags_.add(device->value.where, owner + ": 'device' must be a device name such as cpu, "
                                                "got " + describe(device->value));
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
                                     ")" + (catalog_.device_note(node.device).empty()
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
        diags_.add(list.where, "'edges' must be a list of node names, for example [" +
                                   join(names) + "]; got " + describe(list));
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
        diags_.add(link.where, "the first node must be a source, but " + who(link) + " is a " +
                                   role_name);
      }
      if (last && role != NodeRole::kSink) {
        diags_.add(link.where, "the last node must be a sink, but " + who(link) + " is a " +
                                   role_name);
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
                                     quote(first_collect->name) +
                                     "); a pipeline has at most one");
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
      if (prev.schema->output != link.schema->input) {
        diags_.add(link.where, "edge " + quote(prev.name) + " -> " + quote(link.name) + ": " +
                                   quote(prev.name) + " produces " + quote(prev.schema->output) +
                                   " but " + who(link) + " takes " +
                                   quote(link.schema->input));
      }
    }
  }

  const SchemaCatalog& catalog_;
  Diagnostics& diags_;
  ValueChecker values_;
  std::string file_;
};

// ---------------------------------------------------------------------------------------------
// The resolved configuration as YAML

bool reads_as_non_string(const std::string& s) {
  std::int64_t i = 0;
  double d = 0;
  bool b = false;
  return s.empty() || parse_int(s, &i) || parse_float(s, &d) || parse_bool(s, &b) ||
         s == "auto" || YAML::IsNullString(s);
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
  return std::string(out.c_str()) + "\n";
}

}  // namespace

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
  for (const std::string& o : overrides) apply_override(root, o, diags, budget);
  if (budget.exhausted) diags.throw_if_any();
  insert_device_transfers(root, catalog);

  Validator validator(catalog, diags, file_name);
  PipelineSpec spec = validator.run(root);
  diags.throw_if_any();
  spec.resolved_yaml = resolved_yaml(spec, catalog);
  return spec;
}

PipelineSpec load_pipeline(const std::string& path, const std::vector<std::string>& overrides,
                           const SchemaCatalog& catalog) {
  return parse_pipeline(read_bounded(path, YamlLimits::kMaxBytes), path, overrides, catalog);
}

}  // namespace capflow::graph
