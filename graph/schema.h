// Schemas: what a node kind (or a top-level section of a pipeline) accepts. One schema per
// kind, shared by every device that implements it; validation, `capflow nodes` and
// docs/pipeline-nodes.md all read the same schemas.
#pragma once

#include <limits>
#include <string>
#include <vector>

namespace capflow::graph {

enum class ArgType {
  kBool,
  kInt,
  kFloat,  // accepts integers too
  kString,
  kChoice,   // one of `choices`
  kIntList,  // [1, 2]; exactly `list_size` long when list_size > 0
  kFloatList,
  kStringList,
  kIntOrAuto,  // an integer or the word `auto`
};

const char* arg_type_name(ArgType t);  // "int", "float", "int list", "int or auto"...

struct ArgSpec {
  std::string name;
  ArgType type = ArgType::kString;
  // YAML text of the default ("224", "[224, 224]", "null", "png"); empty = required.
  std::string default_yaml;
  std::string doc;                                        // one line
  std::vector<std::string> choices;                       // kChoice
  bool nullable = false;                                  // also accepts null (`~`, `null`)
  int list_size = 0;                                      // lists: exact length when > 0
  double min = -std::numeric_limits<double>::infinity();  // numbers and list items, inclusive
  double max = std::numeric_limits<double>::infinity();

  bool required() const { return default_yaml.empty(); }
};

// What flows on an edge, by name ("sample", "image", "batch", "device_batch"); validation checks
// that each node takes what the one before it produces.
enum class NodeRole { kSource, kTransform, kCollect, kSink };
const char* node_role_name(NodeRole r);  // "source", "transform", "collect", "sink"

// What part of a pipeline a node belongs to, declared by its kind so that tools need not know
// kind names: the data path (reading, decoding, augmenting, batching), the model (forward and
// backward), the reduction across ranks, the optimizer. The engine itself does not use it.
enum class NodeStage { kOther, kData, kModel, kReduce, kOptimizer };
const char* node_stage_name(NodeStage s);  // "other", "data", "model", "reduce", "optimizer"

// A node kind's schema, written with the fluent setters:
//   NodeSchema("batch", "collates images ...")
//       .collect("image", "batch", /*group_size_arg=*/"size")
//       .stage(NodeStage::kData)
//       .arg(arg_int("size", "32", "images per batch", 1, 65536));
struct NodeSchema {
  std::string kind;
  std::string doc;  // one line
  NodeRole role = NodeRole::kTransform;
  std::string input;  // empty for sources
  // Further edge types the node takes as they are: a model node takes a host batch ("batch")
  // or one a transfer node already staged on its device ("device_batch").
  std::vector<std::string> other_inputs;
  std::string output;  // empty for sinks
  // Default of the common `concurrency` argument: "serial", "auto" or a count.
  std::string default_concurrency = "serial";
  // true: the node must see items in stream order (the builder puts a sequencer before it).
  bool ordered = false;
  std::vector<ArgSpec> args;
  NodeStage node_stage = NodeStage::kOther;
  // A collect node: the int argument that sets how many items make a group.
  std::string group_size_arg;

  NodeSchema() = default;
  NodeSchema(std::string kind, std::string doc);

  NodeSchema& source(std::string output_type);
  NodeSchema& transform(std::string input_type, std::string output_type);
  NodeSchema& collect(std::string input_type, std::string output_type,
                      std::string group_size_argument);
  NodeSchema& sink(std::string input_type);
  NodeSchema& also_takes(std::string input_type);      // adds to other_inputs
  NodeSchema& concurrency(std::string default_value);  // "serial" (the default), "auto", "2"
  NodeSchema& in_order();                              // ordered = true
  NodeSchema& stage(NodeStage s);
  NodeSchema& arg(ArgSpec spec);
  NodeSchema& args_from(const std::vector<ArgSpec>& group);  // a shared argument group

  const ArgSpec* arg(const std::string& name) const;
  std::vector<std::string> inputs() const;         // input, then other_inputs; empty for sources
  bool takes(const std::string& edge_type) const;  // one of inputs()
};

// A top-level mapping of the pipeline file (data, resources, train...).
struct SectionSchema {
  std::string name;
  std::string doc;
  std::vector<ArgSpec> args;
  const ArgSpec* arg(const std::string& name) const;
};

// Small builders for readable schema tables.
ArgSpec arg_bool(std::string name, std::string default_yaml, std::string doc);
ArgSpec arg_int(std::string name, std::string default_yaml, std::string doc,
                double min = -std::numeric_limits<double>::infinity(),
                double max = std::numeric_limits<double>::infinity());
ArgSpec arg_float(std::string name, std::string default_yaml, std::string doc,
                  double min = -std::numeric_limits<double>::infinity(),
                  double max = std::numeric_limits<double>::infinity());
ArgSpec arg_string(std::string name, std::string default_yaml, std::string doc);
ArgSpec arg_choice(std::string name, std::string default_yaml, std::vector<std::string> choices,
                   std::string doc);
ArgSpec arg_int_list(std::string name, std::string default_yaml, int list_size, std::string doc,
                     double min = -std::numeric_limits<double>::infinity(),
                     double max = std::numeric_limits<double>::infinity());
ArgSpec arg_float_list(std::string name, std::string default_yaml, int list_size, std::string doc,
                       double min = -std::numeric_limits<double>::infinity(),
                       double max = std::numeric_limits<double>::infinity());
ArgSpec arg_int_or_auto(std::string name, std::string default_yaml, std::string doc, double min = 1,
                        double max = std::numeric_limits<double>::infinity());
ArgSpec nullable(ArgSpec spec);  // the same argument, also accepting null

}  // namespace capflow::graph
