// The node and section reference, generated from the schema catalog: plain text for
// `capflow nodes` and Markdown for docs/pipeline-nodes.md.
#include "graph/schema_docs.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <vector>

namespace capflow::graph {
namespace {

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string number(double x) {
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, result.ptr);
}

bool is_list(ArgType t) {
  return t == ArgType::kIntList || t == ArgType::kFloatList || t == ArgType::kStringList;
}

// "int", "int list of 2", "float or null".
std::string type_text(const ArgSpec& a) {
  std::string t = arg_type_name(a.type);
  if (is_list(a.type) && a.list_size > 0) t += " of " + std::to_string(a.list_size);
  if (a.nullable) t += " or null";
  return t;
}

// "one of: a, b", "0 to 1", ">= 1", "<= 5", or "".
std::string allowed_text(const ArgSpec& a) {
  if (a.type == ArgType::kChoice) return "one of: " + join(a.choices, ", ");
  const bool numeric = a.type == ArgType::kInt || a.type == ArgType::kFloat ||
                       a.type == ArgType::kIntList || a.type == ArgType::kFloatList ||
                       a.type == ArgType::kIntOrAuto;
  if (!numeric) return "";
  const bool has_min = std::isfinite(a.min);
  const bool has_max = std::isfinite(a.max);
  if (has_min && has_max) return number(a.min) + " to " + number(a.max);
  if (has_min) return ">= " + number(a.min);
  if (has_max) return "<= " + number(a.max);
  return "";
}

std::string flow_text(const NodeSchema& s) {
  const std::string in = s.input.empty() ? "(none)" : join(s.inputs(), " | ");
  const std::string out = s.output.empty() ? "(none)" : s.output;
  return in + " -> " + out;
}

// Rows of cells, every column but the last padded to its widest cell.
std::string aligned(const std::vector<std::vector<std::string>>& rows, const std::string& indent) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line = indent;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string text_args(const std::vector<ArgSpec>& args) {
  if (args.empty()) return "  arguments: none\n";
  std::vector<std::vector<std::string>> rows = {{"name", "type", "default", "allowed", "doc"}};
  for (const ArgSpec& a : args) {
    const std::string allowed = allowed_text(a);
    rows.push_back({a.name, type_text(a), a.required() ? "required" : a.default_yaml,
                    allowed.empty() ? "-" : allowed, a.doc});
  }
  return "  arguments:\n" + aligned(rows, "    ");
}

// Markdown table cells: no line breaks, pipes escaped.
std::string cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string code(const std::string& s) { return "`" + s + "`"; }

std::string markdown_args(const std::vector<ArgSpec>& args) {
  if (args.empty()) return "No arguments.\n";
  std::string out = "| name | type | default | doc |\n| --- | --- | --- | --- |\n";
  for (const ArgSpec& a : args) {
    std::string doc = a.doc;
    const std::string allowed = allowed_text(a);
    if (!allowed.empty()) {
      if (!doc.empty() && doc.back() != '.') doc += '.';
      doc += (doc.empty() ? "" : " ") + std::string(a.type == ArgType::kChoice ? "" : "Range: ") +
             (a.type == ArgType::kChoice ? "One of: " + join(a.choices, ", ") : allowed) + ".";
    }
    out += "| " + cell(code(a.name)) + " | " + cell(type_text(a)) + " | " +
           cell(a.required() ? "required" : code(a.default_yaml)) + " | " + cell(doc) + " |\n";
  }
  return out;
}

// The conditions a pipeline's `when:` may name (not whether they hold: the reference is the
// same on every machine).
std::string conditions_markdown(const SchemaCatalog& catalog) {
  const std::vector<MachineCondition> conditions = catalog.conditions();
  if (conditions.empty()) return {};
  std::string out =
      "## Machine conditions (`when:`)\n\n"
      "A pipeline's top-level `when:` maps a condition to overrides written as dotted keys "
      "(`when: {cpu_without_native_bf16: {nodes.batch.size: 16}}`). They apply where the "
      "condition holds, before `--set` (which wins); the run prints each one it applied, and "
      "`config.yaml` holds the values. Where a condition does not hold, its overrides are still "
      "checked, so a mistake in them is an error on every machine.\n\n"
      "| condition | holds where |\n"
      "| --- | --- |\n";
  for (const MachineCondition& c : conditions)
    out += "| " + code(c.name) + " | " + cell(c.doc) + " |\n";
  return out + "\n";
}

}  // namespace

std::string format_nodes_text(const SchemaCatalog& catalog) {
  std::string out = "Node kinds\n\n";
  for (const std::string& kind : catalog.kinds()) {
    const NodeSchema* s = catalog.node_schema(kind);
    if (s == nullptr) continue;
    out += s->kind + "  (" + node_role_name(s->role) + ", " + flow_text(*s) + ")\n";
    if (!s->doc.empty()) out += "  " + s->doc + "\n";
    out += "  devices: " + join(catalog.devices(kind), ", ") +
           "; default concurrency: " + s->default_concurrency;
    if (s->ordered) out += "; ordered";
    out += "\n" + text_args(s->args) + "\n";
  }
  out += "Sections\n\n";
  for (const std::string& name : catalog.sections()) {
    const SectionSchema* s = catalog.section_schema(name);
    if (s == nullptr) continue;
    out += s->name + "\n";
    if (!s->doc.empty()) out += "  " + s->doc + "\n";
    out += text_args(s->args) + "\n";
  }
  out += "Machine conditions (when:)\n\n";
  for (const MachineCondition& c : catalog.conditions()) {
    const bool holds = c.holds && c.holds();
    out += c.name + (holds ? "  (holds here)\n" : "  (does not hold here)\n") + "  " + c.doc + "\n";
  }
  out +=
      "\nEvery node also takes: kind (required), device (default cpu) and concurrency\n"
      "(serial, auto or a count; default per kind).\n";
  return out;
}

std::string format_nodes_markdown(const SchemaCatalog& catalog) {
  std::string out =
      "# Pipeline reference\n\n"
      "Generated from the node schemas by `capflow nodes --markdown`; do not edit by hand.\n\n"
      "## Common node keys\n\n"
      "Every node under `nodes:` takes these keys besides the arguments of its kind.\n\n"
      "| key | type | default | doc |\n"
      "| --- | --- | --- | --- |\n"
      "| `kind` | string | required | The node kind: one of the kinds below. |\n"
      "| `device` | string | `cpu` | Which implementation runs the node; each kind lists the "
      "devices it has in this build. |\n"
      "| `concurrency` | `serial`, `auto` or int >= 1 | per kind | How many items the node "
      "works on at once: `serial` (one at a time), `auto` (as many as the thread budget "
      "allows) or a count. |\n\n";
  out += "## Sections\n\n";
  for (const std::string& name : catalog.sections()) {
    const SectionSchema* s = catalog.section_schema(name);
    if (s == nullptr) continue;
    out += "### " + code(s->name) + "\n\n";
    if (!s->doc.empty()) out += s->doc + "\n\n";
    out += markdown_args(s->args) + "\n";
  }
  out += conditions_markdown(catalog);
  out += "## Node kinds\n\n";
  for (const std::string& kind : catalog.kinds()) {
    const NodeSchema* s = catalog.node_schema(kind);
    if (s == nullptr) continue;
    out += "### " + code(s->kind) + "\n\n";
    if (!s->doc.empty()) out += s->doc + "\n\n";
    out += "- role: " + std::string(node_role_name(s->role)) + "\n";
    std::vector<std::string> inputs;
    for (const std::string& in : s->inputs()) inputs.push_back(code(in));
    out += "- input: " + (inputs.empty() ? std::string("(none)") : join(inputs, " or ")) + "\n";
    out += "- output: " + (s->output.empty() ? std::string("(none)") : code(s->output)) + "\n";
    std::vector<std::string> devices;
    for (const std::string& d : catalog.devices(kind)) devices.push_back(code(d));
    out += "- devices: " + join(devices, ", ") + "\n";
    out += "- default concurrency: " + code(s->default_concurrency) + "\n";
    if (s->ordered) out += "- ordered: sees items in stream order\n";
    out += "\n" + markdown_args(s->args) + "\n";
  }
  while (out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n') {
    out.pop_back();
  }
  return out;
}

}  // namespace capflow::graph
