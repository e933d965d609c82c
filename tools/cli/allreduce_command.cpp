// capflow bench-allreduce [--sizes 4K,1M,…] [--seconds S] [--json FILE]: Gloo allreduce time
// and bandwidth by message size across the ranks of a job (start it with capflow launch,
// torchrun, srun, mpirun or bench/netns_cluster.sh). Rank 0 prints the table.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "graph/errors.h"
#include "nodes/reduce/allreduce_timing.h"
#include "nodes/reduce/communicator.h"
#include "tools/cli/commands.h"

namespace capflow::cli {

namespace {

struct AllreduceRequest {
  std::vector<std::string> sizes{"4K", "64K", "1M", "4M", "16M", "64M"};
  double seconds = 1.0;
  double timeout = 60;
  int gloo_threads = 2;
  std::string json;
};

std::size_t parse_size(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  const std::string unit = end;
  const double scale = unit.empty() || unit == "B" ? 1
                       : unit == "K"               ? 1024.0
                       : unit == "M"               ? 1048576.0
                       : unit == "G"               ? 1073741824.0
                                                   : -1;
  if (end == text.c_str() || v <= 0 || scale < 0)
    throw ConfigError("--sizes: '" + text + "' is not a size such as 4096, 64K, 16M or 1G");
  return static_cast<std::size_t>(v * scale);
}

void run(const AllreduceRequest& o) {
  std::vector<std::size_t> sizes;
  for (const auto& s : o.sizes) sizes.push_back(parse_size(s));
  reduce::CommOptions c;
  c.env = reduce::read_rank_env();
  if (c.env.world_size < 2)
    throw ConfigError(
        "bench-allreduce needs at least 2 ranks: capflow launch -n 2 -- capflow bench-allreduce");
  const char* token = std::getenv("CAPFLOW_JOB_TOKEN");
  c.token = token != nullptr ? token : "";
  c.timeout = std::chrono::milliseconds(static_cast<long long>(o.timeout * 1000));
  c.gloo_threads = o.gloo_threads;
  reduce::Communicator comm(c);
  nlohmann::json rows = nlohmann::json::array();
  if (comm.rank() == 0)
    std::printf(
        "Gloo allreduce, %d ranks (master %s): size, time per op, algorithm and bus bandwidth\n",
        comm.world_size(), c.env.master_addr.c_str());
  for (std::size_t bytes : sizes) {
    const reduce::AllreduceTiming t = reduce::time_allreduce(comm, bytes, o.seconds);
    if (comm.rank() != 0) continue;
    std::printf("%12zu B  %10.3f ms  %9.1f MB/s  bus %9.1f MB/s  (%ld ops)\n", t.bytes,
                1e3 * t.seconds_per_op, t.algorithm_bytes_per_second / 1e6,
                t.bus_bytes_per_second / 1e6, t.iterations);
    std::fflush(stdout);
    rows.push_back({{"bytes", t.bytes},
                    {"seconds_per_op", t.seconds_per_op},
                    {"iterations", t.iterations},
                    {"algorithm_bytes_per_second", t.algorithm_bytes_per_second},
                    {"bus_bytes_per_second", t.bus_bytes_per_second}});
  }
  comm.finished();
  if (comm.rank() == 0 && !o.json.empty()) {
    std::ofstream out(o.json);
    out << nlohmann::json{{"world_size", comm.world_size()}, {"backend", "gloo"}, {"results", rows}}
               .dump(2)
        << "\n";
    if (!out) throw ConfigError("cannot write " + o.json);
  }
}

}  // namespace

void add_allreduce_command(CLI::App& app) {
  auto o = std::make_shared<AllreduceRequest>();
  auto* cmd = app.add_subcommand("bench-allreduce",
                                 "Time Gloo allreduce by message size across the ranks of a job "
                                 "(capflow launch -n 2 -- capflow bench-allreduce)");
  cmd->add_option("--sizes", o->sizes, "Message sizes (bytes, or with K, M, G)")->delimiter(',');
  cmd->add_option("--seconds", o->seconds, "Measuring time per size")
      ->check(CLI::Range(0.01, 3600.0));
  cmd->add_option("--timeout", o->timeout, "Longest wait for a peer, seconds")
      ->check(CLI::Range(1.0, 86400.0));
  cmd->add_option("--gloo-threads", o->gloo_threads, "Gloo's worker threads")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--json", o->json, "Write the results as JSON (rank 0)");
  cmd->callback([o] { run(*o); });
}

}  // namespace capflow::cli
