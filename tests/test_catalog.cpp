#include "tests/test_catalog.h"

#include <utility>

namespace capflow::testing {

using graph::NodeRole;
using graph::NodeSchema;
using graph::SectionSchema;

namespace {

template <typename T>
const T* find_in(const std::map<std::string, T>& m, const std::string& key) {
  const auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

template <typename T>
std::vector<std::string> keys_of(const std::map<std::string, T>& m) {
  std::vector<std::string> out;
  for (const auto& [k, v] : m) out.push_back(k);
  return out;
}

}  // namespace

void MapCatalog::add(const NodeSchema& s, std::vector<std::string> devices) {
  nodes_[s.kind] = s;
  devices_[s.kind] = std::move(devices);
}

void MapCatalog::add_section(const SectionSchema& s) { sections_[s.name] = s; }

NodeSchema& MapCatalog::mutable_node(const std::string& kind) { return nodes_.at(kind); }

const NodeSchema* MapCatalog::node_schema(const std::string& kind) const {
  return find_in(nodes_, kind);
}

std::vector<std::string> MapCatalog::kinds() const { return keys_of(nodes_); }

std::vector<std::string> MapCatalog::devices(const std::string& kind) const {
  const std::vector<std::string>* d = find_in(devices_, kind);
  return d == nullptr ? std::vector<std::string>{} : *d;
}

const SectionSchema* MapCatalog::section_schema(const std::string& name) const {
  return find_in(sections_, name);
}

std::vector<std::string> MapCatalog::sections() const { return keys_of(sections_); }

namespace {

NodeSchema node(const std::string& kind, const std::string& doc, NodeRole role,
                const std::string& input, const std::string& output) {
  NodeSchema s;
  s.kind = kind;
  s.doc = doc;
  s.role = role;
  s.input = input;
  s.output = output;
  return s;
}

}  // namespace

void add_example_schemas(MapCatalog& c) {
  using namespace graph;
  c.add(node("files", "Lists the image files of the data root.", NodeRole::kSource, "", "sample"),
        {"cpu"});

  NodeSchema decode =
      node("decode", "Decodes PNG or JPEG bytes.", NodeRole::kTransform, "sample", "image");
  decode.default_concurrency = "auto";
  decode.args = {arg_int("max_side", "4096", "Largest accepted side in pixels.", 1)};
  c.add(decode, {"cpu", "cuda"});

  NodeSchema augment =
      node("augment", "Resizes and adds noise.", NodeRole::kTransform, "image", "image");
  augment.args = {
      arg_int_list("size", "[224, 224]", 2, "Output height and width.", 1),
      arg_float("noise", "0", "Gaussian noise sigma.", 0, 1),
      arg_choice("mode", "fast", {"fast", "slow"}, "Resampling mode."),
  };
  c.add(augment, {"cpu"});

  NodeSchema batch =
      node("batch", "Collects images into batches.", NodeRole::kCollect, "image", "batch");
  batch.ordered = true;
  batch.args = {arg_int("size", "", "Images per batch.", 1)};
  c.add(batch, {"cpu"});

  c.add(node("sink", "Drops batches.", NodeRole::kSink, "batch", ""), {"cpu"});

  SectionSchema data;
  data.name = "data";
  data.doc = "Where the images and labels are.";
  data.args = {arg_string("root", "data/demo", "Dataset folder."),
               arg_string("labels", "train_labels.csv", "Labels file, relative to root."),
               arg_float("val_fraction", "0.05", "Share held out for validation.", 0, 1)};
  c.add_section(data);

  SectionSchema resources;
  resources.name = "resources";
  resources.doc = "Threads and memory.";
  resources.args = {arg_int_or_auto("threads", "auto", "Worker threads."),
                    arg_int("max_in_flight", "4", "Batches in flight.", 1)};
  c.add_section(resources);
}

}  // namespace capflow::testing
