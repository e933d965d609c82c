// The generic node fixture: nodes from YAML, driven serially.
#include "bench/node_fixture.h"

#include <filesystem>
#include <iostream>
#include <stdexcept>

#include "graph/errors.h"
#include "graph/registry.h"
#include "nodes/payloads.h"
#include "nodes/register_nodes.h"

namespace capflow::bench {

std::uint64_t payload_bytes(const graph::Item& item) {
  if (const auto* s = std::any_cast<nodes::SamplePtr>(&item.payload)) {
    std::error_code ec;
    const auto size = *s ? std::filesystem::file_size((*s)->path, ec) : 0;
    return ec ? 0 : size;
  }
  if (const auto* i = std::any_cast<nodes::ImagePtr>(&item.payload))
    return *i ? (*i)->image.pixels.size() : 0;
  if (const auto* b = std::any_cast<nodes::BatchPtr>(&item.payload))
    return *b ? static_cast<std::uint64_t>((*b)->size) * (*b)->width * (*b)->height : 0;
  return 0;
}

struct NodeFixture::Impl {
  graph::Registry registry;
  graph::PipelineSpec spec;
  graph::SharedObjects shared;
  std::vector<std::unique_ptr<graph::NodeCounters>> counters;
  std::vector<std::unique_ptr<graph::Node>> nodes;
  std::string name;
  std::uint64_t source_index = 0, group_index = 0;
  std::vector<graph::Item> inputs;
  std::vector<std::uint64_t> input_bytes;
  std::size_t prepared_for = 0, cursor = 0;

  std::size_t index_of(const std::string& node_name) const {
    for (std::size_t i = 0; i < spec.nodes.size(); ++i)
      if (spec.nodes[i].name == node_name) return i;
    throw std::invalid_argument(name + ": no node '" + node_name + "' in the pipeline");
  }

  // The output of node k, made by pulling from the nodes before it; false at the end.
  bool produce(std::size_t k, graph::Item& out) {
    graph::Node* node = nodes[k].get();
    if (auto* source = dynamic_cast<graph::SourceNode*>(node)) {
      out = graph::Item{};
      if (!source->next(out)) return false;
      out.index = source_index++;
      out.units = 1;
      return true;
    }
    if (auto* transform = dynamic_cast<graph::TransformNode*>(node)) {
      for (;;) {
        graph::Item in;
        if (!produce(k - 1, in)) return false;
        std::any payload = transform->process(in);
        if (!payload.has_value()) continue;  // skipped sample
        out = std::move(in);
        out.payload = std::move(payload);
        return true;
      }
    }
    if (auto* collect = dynamic_cast<graph::CollectNode*>(node)) {
      for (;;) {
        std::vector<graph::Item> group;
        while (group.size() < collect->group_size()) {
          graph::Item in;
          if (!produce(k - 1, in)) break;
          group.push_back(std::move(in));
        }
        if (group.empty()) return false;
        const std::uint64_t epoch = group.front().epoch, units = group.size();
        std::any payload = collect->collect(group);
        if (!payload.has_value()) continue;
        out = graph::Item{};
        out.epoch = epoch;
        out.index = group_index++;
        out.units = units;
        out.id = "batch " + std::to_string(out.index);
        out.payload = std::move(payload);
        return true;
      }
    }
    throw std::invalid_argument(name + ": node '" + spec.nodes[k].name +
                                "' is a sink; nothing comes out of it");
  }

  const graph::Item& next_input(std::uint64_t& bytes) {
    if (inputs.empty()) throw std::logic_error(name + ": no prepared inputs (call prepare first)");
    const std::size_t i = cursor++ % inputs.size();
    bytes += input_bytes[i];
    return inputs[i];
  }

  // Node k applied to `item` in place; false when it skipped it (or was a sink).
  bool apply(std::size_t k, graph::Item& item) {
    graph::Node* node = nodes[k].get();
    if (auto* transform = dynamic_cast<graph::TransformNode*>(node)) {
      std::any payload = transform->process(item);
      if (!payload.has_value()) return false;
      item.payload = std::move(payload);
      return true;
    }
    if (auto* sink = dynamic_cast<graph::SinkNode*>(node)) {
      sink->consume(item);
      return true;
    }
    throw std::invalid_argument(name + ": node '" + spec.nodes[k].name +
                                "' (a source or collector) can only start a timed range");
  }
};

NodeFixture::NodeFixture(const std::string& yaml, const std::vector<std::string>& sets, int threads,
                         const std::string& name)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.name = name;
  nodes::register_all(m.registry);
  m.spec = graph::parse_pipeline(yaml, name + ".yaml", sets, m.registry);
  for (const graph::NodeSpec& node_spec : m.spec.nodes) {
    m.counters.push_back(std::make_unique<graph::NodeCounters>());
    graph::NodeContext context;
    context.spec = &node_spec;
    context.pipeline = &m.spec;
    context.threads = threads;
    context.counters = m.counters.back().get();
    // The default host: warnings to standard error, no metrics, no stops.
    context.shared = &m.shared;
    m.nodes.push_back(m.registry.create(context));
  }
  for (auto& node : m.nodes) node->start();  // as the engine does once every node exists
}

NodeFixture::~NodeFixture() = default;

const graph::PipelineSpec& NodeFixture::spec() const { return impl_->spec; }

std::vector<std::string> NodeFixture::node_names() const {
  std::vector<std::string> out;
  for (const auto& n : impl_->spec.nodes) out.push_back(n.name);
  return out;
}

std::vector<std::string> NodeFixture::kinds() const {
  std::vector<std::string> out;
  for (const auto& n : impl_->spec.nodes) out.push_back(n.kind);
  return out;
}

graph::Node& NodeFixture::node(const std::string& name) {
  return *impl_->nodes[impl_->index_of(name)];
}

std::size_t NodeFixture::prepare(const std::string& first, std::size_t count) {
  Impl& m = *impl_;
  const std::size_t k = m.index_of(first);
  m.inputs.clear();
  m.input_bytes.clear();
  m.cursor = 0;
  m.prepared_for = k;
  if (k == 0) return 0;  // a source needs no inputs
  while (m.inputs.size() < count) {
    graph::Item item;
    if (!m.produce(k - 1, item)) break;
    m.input_bytes.push_back(payload_bytes(item));
    m.inputs.push_back(std::move(item));
  }
  return m.inputs.size();
}

NodeFixture::Step NodeFixture::run_once(const std::string& first, const std::string& last) {
  Impl& m = *impl_;
  const std::size_t k = m.index_of(first);
  const std::size_t l = last.empty() ? k : m.index_of(last);
  if (l < k)
    throw std::invalid_argument(m.name + ": node '" + last + "' comes before '" + first + "'");
  Step step;
  graph::Item item;
  graph::Node* node = m.nodes[k].get();
  if (k == 0) {
    if (!m.produce(0, item)) return step;
    step.bytes = payload_bytes(item);
  } else if (k != m.prepared_for) {
    throw std::logic_error(m.name + ": inputs were prepared for another node than '" + first + "'");
  } else if (auto* collect = dynamic_cast<graph::CollectNode*>(node)) {
    std::vector<graph::Item> group;
    for (std::size_t i = 0; i < collect->group_size(); ++i)
      group.push_back(m.next_input(step.bytes));
    const std::uint64_t units = group.size();
    item.payload = collect->collect(group);
    item.units = units;
    item.index = m.group_index++;
    item.id = "batch " + std::to_string(item.index);
    if (!item.payload.has_value()) {
      step.skipped = true;
      return step;
    }
  } else {
    item = m.next_input(step.bytes);
    if (!m.apply(k, item)) {
      step.skipped = true;
      return step;
    }
  }
  for (std::size_t i = k + 1; i <= l; ++i) {
    if (!m.apply(i, item)) {
      step.skipped = true;
      return step;
    }
  }
  step.units = item.units;
  return step;
}

}  // namespace capflow::bench

#include <cmath>
#include <cstdio>
#include <fstream>

#include "graph/seeded_random.h"
#include "nodes/io/image_codec.h"

namespace capflow::bench {

std::string make_synthetic_dataset(const std::string& dir, int count, int side,
                                   const std::string& format) {
  namespace fs = std::filesystem;
  static const char* const kLabels[] = {"InChI=1S/CH4/h1H4", "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3",
                                        "InChI=1S/C6H6/c1-2-4-6-5-3-1/h1-6H",
                                        "InChI=1S/C2H4O2/c1-2(3)4/h1H3,(H,3,4)",
                                        "InChI=1S/C7H8/c1-7-5-3-2-4-6-7/h2-6H,1H3"};
  fs::create_directories(dir);
  std::ofstream labels(fs::path(dir) / "train_labels.csv");
  labels << "image_id,InChI\n";
  for (int k = 0; k < count; ++k) {
    char id[16];
    std::snprintf(id, sizeof id, "%012x", 0xabc000 + k * 7919);
    const fs::path folder = fs::path(dir) / "train" / std::string(1, id[0]) /
                            std::string(1, id[1]) / std::string(1, id[2]);
    fs::create_directories(folder);
    io::GrayImage img(side, side, 255);
    SeededRng rng({0x5e7, static_cast<std::uint64_t>(k)});
    const int strokes = 10 + side / 16;
    for (int s = 0; s < strokes; ++s) {
      const double x0 = rng.uniform(8, side - 8), y0 = rng.uniform(8, side - 8);
      const double angle = rng.uniform(0, 6.283185307179586),
                   len = rng.uniform(side / 16.0, side / 8.0);
      for (int t = 0; t <= static_cast<int>(len); ++t) {
        const int x = static_cast<int>(x0 + t * std::cos(angle)),
                  y = static_cast<int>(y0 + t * std::sin(angle));
        if (x >= 0 && x < side && y >= 0 && y < side) img.at(x, y) = 0;
      }
    }
    const auto bytes = format == "jpg" ? io::encode_jpeg_gray(img) : io::encode_png_gray(img);
    std::ofstream(folder / (std::string(id) + "." + (format == "jpg" ? "jpg" : "png")),
                  std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    labels << id << ",\"" << kLabels[k % 5] << "\"\n";
  }
  return dir;
}

}  // namespace capflow::bench
