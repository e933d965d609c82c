// The generic node fixture of capflow-bench: any registered node (or a run of consecutive
// nodes) instantiated from a YAML pipeline snippet exactly as the engine creates it (registry,
// NodeContext, shared objects), then driven serially without a flow graph. The nodes in front
// of the timed ones run first to make its inputs (read → decode → … gives decode_image real
// samples, augment real decoded images, encode real batches); the timed call then runs on
// those inputs over and over.
//
//   NodeFixture f(yaml);                  // every node created, in `edges` order
//   f.prepare("decode", 64);              // 64 inputs for decode, made by the nodes before it
//   for (auto _ : state) f.run_once("decode");  // decode on the next input (cycling)
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "graph/node.h"
#include "graph/pipeline_spec.h"

namespace capflow::bench {

// Bytes an item's payload stands for: a sample's file size, an image's or a batch's pixels;
// 0 when the payload is of another type.
std::uint64_t payload_bytes(const graph::Item& item);

class NodeFixture {
 public:
  // `yaml`: a whole pipeline (sections, nodes, edges) as `capflow run` reads it; `sets`:
  // dotted.key=value overrides; `threads`: the thread budget the nodes are told. Throws
  // ConfigError like `capflow run` (validation, a factory rejecting its arguments).
  explicit NodeFixture(const std::string& yaml, const std::vector<std::string>& sets = {},
                       int threads = 1, const std::string& name = "bench");
  ~NodeFixture();
  NodeFixture(const NodeFixture&) = delete;
  NodeFixture& operator=(const NodeFixture&) = delete;

  const graph::PipelineSpec& spec() const;
  std::vector<std::string> node_names() const;  // in `edges` order
  std::vector<std::string> kinds() const;       // of the nodes, in the same order
  graph::Node& node(const std::string& name);

  // Makes up to `count` inputs for node `first` by running the nodes before it on the source's
  // samples (fewer when the source ends first). A collector in front gathers its groups. Returns
  // how many inputs there are.
  std::size_t prepare(const std::string& first, std::size_t count);

  struct Step {
    std::uint64_t units = 0;  // samples the call stood for (a batch: its size)
    std::uint64_t bytes = 0;  // payload_bytes of its input(s)
    bool skipped = false;     // a node returned nothing
  };
  // Runs nodes `first` … `last` (`last` empty: `first` only) on the next prepared input, cycling
  // through them. A collector takes group_size() inputs per call; a source produces one item.
  Step run_once(const std::string& first, const std::string& last = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace capflow::bench

namespace capflow::bench {

// A BMS-layout dataset under `dir` (train_labels.csv, train/a/b/c/<id>.<png|jpg>) of `count`
// synthetic line drawings of side × side pixels with real InChI labels, for benches and tests
// that need files. Returns `dir`.
std::string make_synthetic_dataset(const std::string& dir, int count, int side,
                                   const std::string& format);

}  // namespace capflow::bench
