// Builds a validated pipeline spec into a oneTBB flow graph and runs it.
//
//   source ─▶ tokens (limiter: max_in_flight groups) ─▶ split ─▶ transform… ─▶ [sequencer]
//          ─▶ collect ─▶ transform… ─▶ [sequencer] ─▶ sink ─┐
//                  ▲ a group's token returns when its last message is gone ┘
//
// The source is read serially, a group (a batch to be) at a time; a group passes the
// limiter only while fewer than max_in_flight groups are alive, which bounds memory. Every
// message carries a sequence number; a sequencer restores stream order in front of nodes that
// need it (collectors, ordered sinks) when a parallel node comes before them, so batches hold
// the same samples in the same order whatever the thread timing. Epoch ends travel as marker
// messages. An exception in a node cancels the graph and is rethrown naming the node and the
// item; a stop request (Ctrl-C) stops the source so in-flight work finishes, a second one
// abandons it.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "graph/pipeline_spec.h"
#include "graph/registry.h"
#include "graph/run_stats.h"

namespace capflow::graph {

struct RunProgress {
  double seconds = 0;
  std::uint64_t images = 0;  // reached a sink so far
  std::uint64_t epoch = 0;   // epoch of the newest item out of the source
};

struct RunOptions {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string run_dir;     // passed to the nodes (NodeContext::run_dir)
  std::string trace_path;  // Chrome trace of every node call; empty: none
  std::string dot_path;    // the built graph in DOT; empty: none
  // 1: stop the source and finish in-flight work; 2 or more: abandon in-flight work.
  const std::atomic<int>* stop_requests = nullptr;
  double progress_interval = 1.0;  // seconds between on_progress calls
  std::function<void(const RunProgress&)> on_progress;
  // Warnings from nodes (one line, node named); default: standard error.
  std::function<void(const std::string&)> on_warning;
  // Named values nodes report (NodeContext::report); default: dropped.
  std::function<void(const std::string& node, const std::string& name, double value,
                     std::uint64_t step)>
      on_report;
  // Start of a resumed run (see ResumePoint).
  ResumePoint resume;
  // Called inside the run's arena before the nodes are created, with the thread budget
  // (for example to set LibTorch's intra-op threads to the same budget).
  std::function<void(int threads)> on_threads;
};

// Throws ConfigError for a graph that cannot be built (more than one collector, a node
// factory rejecting its arguments), and the node's error type for a failure while running,
// its message naming the node and the item.
RunStats run_pipeline(const PipelineSpec& spec, const Registry& registry,
                      const RunOptions& options);

}  // namespace capflow::graph
