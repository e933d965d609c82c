// Tests of schemas and pipeline files: parsing, defaults, overrides, every validation error
// with its exact file:line:column, and the resolved YAML round trip. Uses a small hand-made
// catalog (files -> decode -> augment -> batch -> sink), not the real node registry.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "graph/errors.h"
#include "graph/pipeline_spec.h"
#include "graph/resolved_conditions.h"
#include "graph/schema.h"
#include "tests/test_catalog.h"
#include "tests/test_support.h"

namespace capflow::graph {
namespace {

// The shared example catalog, with more argument types on files and augment.
class TestCatalog : public testing::MapCatalog {
 public:
  TestCatalog() {
    testing::add_example_schemas(*this);
    mutable_node("files").args = {arg_int("limit", "0", "Stop after this many files; 0 = all.", 0)};
    mutable_node("decode").doc = "Decodes PNG or JPEG bytes to a gray image.";

    ArgSpec scales;
    scales.name = "scales";
    scales.type = ArgType::kFloatList;
    scales.default_yaml = "[0.5, 1]";
    scales.doc = "Scale factors to pick from.";
    scales.min = 0;
    ArgSpec names;
    names.name = "names";
    names.type = ArgType::kStringList;
    names.default_yaml = "[]";
    names.doc = "Names of the variants.";
    std::vector<ArgSpec>& augment = mutable_node("augment").args;
    augment.push_back(arg_bool("rotate", "true", "Rotate by a random multiple of 90 degrees."));
    augment.push_back(
        nullable(arg_int("crop", "null", "Crop to this side first; null = no crop.", 1)));
    augment.push_back(arg_string("tag", "\"007\"", "A label written into the trace."));
    augment.push_back(scales);
    augment.push_back(names);
  }

  // A section with a required key, for the missing-required tests.
  void add_train_section() {
    SectionSchema train;
    train.name = "train";
    train.args = {arg_int("epochs", "", "Passes over the data.", 1)};
    add_section(train);
  }
};

const TestCatalog& catalog() {
  static const TestCatalog c;
  return c;
}

// Line numbers below refer to this file.
const std::string kGood =
    "seed: 7\n"                                                                   // 1
    "data: {root: data/x}\n"                                                      // 2
    "resources: {threads: 2}\n"                                                   // 3
    "nodes:\n"                                                                    // 4
    "  read: {kind: files}\n"                                                     // 5
    "  decode: {kind: decode, concurrency: auto, device: cpu, max_side: 2048}\n"  // 6
    "  augment: {kind: augment, size: [128, 96], noise: 0.5, mode: slow}\n"       // 7
    "  batch: {kind: batch, size: 16}\n"                                          // 8
    "  sink: {kind: sink}\n"                                                      // 9
    "edges: [read, decode, augment, batch, sink]\n";                              // 10

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::string text_of(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

// kGood with line `n` (1-based) replaced.
std::string with_line(int n, const std::string& replacement) {
  std::vector<std::string> lines = lines_of(kGood);
  lines.at(n - 1) = replacement;
  return text_of(lines);
}

// "p.yaml:LINE:COL" where COL is where `token` starts in line `line` of `text`.
std::string at(const std::string& text, int line, const std::string& token) {
  const std::string l = lines_of(text).at(line - 1);
  const std::size_t col = l.find(token);
  EXPECT_NE(col, std::string::npos) << "'" << token << "' not in line " << line << ": " << l;
  return "p.yaml:" + std::to_string(line) + ":" + std::to_string(col + 1);
}

PipelineSpec parse(const std::string& text, const std::vector<std::string>& overrides = {},
                   const SchemaCatalog& c = catalog()) {
  return parse_pipeline(text, "p.yaml", overrides, c);
}

// The message of the ConfigError that parsing throws ("" when it does not throw).
std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {},
                     const SchemaCatalog& c = catalog()) {
  try {
    parse(text, overrides, c);
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.exit_status(), kExitUsage);
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError for:\n" << text;
  return "";
}

// ---------------------------------------------------------------------------------------------
// Schemas

TEST(Schema, NamesAndBuilders) {
  EXPECT_STREQ(arg_type_name(ArgType::kInt), "int");
  EXPECT_STREQ(arg_type_name(ArgType::kFloat), "float");
  EXPECT_STREQ(arg_type_name(ArgType::kIntList), "int list");
  EXPECT_STREQ(arg_type_name(ArgType::kIntOrAuto), "int or auto");
  EXPECT_STREQ(node_role_name(NodeRole::kSource), "source");
  EXPECT_STREQ(node_role_name(NodeRole::kCollect), "collect");

  const ArgSpec size = arg_int_list("size", "[224, 224]", 2, "Output size.", 1, 4096);
  EXPECT_EQ(size.type, ArgType::kIntList);
  EXPECT_EQ(size.list_size, 2);
  EXPECT_EQ(size.min, 1);
  EXPECT_EQ(size.max, 4096);
  EXPECT_FALSE(size.required());
  EXPECT_TRUE(arg_int("n", "", "").required());
  EXPECT_EQ(arg_int_or_auto("threads", "auto", "").min, 1);
  const ArgSpec mode = arg_choice("mode", "a", {"a", "b"}, "Mode.");
  EXPECT_EQ(mode.choices, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(mode.nullable);
  EXPECT_TRUE(nullable(mode).nullable);

  const NodeSchema* augment = catalog().node_schema("augment");
  ASSERT_NE(augment, nullptr);
  ASSERT_NE(augment->arg("noise"), nullptr);
  EXPECT_EQ(augment->arg("noise")->type, ArgType::kFloat);
  EXPECT_EQ(augment->arg("nope"), nullptr);
  EXPECT_NE(catalog().section_schema("data")->arg("root"), nullptr);
  EXPECT_EQ(catalog().section_schema("data")->arg("nope"), nullptr);
}

// ---------------------------------------------------------------------------------------------
// Diagnostics

TEST(SpecDiagnostics, FormatSortsOverridesFirstThenByLineAndColumn) {
  EXPECT_EQ(format_location(Location{"p.yaml", 3, 7}), "p.yaml:3:7");
  EXPECT_EQ(format_location(Location{"--set a=1", 0, 0}), "--set a=1");
  Diagnostics d;
  EXPECT_TRUE(d.empty());
  EXPECT_NO_THROW(d.throw_if_any());
  d.add(Location{"p.yaml", 9, 2}, "c");
  d.add(Location{"p.yaml", 2, 5}, "b");
  d.add(Location{"--set x=1", 0, 0}, "a");
  d.add(Location{"p.yaml", 2, 1}, "a2");
  EXPECT_EQ(d.items().size(), 4u);
  EXPECT_EQ(d.format(), "--set x=1: a\np.yaml:2:1: a2\np.yaml:2:5: b\np.yaml:9:2: c");
  try {
    d.throw_if_any();
    FAIL() << "no throw";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "4 problems in p.yaml:\n" + d.format());
  }
  Diagnostics one;
  one.add(Location{"p.yaml", 1, 1}, "only");
  EXPECT_THROW(
      {
        try {
          one.throw_if_any();
        } catch (const ConfigError& e) {
          EXPECT_EQ(std::string(e.what()), "p.yaml:1:1: only");
          throw;
        }
      },
      ConfigError);
}

// ---------------------------------------------------------------------------------------------
// Good files, defaults, accessors

TEST(PipelineSpec, ParsesAGoodFile) {
  const PipelineSpec spec = parse(kGood);
  EXPECT_EQ(spec.file, "p.yaml");
  EXPECT_EQ(spec.seed, 7u);
  ASSERT_EQ(spec.nodes.size(), 5u);
  const std::vector<std::string> order = {"read", "decode", "augment", "batch", "sink"};
  for (std::size_t i = 0; i < order.size(); ++i) EXPECT_EQ(spec.nodes[i].name, order[i]);

  const NodeSpec* decode = spec.node("decode");
  ASSERT_NE(decode, nullptr);
  EXPECT_EQ(decode->kind, "decode");
  EXPECT_EQ(decode->schema, catalog().node_schema("decode"));
  EXPECT_EQ(decode->device, "cpu");
  EXPECT_TRUE(decode->concurrency.automatic);
  EXPECT_EQ(decode->args.owner(), "node 'decode'");
  EXPECT_EQ(decode->args.get_int("max_side"), 2048);
  EXPECT_EQ(format_location(decode->where), "p.yaml:6:3");
  EXPECT_EQ(format_location(decode->args.where("max_side")), at(kGood, 6, "2048"));

  const NodeSpec* augment = spec.node("augment");
  ASSERT_NE(augment, nullptr);
  EXPECT_EQ(augment->args.get_int_list("size"), (std::vector<std::int64_t>{128, 96}));
  EXPECT_DOUBLE_EQ(augment->args.get_float("noise"), 0.5);
  EXPECT_EQ(augment->args.get_string("mode"), "slow");
  EXPECT_TRUE(augment->args.get_bool("rotate"));
  EXPECT_TRUE(augment->args.is_null("crop"));
  EXPECT_EQ(augment->args.get_string("tag"), "007");
  EXPECT_EQ(augment->args.get_float_list("scales"), (std::vector<double>{0.5, 1.0}));
  EXPECT_TRUE(augment->args.get_string_list("names").empty());
  EXPECT_FALSE(augment->concurrency.automatic);
  EXPECT_EQ(augment->concurrency.count, 1);
  EXPECT_EQ(spec.node("batch")->args.get_int("size"), 16);
  EXPECT_EQ(spec.node("nope"), nullptr);

  EXPECT_EQ(spec.section("data").owner(), "section 'data'");
  EXPECT_EQ(spec.section("data").get_string("root"), "data/x");
  EXPECT_EQ(spec.section("resources").get_int("threads"), 2);
}

TEST(PipelineSpec, FillsDefaults) {
  const std::string text =
      "nodes:\n"
      "  read: {kind: files}\n"
      "  decode: {kind: decode}\n"
      "  augment: {kind: augment}\n"
      "  batch: {kind: batch, size: 8}\n"
      "  sink: {kind: sink}\n";
  const PipelineSpec spec = parse(text);
  EXPECT_EQ(spec.seed, 42u);
  ASSERT_EQ(spec.sections.size(), 2u);
  const Args& data = spec.section("data");
  EXPECT_EQ(data.get_string("root"), "data/demo");
  EXPECT_EQ(data.get_string("labels"), "train_labels.csv");
  EXPECT_DOUBLE_EQ(data.get_float("val_fraction"), 0.05);
  EXPECT_EQ(format_location(data.where("root")), "p.yaml:1:1");  // section absent: the root
  const Args& resources = spec.section("resources");
  EXPECT_EQ(resources.get_int("threads"), 0);  // auto
  EXPECT_EQ(resources.get_int("max_in_flight"), 4);

  // Without `edges` the order of `nodes` is the chain.
  ASSERT_EQ(spec.nodes.size(), 5u);
  EXPECT_EQ(spec.nodes.front().name, "read");
  EXPECT_EQ(spec.nodes.back().name, "sink");
  const NodeSpec& decode = spec.nodes[1];
  EXPECT_EQ(decode.device, "cpu");
  EXPECT_TRUE(decode.concurrency.automatic);  // the schema's default
  EXPECT_EQ(decode.args.get_int("max_side"), 4096);
  EXPECT_EQ(format_location(decode.args.where("max_side")), "p.yaml:3:3");  // the node
  const NodeSpec& augment = spec.nodes[2];
  EXPECT_FALSE(augment.concurrency.automatic);
  EXPECT_EQ(augment.concurrency.count, 1);
  EXPECT_EQ(augment.args.get_int_list("size"), (std::vector<std::int64_t>{224, 224}));
  EXPECT_DOUBLE_EQ(augment.args.get_float("noise"), 0.0);
  EXPECT_EQ(augment.args.get_string("mode"), "fast");
  EXPECT_TRUE(augment.args.is_null("crop"));
  EXPECT_EQ(augment.args.values().size(), catalog().node_schema("augment")->args.size());
}

TEST(PipelineSpec, EmptySectionMeansDefaults) {
  const PipelineSpec spec = parse(with_line(2, "data:"));
  EXPECT_EQ(spec.section("data").get_string("root"), "data/demo");
  EXPECT_EQ(format_location(spec.section("data").where("root")), "p.yaml:2:1");
}

TEST(PipelineSpec, AccessorsRejectProgrammingErrors) {
  const PipelineSpec spec = parse(kGood);
  const Args& augment = spec.node("augment")->args;
  EXPECT_THROW(augment.get_int("noise"), ConfigError);
  EXPECT_THROW(augment.get_string("size"), ConfigError);
  EXPECT_THROW(augment.get_int("crop"), ConfigError);  // null
  EXPECT_THROW(augment.where("nope"), ConfigError);
  EXPECT_THROW(spec.section("train"), ConfigError);
  try {
    augment.get_bool("nope");
    FAIL() << "no throw";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "node 'augment': no argument 'nope'");
  }
  try {
    augment.get_int("mode");
    FAIL() << "no throw";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "node 'augment': argument 'mode' holds string, not int");
  }
  // get_float and get_float_list accept integers.
  EXPECT_DOUBLE_EQ(spec.node("decode")->args.get_float("max_side"), 2048.0);
  EXPECT_EQ(augment.get_float_list("size"), (std::vector<double>{128, 96}));
}

TEST(PipelineSpec, LoadsAFileAndNamesAMissingOne) {
  const std::string path = testing::write_temp_file("spec_good.yaml", kGood);
  const PipelineSpec spec = load_pipeline(path, {"seed=3"}, catalog());
  EXPECT_EQ(spec.file, path);
  EXPECT_EQ(spec.seed, 3u);
  std::remove(path.c_str());
  try {
    load_pipeline("/nonexistent/dir/p.yaml", {}, catalog());
    FAIL() << "no throw";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot read pipeline file '/nonexistent/dir/p.yaml': No such file or directory");
  }
  const std::string bad = testing::write_temp_file("spec_bad.yaml", with_line(1, "seed: x"));
  try {
    load_pipeline(bad, {}, catalog());
    FAIL() << "no throw";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), bad + ":1:7: 'seed' must be an integer >= 0, got 'x'");
  }
  std::remove(bad.c_str());
}

// ---------------------------------------------------------------------------------------------
// Document-level errors

TEST(PipelineErrors, YamlSyntaxError) {
  const std::string text = "nodes:\n  read: {kind: files\n  decode: {kind: decode}\n";
  const std::string message = error_of(text);
  EXPECT_EQ(message.rfind("p.yaml:3:", 0), 0u) << message;
  EXPECT_NE(message.find(": invalid YAML: "), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "only one problem: " << message;
  EXPECT_EQ(error_of("a: 1\n b: 2\n"), "p.yaml:2:3: invalid YAML: illegal map value");
}

TEST(PipelineErrors, EmptyFileAndNonMappingRoot) {
  const std::string empty =
      "p.yaml:1:1: the pipeline file is empty; expected a mapping with at least 'nodes'";
  EXPECT_EQ(error_of(""), empty);
  EXPECT_EQ(error_of("# just a comment\n"), empty);
  EXPECT_EQ(error_of("\n- a\n- b\n"),
            "p.yaml:2:1: the top level must be a mapping (seed, nodes, edges and sections), "
            "got a list");
  EXPECT_EQ(error_of("hello\n"),
            "p.yaml:1:1: the top level must be a mapping (seed, nodes, edges and sections), "
            "got 'hello'");
}

TEST(PipelineErrors, UnknownTopLevelKey) {
  const std::string text = kGood + "dta: {root: x}\n";
  EXPECT_EQ(error_of(text),
            "p.yaml:11:1: unknown top-level key 'dta' (did you mean 'data'?); allowed keys: "
            "data, edges, nodes, resources, seed, when");
  EXPECT_EQ(error_of(kGood + "training: 1\n"),
            "p.yaml:11:1: unknown top-level key 'training'; allowed keys: data, edges, nodes, "
            "resources, seed, when");
}

TEST(PipelineErrors, DuplicateKey) {
  const std::string text = kGood + "seed: 8\n";
  EXPECT_EQ(error_of(text), "p.yaml:11:1: duplicate key 'seed' (first written at p.yaml:1:1)");
}

TEST(PipelineErrors, Seed) {
  EXPECT_EQ(error_of(with_line(1, "seed: -1")),
            "p.yaml:1:7: 'seed' must be an integer >= 0, got '-1'");
  EXPECT_EQ(error_of(with_line(1, "seed: [1]")),
            "p.yaml:1:7: 'seed' must be an integer >= 0, got a list");
  EXPECT_EQ(parse(with_line(1, "seed: 0")).seed, 0u);
}

// ---------------------------------------------------------------------------------------------
// Sections

TEST(PipelineErrors, SectionNotAMapping) {
  EXPECT_EQ(error_of(with_line(2, "data: data/x")),
            "p.yaml:2:7: section 'data' must be a mapping, got 'data/x'");
}

TEST(PipelineErrors, SectionUnknownKey) {
  const std::string text = with_line(2, "data: {rot: data/x}");
  EXPECT_EQ(error_of(text), at(text, 2, "rot") +
                                ": section 'data': unknown key 'rot' (did you mean 'root'?); "
                                "accepted: labels, root, val_fraction");
}

TEST(PipelineErrors, SectionWrongTypeAndRange) {
  std::string text = with_line(2, "data: {val_fraction: x}");
  EXPECT_EQ(error_of(text),
            at(text, 2, "x}") + ": section 'data': key 'val_fraction' expects float, got 'x'");
  text = with_line(2, "data: {val_fraction: 1.5}");
  EXPECT_EQ(error_of(text), at(text, 2, "1.5") +
                                ": section 'data': key 'val_fraction' must be between 0 and 1, "
                                "got 1.5");
  text = with_line(3, "resources: {threads: 0}");
  EXPECT_EQ(error_of(text),
            at(text, 3, "0}") + ": section 'resources': key 'threads' must be >= 1, got 0");
  text = with_line(3, "resources: {threads: many}");
  EXPECT_EQ(error_of(text), at(text, 3, "many") +
                                ": section 'resources': key 'threads' expects int or auto, got "
                                "'many'");
  text = with_line(2, "data: {root: [a, b]}");
  EXPECT_EQ(error_of(text),
            at(text, 2, "[a") + ": section 'data': key 'root' expects string, got a list");
}

TEST(PipelineErrors, SectionMissingRequiredKey) {
  TestCatalog with_train;
  with_train.add_train_section();
  // Section written: at its key.
  std::string text = kGood + "train: {}\n";
  EXPECT_EQ(error_of(text, {}, with_train),
            "p.yaml:11:1: section 'train': missing required key 'epochs' (int)");
  // Section absent: at the root.
  text = "# comment\n" + kGood;
  EXPECT_EQ(error_of(text, {}, with_train),
            "p.yaml:2:1: section 'train': missing required key 'epochs' (int)");
  EXPECT_EQ(
      parse(kGood + "train: {epochs: 2}\n", {}, with_train).section("train").get_int("epochs"), 2);
}

// ---------------------------------------------------------------------------------------------
// Nodes

TEST(PipelineErrors, NodesMissingOrNotAMapping) {
  EXPECT_EQ(error_of("seed: 1\ndata: {}\n"),
            "p.yaml:1:1: missing required key 'nodes' (a mapping of node name to node)");
  EXPECT_EQ(error_of("nodes: [read, sink]\n"),
            "p.yaml:1:8: 'nodes' must be a mapping of node name to node, got a list");
  EXPECT_EQ(error_of("nodes: {}\n"),
            "p.yaml:1:8: 'nodes' is empty; a pipeline needs at least a source and a sink");
}

TEST(PipelineErrors, BadNodeName) {
  std::string text = with_line(9, "  the-sink: {kind: sink}");
  text = text.substr(0, text.find("edges:")) + "edges: [read, decode, augment, batch, the-sink]\n";
  EXPECT_EQ(error_of(text),
            "p.yaml:9:3: invalid node name 'the-sink': use letters, digits and "
            "'_', not starting with a digit");
}

TEST(PipelineErrors, NodeNotAMapping) {
  const std::string text = with_line(9, "  sink: sink");
  EXPECT_EQ(error_of(text),
            "p.yaml:9:9: node 'sink' must be a mapping with at least 'kind', got 'sink'");
}

TEST(PipelineErrors, KindMissing) {
  EXPECT_EQ(error_of(with_line(9, "  sink: {device: cpu}")),
            "p.yaml:9:3: node 'sink': missing required key 'kind'");
}

TEST(PipelineErrors, UnknownKindSkipsArgumentAndChainChecks) {
  const std::string text = with_line(6, "  decode: {kind: decod, max_sid: 1, whatever: [1]}");
  EXPECT_EQ(error_of(text), at(text, 6, "decod,") +
                                ": node 'decode': unknown kind 'decod' (did you mean 'decode'?); "
                                "known kinds: augment, batch, decode, files, sink");
  const std::string far = with_line(6, "  decode: {kind: jpeg2000}");
  EXPECT_EQ(error_of(far), at(far, 6, "jpeg") +
                               ": node 'decode': unknown kind 'jpeg2000'; known kinds: "
                               "augment, batch, decode, files, sink");
}

TEST(PipelineErrors, DeviceWithoutImplementation) {
  const std::string text = with_line(7, "  augment: {kind: augment, device: cuda}");
  EXPECT_EQ(error_of(text), at(text, 7, "cuda") +
                                ": node 'augment': kind 'augment' has no 'cuda' implementation "
                                "in this build (available: cpu)");
  const PipelineSpec spec = parse(with_line(6, "  decode: {kind: decode, device: cuda}"));
  EXPECT_EQ(spec.node("decode")->device, "cuda");
  const std::string list = with_line(7, "  augment: {kind: augment, device: [cpu]}");
  EXPECT_EQ(error_of(list),
            at(list, 7, "[cpu") +
                ": node 'augment': 'device' must be a device name such as cpu, got a list");
}

TEST(PipelineSpec, ConcurrencyForms) {
  const auto concurrency = [](const std::string& value) {
    const std::string text = with_line(7, "  augment: {kind: augment, concurrency: " + value + "}");
    return parse(text).node("augment")->concurrency;
  };
  EXPECT_EQ(concurrency("serial").count, 1);
  EXPECT_FALSE(concurrency("serial").automatic);
  EXPECT_TRUE(concurrency("auto").automatic);
  EXPECT_EQ(concurrency("3").count, 3);
  EXPECT_FALSE(concurrency("3").automatic);
  EXPECT_EQ(concurrency("1").count, 1);
  for (const std::string bad : {"0", "-2", "1.5", "many", "[2]"}) {
    const std::string text = with_line(7, "  augment: {kind: augment, concurrency: " + bad + "}");
    const std::string shown = bad == "[2]" ? "a list" : "'" + bad + "'";
    EXPECT_EQ(error_of(text), at(text, 7, bad + "}") +
                                  ": node 'augment': concurrency must be serial, auto or an "
                                  "integer >= 1, got " +
                                  shown);
  }
}

TEST(PipelineErrors, ConcurrencyOnlyOnTransformNodes) {
  // Sources, collectors and sinks run serially: `serial` or 1 is fine, anything else is
  // rejected here, before a runner makes datasets or writes files.
  EXPECT_NO_THROW(parse(with_line(8, "  batch: {kind: batch, size: 16, concurrency: serial}")));
  EXPECT_NO_THROW(parse(with_line(5, "  read: {kind: files, concurrency: 1}")));
  const std::string batch = with_line(8, "  batch: {kind: batch, size: 16, concurrency: 2}");
  EXPECT_EQ(error_of(batch), at(batch, 8, "2}") +
                                 ": node 'batch': a collect node runs serially; remove its "
                                 "concurrency (got '2')");
  const std::string read = with_line(5, "  read: {kind: files, concurrency: auto}");
  EXPECT_EQ(error_of(read), at(read, 5, "auto}") +
                                ": node 'read': a source node runs serially; remove its "
                                "concurrency (got 'auto')");
  EXPECT_EQ(error_of(kGood, {"nodes.sink.concurrency=4"}),
            "--set nodes.sink.concurrency=4: node 'sink': a sink node runs serially; remove its "
            "concurrency (got '4')");
}

struct ArgCase {
  std::string augment;  // the inside of augment's mapping after `kind: augment, `
  std::string token;    // where the error points in line 7
  std::string message;
};

TEST(PipelineErrors, ArgumentErrors) {
  const std::vector<ArgCase> cases = {
      {"siz: [1, 2]", "siz",
       "node 'augment': unknown argument 'siz' (did you mean 'size'?); accepted: concurrency, "
       "crop, device, kind, mode, names, noise, rotate, scales, size, tag"},
      {"size: 224", "224", "node 'augment': argument 'size' expects int list, got '224'"},
      {"size: [1, 2, 3]", "[1", "node 'augment': argument 'size' expects a list of 2 items, got 3"},
      {"size: [1, x]", "x]", "node 'augment': argument 'size' item 2 expects int, got 'x'"},
      {"size: [0, 5]", "0,", "node 'augment': argument 'size' item 1 must be >= 1, got 0"},
      {"noise: high", "high", "node 'augment': argument 'noise' expects float, got 'high'"},
      {"noise: 1.5", "1.5", "node 'augment': argument 'noise' must be between 0 and 1, got 1.5"},
      {"noise: -1", "-1", "node 'augment': argument 'noise' must be between 0 and 1, got -1"},
      {"noise: \"0.5\"", "\"0.5",
       "node 'augment': argument 'noise' expects float, got \"0.5\" (a "
       "quoted string)"},
      {"mode: fsat", "fsat",
       "node 'augment': argument 'mode' must be one of fast, slow; got 'fsat' (did you mean "
       "'fast'?)"},
      {"mode: [fast]", "[fast", "node 'augment': argument 'mode' expects choice, got a list"},
      {"rotate: yes", "yes", "node 'augment': argument 'rotate' expects bool, got 'yes'"},
      {"rotate: ~", "~", "node 'augment': argument 'rotate' expects bool, got null"},
      {"crop: 0", "0}", "node 'augment': argument 'crop' must be >= 1, got 0"},
      {"crop: 2.5", "2.5", "node 'augment': argument 'crop' expects int, got '2.5'"},
      {"tag: {a: 1}", "{a", "node 'augment': argument 'tag' expects string, got a mapping"},
      {"scales: [0.5, -1]", "-1", "node 'augment': argument 'scales' item 2 must be >= 0, got -1"},
      {"names: [a, [b]]", "[b",
       "node 'augment': argument 'names' item 2 expects string, got a "
       "list"},
  };
  for (const ArgCase& c : cases) {
    const std::string text = with_line(7, "  augment: {kind: augment, " + c.augment + "}");
    EXPECT_EQ(error_of(text), at(text, 7, c.token) + ": " + c.message) << c.augment;
  }
}

TEST(PipelineErrors, IntArgumentErrors) {
  std::string text = with_line(8, "  batch: {kind: batch, size: abc}");
  EXPECT_EQ(error_of(text), "p.yaml:8:30: node 'batch': argument 'size' expects int, got 'abc'");
  text = with_line(8, "  batch: {kind: batch, size: 1.5}");
  EXPECT_EQ(error_of(text), "p.yaml:8:30: node 'batch': argument 'size' expects int, got '1.5'");
  text = with_line(8, "  batch: {kind: batch, size: 0}");
  EXPECT_EQ(error_of(text), "p.yaml:8:30: node 'batch': argument 'size' must be >= 1, got 0");
  text = with_line(8, "  batch: {kind: batch, size: 99999999999999999999}");
  EXPECT_EQ(error_of(text),
            "p.yaml:8:30: node 'batch': argument 'size' expects int, got "
            "'99999999999999999999'");
}

TEST(PipelineErrors, RequiredArgumentMissing) {
  EXPECT_EQ(error_of(with_line(8, "  batch: {kind: batch}")),
            "p.yaml:8:3: node 'batch': missing required argument 'size' (int)");
}

TEST(PipelineSpec, NullableAndTypedValues) {
  const std::string text =
      with_line(7,
                "  augment: {kind: augment, crop: 64, noise: 1, rotate: false, tag: 12, "
                "scales: [1, 2.5e-1], names: [a, 'b c']}");
  const PipelineSpec spec = parse(text);
  const Args& args = spec.node("augment")->args;
  EXPECT_EQ(args.get_int("crop"), 64);
  EXPECT_DOUBLE_EQ(args.get_float("noise"), 1.0);
  EXPECT_TRUE(std::holds_alternative<double>(args.values().at("noise")));
  EXPECT_FALSE(args.get_bool("rotate"));
  EXPECT_EQ(args.get_string("tag"), "12");
  EXPECT_EQ(args.get_float_list("scales"), (std::vector<double>{1.0, 0.25}));
  EXPECT_EQ(args.get_string_list("names"), (std::vector<std::string>{"a", "b c"}));
  EXPECT_TRUE(parse(with_line(7, "  augment: {kind: augment, crop: null}"))
                  .node("augment")
                  ->args.is_null("crop"));
}

TEST(PipelineErrors, NullDefaultOnlyForNullableArguments) {
  TestCatalog bad;
  NodeSchema sink = *bad.node_schema("sink");
  sink.args = {arg_int("level", "null", "Not nullable.")};
  bad.add(sink, {"cpu"});
  EXPECT_EQ(error_of(kGood, {}, bad),
            "p.yaml:9:3: node 'sink': default of argument 'level' expects int, got null");
}

// ---------------------------------------------------------------------------------------------
// Edges

TEST(PipelineErrors, EdgesNotAList) {
  EXPECT_EQ(error_of(with_line(10, "edges: read")),
            "p.yaml:10:8: 'edges' must be a list of node names, for example [read, decode, "
            "augment, batch, sink]; got 'read'");
}

TEST(PipelineErrors, EdgesUnknownNode) {
  const std::string text = with_line(10, "edges: [read, decod, augment, batch, sink]");
  const std::string message = error_of(text);
  EXPECT_EQ(message,
            "2 problems in p.yaml:\n"
            "p.yaml:6:3: node 'decode' is not listed in 'edges'\n" +
                at(text, 10, "decod") +
                ": edges: unknown node 'decod' (did you mean 'decode'?); nodes: read, "
                "decode, augment, batch, sink");
}

TEST(PipelineErrors, EdgesDuplicate) {
  const std::string text = with_line(10, "edges: [read, decode, augment, batch, decode, sink]");
  EXPECT_EQ(error_of(text),
            "p.yaml:10:39: edges: node 'decode' is listed more than once (first "
            "at p.yaml:10:15)");
}

TEST(PipelineErrors, EdgesMissingNode) {
  EXPECT_EQ(error_of(with_line(10, "edges: [read, decode, batch, sink]")),
            "p.yaml:7:3: node 'augment' is not listed in 'edges'");
  EXPECT_EQ(error_of(kGood, {"nodes.extra.kind=sink"}),
            "--set nodes.extra.kind=sink: node 'extra' is not listed in 'edges'");
}

TEST(PipelineErrors, EdgesTypeMismatch) {
  const std::string text = with_line(10, "edges: [read, decode, augment, sink, batch]");
  EXPECT_EQ(error_of(text),
            "3 problems in p.yaml:\n" + at(text, 10, "sink") +
                ": 'sink' (kind sink) is a sink, which can only be the last node\n" +
                at(text, 10, "sink") +
                ": edge 'augment' -> 'sink': 'augment' produces 'image' but 'sink' (kind sink) "
                "takes 'batch'\n" +
                at(text, 10, "batch") +
                ": the last node must be a sink, but 'batch' (kind batch) is a collect");
  // A plain mismatch with roles right: augment -> sink without batch.
  const std::string text2 = R"(nodes:
  read: {kind: files}
  augment: {kind: augment}
  sink: {kind: sink}
edges: [read, augment, sink]
)";
  EXPECT_EQ(error_of(text2),
            "2 problems in p.yaml:\n"
            "p.yaml:5:15: edge 'read' -> 'augment': 'read' produces 'sample' but 'augment' "
            "(kind augment) takes 'image'\n"
            "p.yaml:5:24: edge 'augment' -> 'sink': 'augment' produces 'image' but 'sink' "
            "(kind sink) takes 'batch'");
  // Without edges: at the node.
  const std::string text3 = text2.substr(0, text2.find("edges:"));
  EXPECT_EQ(error_of(text3),
            "2 problems in p.yaml:\n"
            "p.yaml:3:3: edge 'read' -> 'augment': 'read' produces 'sample' but 'augment' "
            "(kind augment) takes 'image'\n"
            "p.yaml:4:3: edge 'augment' -> 'sink': 'augment' produces 'image' but 'sink' "
            "(kind sink) takes 'batch'");
}

TEST(PipelineErrors, ChainRoles) {
  // Starts with a transform; a source in the middle.
  const std::string text = with_line(10, "edges: [decode, read, augment, batch, sink]");
  EXPECT_EQ(error_of(text),
            "3 problems in p.yaml:\n"
            "p.yaml:10:9: the first node must be a source, but 'decode' (kind decode) is a "
            "transform\n"
            "p.yaml:10:17: 'read' (kind files) is a source, which can only be the first node\n"
            "p.yaml:10:23: edge 'read' -> 'augment': 'read' produces 'sample' but 'augment' "
            "(kind augment) takes 'image'");
  // Two collect nodes.
  const std::string two = R"(nodes:
  read: {kind: files}
  decode: {kind: decode}
  b1: {kind: batch, size: 2}
  b2: {kind: batch, size: 2}
  sink: {kind: sink}
)";
  EXPECT_EQ(error_of(two),
            "2 problems in p.yaml:\n"
            "p.yaml:5:3: 'b2' (kind batch) is a second collect node (the first is 'b1'); a "
            "pipeline has at most one\n"
            "p.yaml:5:3: edge 'b1' -> 'b2': 'b1' produces 'batch' but 'b2' (kind batch) takes "
            "'image'");
}

TEST(PipelineErrors, ChainChecksSkipUnknownKinds) {
  const std::string text = R"(nodes:
  read: {kind: files}
  mystery: {kind: mystery}
  batch: {kind: batch, size: 2}
  sink: {kind: sink}
)";
  EXPECT_EQ(error_of(text),
            "p.yaml:3:19: node 'mystery': unknown kind 'mystery'; known kinds: augment, batch, "
            "decode, files, sink");
}

// ---------------------------------------------------------------------------------------------
// Many mistakes at once

TEST(PipelineErrors, EveryProblemReportedInOneError) {
  const std::string text =
      "seed: 7\n"                                               // 1
      "dat: {root: data/x}\n"                                   // 2
      "resources: {threads: 0, max_in_flight: 4}\n"             // 3
      "nodes:\n"                                                // 4
      "  read: {kind: files}\n"                                 // 5
      "  decode: {kind: decode, device: tpu, max_side: big}\n"  // 6
      "  augment: {kind: augmnet}\n"                            // 7
      "  batch: {kind: batch}\n"                                // 8
      "  sink: {kind: sink, concurrency: 0}\n"                  // 9
      "edges: [read, decode, augment, batch, sink, read]\n";    // 10
  const std::string message = error_of(text, {"nodes.batch.sise=4"});
  const std::string expected =
      "9 problems in p.yaml:\n"
      "--set nodes.batch.sise=4: node 'batch': unknown argument 'sise' (did you mean 'size'?); "
      "accepted: concurrency, device, kind, size\n"
      "p.yaml:2:1: unknown top-level key 'dat' (did you mean 'data'?); allowed keys: data, "
      "edges, nodes, resources, seed, when\n"
      "p.yaml:3:22: section 'resources': key 'threads' must be >= 1, got 0\n"
      "p.yaml:6:34: node 'decode': kind 'decode' has no 'tpu' implementation in this build "
      "(available: cpu, cuda)\n"
      "p.yaml:6:49: node 'decode': argument 'max_side' expects int, got 'big'\n"
      "p.yaml:7:19: node 'augment': unknown kind 'augmnet' (did you mean 'augment'?); known "
      "kinds: augment, batch, decode, files, sink\n"
      "p.yaml:8:3: node 'batch': missing required argument 'size' (int)\n"
      "p.yaml:9:35: node 'sink': concurrency must be serial, auto or an integer >= 1, got '0'\n"
      "p.yaml:10:45: edges: node 'read' is listed more than once (first at p.yaml:10:9)";
  EXPECT_EQ(message, expected);
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 9);
}

// ---------------------------------------------------------------------------------------------
// Overrides

TEST(PipelineOverrides, SetValues) {
  const PipelineSpec spec =
      parse(kGood, {"nodes.batch.size=64", "data.root=data/other", "seed=9",
                    "resources.threads=auto", "nodes.augment.size=[32, 48]", "data.labels=x.csv",
                    "nodes.decode.device=cuda", "nodes.augment.concurrency=4"});
  EXPECT_EQ(spec.node("batch")->args.get_int("size"), 64);
  EXPECT_EQ(format_location(spec.node("batch")->args.where("size")), "--set nodes.batch.size=64");
  EXPECT_EQ(spec.section("data").get_string("root"), "data/other");
  EXPECT_EQ(spec.section("data").get_string("labels"), "x.csv");
  EXPECT_EQ(spec.seed, 9u);
  EXPECT_EQ(spec.section("resources").get_int("threads"), 0);
  EXPECT_EQ(spec.node("augment")->args.get_int_list("size"), (std::vector<std::int64_t>{32, 48}));
  EXPECT_EQ(spec.node("decode")->device, "cuda");
  EXPECT_EQ(spec.node("augment")->concurrency.count, 4);
  // Sections absent from the file are created.
  const PipelineSpec minimal = parse(
      "nodes: {a: {kind: files}, b: {kind: decode}, c: {kind: augment}, "
      "d: {kind: batch, size: 1}, e: {kind: sink}}\n",
      {"resources.max_in_flight=2"});
  EXPECT_EQ(minimal.section("resources").get_int("max_in_flight"), 2);
}

TEST(PipelineOverrides, ErrorsNameTheOverride) {
  EXPECT_EQ(error_of(kGood, {"nodes.batch.size=abc"}),
            "--set nodes.batch.size=abc: node 'batch': argument 'size' expects int, got 'abc'");
  EXPECT_EQ(error_of(kGood, {"dat.root=x"}),
            "--set dat.root=x: unknown top-level key 'dat' (did you mean 'data'?); allowed keys: "
            "data, edges, nodes, resources, seed, when");
  EXPECT_EQ(error_of(kGood, {"data.rot=x"}),
            "--set data.rot=x: section 'data': unknown key 'rot' (did you mean 'root'?); "
            "accepted: labels, root, val_fraction");
  EXPECT_EQ(error_of(kGood, {"data.root"}),
            "--set data.root: expected dotted.key=value (for example data.root=DIR)");
  EXPECT_EQ(error_of(kGood, {"=4"}),
            "--set =4: empty key; expected dotted.key=value (for example data.root=DIR)");
  EXPECT_EQ(error_of(kGood, {"data..root=4"}),
            "--set data..root=4: empty name in key "
            "'data..root'");
  EXPECT_EQ(error_of(kGood, {"seed.x=1"}),
            "--set seed.x=1: cannot set 'seed.x': 'seed' is '7', not a mapping");
  EXPECT_EQ(error_of(kGood, {"nodes.read.kind.x=1"}),
            "--set nodes.read.kind.x=1: cannot set 'nodes.read.kind.x': 'nodes.read.kind' is "
            "'files', not a mapping");
  const std::string bad_yaml = error_of(kGood, {"nodes.augment.size=[1,"});
  EXPECT_EQ(bad_yaml.rfind("--set nodes.augment.size=[1,: cannot parse value '[1,' as YAML: ", 0),
            0u)
      << bad_yaml;
}

TEST(PipelineOverrides, ProblemsFromOverridesComeFirst) {
  const std::string text = with_line(8, "  batch: {kind: batch, size: x}");
  EXPECT_EQ(error_of(text, {"nodes.decode.max_side=0"}),
            "2 problems in p.yaml:\n"
            "--set nodes.decode.max_side=0: node 'decode': argument 'max_side' must be >= 1, "
            "got 0\n"
            "p.yaml:8:30: node 'batch': argument 'size' expects int, got 'x'");
}

// ---------------------------------------------------------------------------------------------
// Machine conditions (`when:`)

// The test catalog with two conditions: one that holds and one that does not.
class ConditionCatalog : public TestCatalog {
 public:
  ConditionCatalog() {
    add_condition({"fast_disk", "always here", [] { return true; }});
    add_condition({"slow_cpu", "never here", [] { return false; }});
  }
};

const ConditionCatalog& condition_catalog() {
  static const ConditionCatalog c;
  return c;
}

const std::string kWhen = kGood +
                          "when:\n"                                                           // 11
                          "  fast_disk: {nodes.batch.size: 4, resources.max_in_flight: 2}\n"  // 12
                          "  slow_cpu: {nodes.batch.size: 2, data.root: data/small}\n";       // 13

TEST(PipelineConditions, WhatHoldsAppliesBeforeSets) {
  const PipelineSpec spec = parse(kWhen, {}, condition_catalog());
  EXPECT_EQ(spec.node("batch")->args.get_int("size"), 4);
  EXPECT_EQ(spec.section("resources").get_int("max_in_flight"), 2);
  EXPECT_EQ(spec.section("data").get_string("root"), "data/x");  // slow_cpu does not hold
  EXPECT_EQ(format_location(spec.node("batch")->args.where("size")), at(kWhen, 12, "4,"));
  EXPECT_EQ(spec.conditions_applied,
            (std::vector<std::string>{"fast_disk: nodes.batch.size=4, resources.max_in_flight=2"}));
  // --set wins over a condition.
  EXPECT_EQ(
      parse(kWhen, {"nodes.batch.size=8"}, condition_catalog()).node("batch")->args.get_int("size"),
      8);
  // The resolved file says what was applied and holds the values: read back, it is the same.
  EXPECT_EQ(spec.resolved_yaml.rfind("# when fast_disk: nodes.batch.size=4, "
                                     "resources.max_in_flight=2 (held on the machine",
                                     0),
            0u)
      << spec.resolved_yaml;
  EXPECT_EQ(conditions_in_resolved(spec.resolved_yaml), spec.conditions_applied);
  EXPECT_TRUE(conditions_in_resolved(parse(kGood).resolved_yaml).empty());
  const PipelineSpec again = parse(spec.resolved_yaml, {}, condition_catalog());
  EXPECT_EQ(again.node("batch")->args.get_int("size"), 4);
  EXPECT_TRUE(again.conditions_applied.empty());
  // Without `when`, nothing is applied.
  EXPECT_TRUE(parse(kGood, {}, condition_catalog()).conditions_applied.empty());
}

TEST(PipelineConditions, UnknownConditionsAndShapes) {
  EXPECT_EQ(error_of(kGood + "when:\n  fast_dsk: {seed: 1}\n", {}, condition_catalog()),
            "p.yaml:12:3: when: unknown condition 'fast_dsk' (did you mean 'fast_disk'?); known "
            "conditions: fast_disk, slow_cpu");
  EXPECT_EQ(error_of(kGood + "when:\n  fast_disk: 3\n", {}, condition_catalog()),
            "p.yaml:12:14: when: 'fast_disk' must be a mapping of dotted.key to value (for "
            "example nodes.batch.size: 16), got '3'");
  EXPECT_EQ(error_of(kGood + "when: [fast_disk]\n", {}, condition_catalog()),
            "p.yaml:11:7: 'when' must be a mapping of condition name to overrides, got a list");
  EXPECT_EQ(error_of(kGood + "when: {x: {seed: 1}}\n"),
            "p.yaml:11:8: when: unknown condition 'x'; known conditions: none");
  EXPECT_EQ(error_of(kGood + "when: {fast_disk: {nodes..size: 1}}\n", {}, condition_catalog()),
            "p.yaml:11:20: empty name in key 'nodes..size'");
  EXPECT_EQ(error_of(kGood + "when: {fast_disk: {seed.x: 1}}\n", {}, condition_catalog()),
            "p.yaml:11:20: cannot set 'seed.x': 'seed' is '7', not a mapping");
  // `when` is read before overrides: setting it later would be silently ignored, so it is an
  // error, from --set and from a condition alike.
  EXPECT_EQ(error_of(kGood, {"when.fast_disk.seed=3"}, condition_catalog()),
            "--set when.fast_disk.seed=3: 'when' is read from the pipeline file before any "
            "override; it cannot be set by --set or by a condition's overrides");
  EXPECT_EQ(
      error_of(kGood + "when: {fast_disk: {when.slow_cpu.seed: 3}}\n", {}, condition_catalog()),
      "p.yaml:11:20: 'when' is read from the pipeline file before any override; it cannot "
      "be set by --set or by a condition's overrides");
}

TEST(PipelineConditions, OverridesOfAConditionThatDoesNotHoldAreStillChecked) {
  const std::string text = kGood + "when:\n  slow_cpu: {nodes.batch.sise: 2, seed: -1}\n";
  EXPECT_EQ(error_of(text, {}, condition_catalog()),
            "2 problems in p.yaml:\n"
            "p.yaml:12:14: when 'slow_cpu' (it does not hold on this machine): node 'batch': "
            "unknown argument 'sise' (did you mean 'size'?); accepted: concurrency, device, kind, "
            "size\n"
            "p.yaml:12:41: when 'slow_cpu' (it does not hold on this machine): 'seed' must be an "
            "integer >= 0, got '-1'");
  // A problem of the file itself is reported once, not again for the condition.
  const std::string both =
      with_line(8, "  batch: {kind: batch, size: x}") + "when: {slow_cpu: {seed: 3}}\n";
  EXPECT_EQ(error_of(both, {}, condition_catalog()),
            "p.yaml:8:30: node 'batch': argument 'size' expects int, got 'x'");
}

// ---------------------------------------------------------------------------------------------
// Resolved YAML

void expect_same_spec(const PipelineSpec& a, const PipelineSpec& b) {
  EXPECT_EQ(a.seed, b.seed);
  ASSERT_EQ(a.sections.size(), b.sections.size());
  for (const auto& [name, args] : a.sections) {
    ASSERT_EQ(b.sections.count(name), 1u) << name;
    EXPECT_EQ(args.owner(), b.sections.at(name).owner());
    EXPECT_EQ(args.values(), b.sections.at(name).values()) << name;
  }
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  for (std::size_t i = 0; i < a.nodes.size(); ++i) {
    const NodeSpec& x = a.nodes[i];
    const NodeSpec& y = b.nodes[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.kind, y.kind);
    EXPECT_EQ(x.device, y.device);
    EXPECT_EQ(x.concurrency.count, y.concurrency.count) << x.name;
    EXPECT_EQ(x.concurrency.automatic, y.concurrency.automatic) << x.name;
    EXPECT_EQ(x.schema, y.schema);
    EXPECT_EQ(x.args.owner(), y.args.owner());
    EXPECT_EQ(x.args.values(), y.args.values()) << x.name;
  }
}

TEST(PipelineResolved, RoundTrips) {
  const std::string text =
      "seed: 11\n"
      "data: {root: 'data dir/x', labels: '42', val_fraction: 0.1}\n"
      "resources: {threads: 3}\n"
      "nodes:\n"
      "  sink: {kind: sink}\n"
      "  read: {kind: files, limit: 12}\n"
      "  decode: {kind: decode, device: cuda, concurrency: 2}\n"
      "  augment: {kind: augment, noise: 0.001, crop: 96, tag: 'null', mode: slow,\n"
      "            scales: [0.3, 1e-3, 2], names: ['true', auto, 'a: b']}\n"
      "  batch: {kind: batch, size: 32, concurrency: serial}\n"
      "edges: [read, decode, augment, batch, sink]\n";
  const PipelineSpec spec = parse(text);
  const PipelineSpec again = parse(spec.resolved_yaml);
  expect_same_spec(spec, again);
  EXPECT_EQ(again.resolved_yaml, spec.resolved_yaml);
  EXPECT_EQ(again.nodes.front().name, "read");
  EXPECT_EQ(again.section("data").get_string("labels"), "42");
  EXPECT_EQ(again.node("augment")->args.get_string("tag"), "null");

  // Defaults, auto and null come back too.
  const PipelineSpec defaults = parse(with_line(3, "resources: {}"));
  const PipelineSpec defaults_again = parse(defaults.resolved_yaml);
  expect_same_spec(defaults, defaults_again);
}

TEST(PipelineResolved, WritesEveryValue) {
  const PipelineSpec spec = parse(with_line(3, "resources: {}"));
  const std::string& y = spec.resolved_yaml;
  for (const char* expected :
       {"seed: 7", "threads: auto", "max_in_flight: 4", "root: data/x", "val_fraction: 0.05",
        "labels: train_labels.csv", "concurrency: auto", "concurrency: serial", "device: cpu",
        "max_side: 2048", "size: [128, 96]", "noise: 0.5", "crop: ~", "tag: \"007\"",
        "scales: [0.5, 1.0]", "names: []", "rotate: true", "limit: 0",
        "edges: [read, decode, augment, batch, sink]"}) {
    EXPECT_NE(y.find(expected), std::string::npos) << expected << " not in:\n" << y;
  }
  // Nodes in edge order.
  EXPECT_LT(y.find("  read:"), y.find("  decode:"));
  EXPECT_LT(y.find("  batch:"), y.find("  sink:"));
}

}  // namespace
}  // namespace capflow::graph
