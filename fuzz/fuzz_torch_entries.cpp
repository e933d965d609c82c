// The fuzz entries that need the node catalog or LibTorch (see fuzz_entries.h): the pipeline
// loader (YAML text and --set overrides, validated against every registered node kind) and the
// checkpoint reader.
#include <torch/torch.h>

#include <map>

#include "fuzz/fuzz_entries.h"
#include "graph/errors.h"
#include "graph/pipeline_spec.h"
#include "graph/registry.h"
#include "nodes/model/checkpoint_info.h"
#include "nodes/register_nodes.h"

namespace capflow::fuzz {

namespace {

const graph::Registry& catalog() {
  static const graph::Registry registry = [] {
    graph::Registry r;
    nodes::register_all(r);
    return r;
  }();
  return registry;
}

void pipeline(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> parts = split_pipeline_input(data, size);
  const std::string yaml = std::move(parts.front());
  parts.erase(parts.begin());
  try {
    graph::parse_pipeline(yaml, "fuzz.yaml", parts, catalog());
  } catch (const ConfigError&) {
  }
}

void checkpoint(const std::uint8_t* data, std::size_t size) {
  MemoryFile file(data, size);
  try {
    model::read_checkpoint_info(file.path());
  } catch (const ConfigError&) {
  }
}

const std::map<std::string, Entry>& entries() {
  static const std::map<std::string, Entry> table = {{"pipeline", pipeline},
                                                     {"checkpoint", checkpoint}};
  return table;
}

}  // namespace

Entry torch_entry(const std::string& target) {
  const auto it = entries().find(target);
  return it == entries().end() ? nullptr : it->second;
}

std::vector<std::string> torch_targets() { return {"checkpoint", "pipeline"}; }

void write_checkpoint_seed(const std::string& path) {
  torch::serialize::OutputArchive archive;
  const auto put = [&](const std::string& name, c10::IValue value) {
    archive.write("capflow." + name, value);
  };
  put("format", std::string(model::kCheckpointFormat));
  for (const char* name : {"step", "epoch", "groups_done", "images", "world_size", "encoder_depth",
                           "embed", "hidden", "attention", "image_width", "image_height",
                           "encoder_stages", "encoder_width", "formula_head"})
    put(name, c10::IValue(std::int64_t{7}));
  for (const char* name : {"loss", "seconds", "dropout"}) put(name, c10::IValue(0.5));
  for (const char* name : {"precision", "config_yaml", "notation"}) put(name, std::string("bf16"));
  put("vocabulary", c10::List<std::string>({"<pad>", "C", "H", "/c"}));
  archive.save_to(path);
}

}  // namespace capflow::fuzz
