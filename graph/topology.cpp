// Machine topology through oneTBB (tbb::info) and the run's task arena.
#include "graph/topology.h"

#include <oneapi/tbb/info.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>

#include "graph/cpu_info.h"

namespace capflow::graph {

namespace {
// oneTBB finds NUMA nodes through libtbbbind, which it loads with RTLD_DEEPBIND; the
// sanitizers' runtimes refuse such a dlopen and end the process (google/sanitizers#611), so a
// sanitized build (tools/sanitize.sh, tools/fuzz.sh) sees the machine as one node.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CAPFLOW_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CAPFLOW_SANITIZED 1
#endif
#endif

std::vector<NumaNode> find_numa_nodes() {
  std::vector<NumaNode> nodes;
#ifdef CAPFLOW_SANITIZED
  nodes.push_back(NumaNode{tbb::task_arena::automatic, tbb::info::default_concurrency()});
#else
  for (const tbb::numa_node_id id : tbb::info::numa_nodes())
    nodes.push_back(NumaNode{id, tbb::info::default_concurrency(id)});
#endif
  return nodes;
}

}  // namespace

Topology plan_topology(int requested_threads, bool numa_auto, int local_rank) {
  Topology t;
  t.available_threads = tbb::info::default_concurrency();
  t.numa_nodes = find_numa_nodes();
  t.threads = requested_threads > 0 ? requested_threads : t.available_threads;
  t.cpu_model = read_cpu_model();
  if (numa_auto && t.numa_nodes.size() > 1) {
    const NumaNode& node = t.numa_nodes[static_cast<std::size_t>(local_rank) % t.numa_nodes.size()];
    if (t.threads <= node.concurrency) t.arena_numa_node = node.id;
  }
  return t;
}

std::unique_ptr<tbb::task_arena> make_arena(const Topology& topology) {
  if (topology.arena_numa_node >= 0) {
    tbb::task_arena::constraints c;
    c.set_numa_id(topology.arena_numa_node);
    c.set_max_concurrency(topology.threads);
    return std::make_unique<tbb::task_arena>(c);
  }
  return std::make_unique<tbb::task_arena>(topology.threads);
}

int resolve_replicas(std::int64_t requested, int threads) {
  return requested > 0 ? static_cast<int>(requested) : std::max(1, threads);
}

}  // namespace capflow::graph
