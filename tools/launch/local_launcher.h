// `capflow launch -n N -- COMMAND…`: N ranks of one job on this machine. Each rank gets the
// torchrun variables (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1,
// MASTER_PORT, plus CAPFLOW_RUN_ID so every rank names the same run folder), is pinned to its
// share of this process's cores (a NUMA node each where there are as many nodes as ranks),
// and has its output lines prefixed with "[rank R] ". When a rank fails, the others get
// `grace` to end on their own (they notice within their allreduce timeout) and are then
// terminated; the launcher's exit status is the first failing rank's.
#pragma once

#include <string>
#include <vector>

namespace capflow::launch {

struct LaunchOptions {
  int ranks = 1;
  int master_port = 0;  // 0: a free port
  double grace_seconds = 90;
  bool pin = true;
  bool prefix_output = true;
  std::vector<std::string> command;
};

// The CPUs each of `ranks` ranks is pinned to: NUMA nodes when there are exactly as many as
// ranks (from /sys), else this process's allowed CPUs cut into equal consecutive shares.
// ConfigError when there are fewer CPUs than ranks.
std::vector<std::vector<int>> plan_cpu_shares(int ranks, const std::vector<int>& allowed,
                                              const std::vector<std::vector<int>>& numa_nodes);

// Runs the job; returns the exit status (0 when every rank succeeded).
int run_local_job(const LaunchOptions& options);

}  // namespace capflow::launch
