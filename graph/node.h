// What a node implementation is to the engine: a source, a transform, a collector or a sink,
// each seeing `Item`s whose payload the engine never looks into. Node adapters (under nodes/)
// implement these with a plain kernel inside; the registry creates them from a NodeContext.
#pragma once

#include <any>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

#include "graph/pipeline_spec.h"

namespace capflow::graph {

// One unit of work: a sample (from a source or a transform) or a group of them (a collector's
// output). `id` names it in messages: the sample id, or a batch description.
struct Item {
  std::string id;
  std::uint64_t epoch = 0;
  // Position in the stream of its epoch (samples, or groups after a collector).
  std::uint64_t index = 0;
  std::uint64_t units = 1;  // samples it stands for (a batch: its size); summed into `images`
  std::any payload;         // by convention a std::shared_ptr<T>, so copies are cheap
};

// The payload of `item` as std::shared_ptr<T>; std::logic_error naming the item when it holds
// something else (two node kinds joined by an edge disagree about what flows on it).
template <class T>
const std::shared_ptr<T>& payload_as(const Item& item) {
  const auto* p = std::any_cast<std::shared_ptr<T>>(&item.payload);
  if (p == nullptr || !*p)
    throw std::logic_error("item '" + item.id + "' does not carry the payload this node expects");
  return *p;
}

// Named counters a node keeps besides the engine's own (for example decode: corrupt, missing).
class NodeCounters {
 public:
  void add(const std::string& name, std::uint64_t n = 1);
  std::map<std::string, std::uint64_t> snapshot() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::uint64_t> counts_;
};

// Objects shared by the nodes of one run, by name (for example the model that the encode,
// lstm and optimize nodes all work on). Nodes are created one after the other, in chain
// order, so get_or_create needs no lock; the objects live until the run ends.
class SharedObjects {
 public:
  template <class T>
  std::shared_ptr<T> get_or_create(const std::string& name,
                                   const std::function<std::shared_ptr<T>()>& make) {
    auto it = objects_.find(name);
    if (it == objects_.end())
      it = objects_
               .emplace(name,
                        std::const_pointer_cast<void>(std::static_pointer_cast<const void>(make())))
               .first;
    const auto* type = types_.count(name) ? types_.at(name) : nullptr;
    if (type == nullptr)
      types_[name] = &typeid(T);
    else if (*type != typeid(T))
      throw std::logic_error("shared object '" + name + "' requested with two different types");
    return std::static_pointer_cast<T>(it->second);
  }
  template <class T>
  std::shared_ptr<T> find(const std::string& name) const {
    const auto it = objects_.find(name);
    if (it == objects_.end() || *types_.at(name) != typeid(T)) return nullptr;
    return std::static_pointer_cast<T>(it->second);
  }

 private:
  std::map<std::string, std::shared_ptr<void>> objects_;
  std::map<std::string, const std::type_info*> types_;
};

// Where a resumed run starts: the first `groups_done` groups of epoch `epoch` (and every
// earlier epoch) are read from the source and dropped, so the run continues exactly where
// the interrupted one stopped.
struct ResumePoint {
  std::uint64_t epoch = 0;
  std::uint64_t groups_done = 0;
  bool active() const { return epoch > 0 || groups_done > 0; }
};

// What the running engine offers a node, one object for every node of a run: messages,
// metrics and stops. Every hook has a harmless default, so a harness that builds nodes alone
// (bench/node_fixture.cpp) overrides only what it needs. Implementations are thread-safe.
class RunHost {
 public:
  virtual ~RunHost() = default;
  // One warning line naming the node. Default: to standard error.
  virtual void warn(const std::string& node, const std::string& message);
  // A named value at a step (for example the loss at a training step): metrics.jsonl.
  virtual void report(const std::string& node, const std::string& name, double value,
                      std::uint64_t step);
  // Ends the run cleanly: the source stops, in-flight work finishes.
  virtual void request_stop() {}
  // Stop requests from outside so far (Ctrl-C, SIGTERM, train.max_seconds): 0 none, 1 finish
  // and stop, 2 abandon.
  virtual int stop_requests() const { return 0; }
  // From now on first-level requests from outside no longer stop the source by themselves.
  virtual void coordinate_stops() {}
  // A host that does nothing (and prints warnings): nodes built outside a run.
  static RunHost& none();
};

// What a node gets when it is created.
struct NodeContext {
  const NodeSpec* spec = nullptr;          // name, kind, device, args
  const PipelineSpec* pipeline = nullptr;  // seed and sections (data, resources, ...)
  int rank = 0;
  int world_size = 1;
  int threads = 1;  // the run's thread budget
  NodeCounters* counters = nullptr;
  RunHost* host = &RunHost::none();
  SharedObjects* shared = nullptr;
  ResumePoint resume;   // where this run starts (zero for a fresh run)
  std::string run_dir;  // the run folder (checkpoints go under it); empty when none

  const std::string& name() const { return spec->name; }
  const Args& args() const { return spec->args; }

  // Prints one warning line naming the node; thread-safe.
  void warn(const std::string& message) const { host->warn(spec->name, message); }
  // Ends the run cleanly: the source stops, in-flight work finishes (for example when a sink
  // reached train.max_steps).
  void request_stop() const { host->request_stop(); }
  // Stop requests from outside so far: 0 none, 1 finish and stop, 2 abandon.
  int stop_requests() const { return host->stop_requests(); }
  // Called by a node that must agree on stops with other processes (the gradient reduce
  // across ranks): first-level requests from outside no longer stop the source; the node
  // reads stop_requests() and calls request_stop() once every rank has agreed. Abandoning
  // (second level) still acts at once.
  void coordinate_stops() const { host->coordinate_stops(); }
  // Reports a named value at a step: RUN_DIR/metrics.jsonl; thread-safe.
  void report(const std::string& name, double value, std::uint64_t step) const {
    host->report(spec->name, name, value, step);
  }
};

class Node {
 public:
  virtual ~Node() = default;
  // Called once after every node of the graph exists, before the first sample is read
  // (for example: make the model's weights equal on every rank).
  virtual void start() {}
  // Called once after the graph has finished (not after a failure): flush, close files.
  virtual void finish() {}
  // Consecutive nodes naming the same span hold at most one item among them at a time: the
  // builder puts a one-token limiter in front of the first and returns the token when the
  // last has finished with the item (for example encode → lstm → backward → optimize, which
  // read and write the same weights, must not work on two batches at once). Empty: none.
  virtual std::string exclusive_span() const { return {}; }
};

// Called serially. Fills `item` (id, epoch, payload; index and units are set by the engine)
// and returns true, or returns false at the end of the stream. Epochs never decrease; the
// engine ends a group and emits an end-of-epoch marker when the epoch changes.
class SourceNode : public Node {
 public:
  virtual bool next(Item& item) = 0;
};

// Called concurrently, up to the node's concurrency, in any order. Returns the new payload;
// an empty std::any skips the sample (count why in the counters). Throwing fails the run,
// naming the node and the item.
class TransformNode : public Node {
 public:
  virtual std::any process(Item& item) = 0;
};

// Called serially, in stream order. Receives the items of one group (at most group_size(),
// fewer at the end of an epoch; skipped samples left out, possibly none) and returns the
// payload standing for them, or an empty std::any to skip the group.
class CollectNode : public Node {
 public:
  virtual std::size_t group_size() const = 0;
  virtual std::any collect(std::vector<Item>& items) = 0;
};

// Called serially (in stream order when its schema says `ordered`).
class SinkNode : public Node {
 public:
  virtual void consume(Item& item) = 0;
  virtual void end_of_epoch(std::uint64_t /*epoch*/) {}
};

}  // namespace capflow::graph
