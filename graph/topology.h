// The machine as oneTBB sees it (cores this process may use, NUMA nodes) and the arena a run
// executes in: `resources.threads` threads, bound to one NUMA node when the machine has
// several and the threads fit in one.
#pragma once

#include <oneapi/tbb/task_arena.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace capflow::graph {

struct NumaNode {
  int id = -1;
  int concurrency = 0;
};

struct Topology {
  int available_threads = 1;         // oneTBB's default concurrency for this process
  std::vector<NumaNode> numa_nodes;  // one entry with id -1 when oneTBB sees no NUMA information
  int threads = 1;                   // the run's budget
  int arena_numa_node = -1;          // the node the arena is bound to, -1 for none
  std::string cpu_model;             // from /proc/cpuinfo when readable
};

// requested_threads: 0 = auto (all available). numa_auto: bind to node (local_rank mod nodes)
// when there are several nodes and the threads fit in it.
Topology plan_topology(int requested_threads, bool numa_auto, int local_rank);

// resources.replicas resolved: a count as given, auto (stored as 0) one per thread of the
// run's budget.
int resolve_replicas(std::int64_t requested, int threads);

// An arena of topology.threads slots (one for the calling thread), NUMA-bound as planned.
std::unique_ptr<tbb::task_arena> make_arena(const Topology& topology);

}  // namespace capflow::graph
