// The model replicas of a run (resources.replicas), for the nodes that depend on them: the
// batch node collects one batch per replica for each training step, the model nodes train
// one replica per share of the run's threads.
#pragma once

#include <algorithm>

#include "graph/node.h"
#include "graph/pipeline_spec.h"
#include "graph/topology.h"

namespace capflow::nodes {

// resources.replicas resolved as the run's summary resolves it (graph::resolve_replicas).
inline int replica_count(const graph::NodeContext& ctx) {
  return graph::resolve_replicas(ctx.pipeline->section("resources").get_int("replicas"),
                                 ctx.threads);
}

// LibTorch threads of each replica: the run's (or the node's) threads shared out, at least 1.
inline int replica_threads(int threads, int replicas) {
  return std::max(1, threads / std::max(1, replicas));
}

}  // namespace capflow::nodes
