// Schemas of node kinds and pipeline sections: type and role names, argument look-up and the
// small builders used to write schema tables.
#include "graph/schema.h"

#include <algorithm>
#include <utility>

namespace capflow::graph {

const char* arg_type_name(ArgType t) {
  switch (t) {
    case ArgType::kBool:
      return "bool";
    case ArgType::kInt:
      return "int";
    case ArgType::kFloat:
      return "float";
    case ArgType::kString:
      return "string";
    case ArgType::kChoice:
      return "choice";
    case ArgType::kIntList:
      return "int list";
    case ArgType::kFloatList:
      return "float list";
    case ArgType::kStringList:
      return "string list";
    case ArgType::kIntOrAuto:
      return "int or auto";
  }
  return "unknown";
}

const char* node_role_name(NodeRole r) {
  switch (r) {
    case NodeRole::kSource:
      return "source";
    case NodeRole::kTransform:
      return "transform";
    case NodeRole::kCollect:
      return "collect";
    case NodeRole::kSink:
      return "sink";
  }
  return "unknown";
}

namespace {

const ArgSpec* find_arg(const std::vector<ArgSpec>& args, const std::string& name) {
  for (const ArgSpec& a : args) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

ArgSpec make_arg(std::string name, ArgType type, std::string default_yaml, std::string doc) {
  ArgSpec spec;
  spec.name = std::move(name);
  spec.type = type;
  spec.default_yaml = std::move(default_yaml);
  spec.doc = std::move(doc);
  return spec;
}

// An argument whose numbers (or list items) must lie in [min, max].
ArgSpec make_ranged_arg(std::string name, ArgType type, std::string default_yaml, std::string doc,
                        double min, double max) {
  ArgSpec spec = make_arg(std::move(name), type, std::move(default_yaml), std::move(doc));
  spec.min = min;
  spec.max = max;
  return spec;
}

}  // namespace

const char* node_stage_name(NodeStage s) {
  switch (s) {
    case NodeStage::kOther:
      return "other";
    case NodeStage::kData:
      return "data";
    case NodeStage::kModel:
      return "model";
    case NodeStage::kReduce:
      return "reduce";
    case NodeStage::kOptimizer:
      return "optimizer";
  }
  return "other";
}

NodeSchema::NodeSchema(std::string kind_name, std::string one_line)
    : kind(std::move(kind_name)), doc(std::move(one_line)) {}

NodeSchema& NodeSchema::source(std::string output_type) {
  role = NodeRole::kSource;
  output = std::move(output_type);
  return *this;
}

NodeSchema& NodeSchema::transform(std::string input_type, std::string output_type) {
  role = NodeRole::kTransform;
  input = std::move(input_type);
  output = std::move(output_type);
  return *this;
}

NodeSchema& NodeSchema::collect(std::string input_type, std::string output_type,
                                std::string group_size_argument) {
  role = NodeRole::kCollect;
  input = std::move(input_type);
  output = std::move(output_type);
  group_size_arg = std::move(group_size_argument);
  return *this;
}

NodeSchema& NodeSchema::sink(std::string input_type) {
  role = NodeRole::kSink;
  input = std::move(input_type);
  return *this;
}

NodeSchema& NodeSchema::also_takes(std::string input_type) {
  other_inputs.push_back(std::move(input_type));
  return *this;
}

std::vector<std::string> NodeSchema::inputs() const {
  std::vector<std::string> all;
  if (!input.empty()) all.push_back(input);
  all.insert(all.end(), other_inputs.begin(), other_inputs.end());
  return all;
}

bool NodeSchema::takes(const std::string& edge_type) const {
  const std::vector<std::string> all = inputs();
  return std::find(all.begin(), all.end(), edge_type) != all.end();
}

NodeSchema& NodeSchema::concurrency(std::string default_value) {
  default_concurrency = std::move(default_value);
  return *this;
}

NodeSchema& NodeSchema::in_order() {
  ordered = true;
  return *this;
}

NodeSchema& NodeSchema::stage(NodeStage s) {
  node_stage = s;
  return *this;
}

NodeSchema& NodeSchema::arg(ArgSpec spec) {
  args.push_back(std::move(spec));
  return *this;
}

NodeSchema& NodeSchema::args_from(const std::vector<ArgSpec>& group) {
  args.insert(args.end(), group.begin(), group.end());
  return *this;
}

const ArgSpec* NodeSchema::arg(const std::string& name) const { return find_arg(args, name); }

const ArgSpec* SectionSchema::arg(const std::string& name) const { return find_arg(args, name); }

ArgSpec arg_bool(std::string name, std::string default_yaml, std::string doc) {
  return make_arg(std::move(name), ArgType::kBool, std::move(default_yaml), std::move(doc));
}

ArgSpec arg_int(std::string name, std::string default_yaml, std::string doc, double min,
                double max) {
  return make_ranged_arg(std::move(name), ArgType::kInt, std::move(default_yaml), std::move(doc),
                         min, max);
}

ArgSpec arg_float(std::string name, std::string default_yaml, std::string doc, double min,
                  double max) {
  return make_ranged_arg(std::move(name), ArgType::kFloat, std::move(default_yaml), std::move(doc),
                         min, max);
}

ArgSpec arg_string(std::string name, std::string default_yaml, std::string doc) {
  return make_arg(std::move(name), ArgType::kString, std::move(default_yaml), std::move(doc));
}

ArgSpec arg_choice(std::string name, std::string default_yaml, std::vector<std::string> choices,
                   std::string doc) {
  ArgSpec spec =
      make_arg(std::move(name), ArgType::kChoice, std::move(default_yaml), std::move(doc));
  spec.choices = std::move(choices);
  return spec;
}

ArgSpec arg_int_list(std::string name, std::string default_yaml, int list_size, std::string doc,
                     double min, double max) {
  ArgSpec spec = make_ranged_arg(std::move(name), ArgType::kIntList, std::move(default_yaml),
                                 std::move(doc), min, max);
  spec.list_size = list_size;
  return spec;
}

ArgSpec arg_float_list(std::string name, std::string default_yaml, int list_size, std::string doc,
                       double min, double max) {
  ArgSpec spec = make_ranged_arg(std::move(name), ArgType::kFloatList, std::move(default_yaml),
                                 std::move(doc), min, max);
  spec.list_size = list_size;
  return spec;
}

ArgSpec arg_int_or_auto(std::string name, std::string default_yaml, std::string doc, double min,
                        double max) {
  return make_ranged_arg(std::move(name), ArgType::kIntOrAuto, std::move(default_yaml),
                         std::move(doc), min, max);
}

ArgSpec nullable(ArgSpec spec) {
  spec.nullable = true;
  return spec;
}

}  // namespace capflow::graph
