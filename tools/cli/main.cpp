// `capflow`: the command line. Exit status: 0 success, 2 bad usage or configuration,
// 1 a failure while running.
#include <CLI/CLI.hpp>

#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

#include "graph/errors.h"
#include "nodes/reduce/rank_env.h"
#include "tools/cli/commands.h"

namespace {

// LibTorch runs its intra-op work on OpenMP (libgomp). By default idle OpenMP workers spin for
// a long time, and here they share the cores with the flow graph's threads: a spinning worker
// then steals the core that the thread it waits for needs (training measured 1.7 images/s
// against 4.8 under load). Never spinning (OMP_WAIT_POLICY=PASSIVE) pays a futex wake-up per
// parallel region, which the decoder's many small steps feel: a short spin, then sleep, was
// fastest (2 cores, 8 steps of train-cpu.yaml: 15-18 images/s against 13.8 passive).
// libgomp reads its settings once, when it is loaded, before main(); so the commands that run
// LibTorch start themselves again with them, unless the caller chose a policy.
void use_short_openmp_spins(int argc, char** argv) {
  if (argc < 2 || std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr)
    return;
  const char* command = argv[1];
  for (const char* torch_command : {"run", "demo", "eval", "predict", "export"}) {
    if (std::strcmp(command, torch_command) == 0) {
      ::setenv("OMP_WAIT_POLICY", "ACTIVE", 1);
      ::setenv("GOMP_SPINCOUNT", "30000", 1);
      ::execv("/proc/self/exe", argv);
      return;  // exec failed: go on with the default policy
    }
  }
}

// Training allocates and frees the same large activation tensors every step. By default glibc
// serves blocks above its mmap threshold with fresh mappings and returns freed heap tops to
// the kernel, so every step faults and zero-fills hundreds of MB again (a sixth of a training
// run's time went to the kernel). Keep freed memory in the process instead.
void keep_freed_memory() {
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
}

// "[rank R of N] " in a distributed run, from whichever launcher's variables are set
// (messages that name a rank already are left alone).
std::string rank_prefix(const std::string& message) {
  if (message.find("rank ") != std::string::npos) return "";
  try {
    const capflow::reduce::RankEnv e = capflow::reduce::read_rank_env();
    if (e.world_size <= 1) return "";
    return "[rank " + std::to_string(e.rank) + " of " + std::to_string(e.world_size) + "] ";
  } catch (const std::exception&) {
    return "";  // malformed variables: the error being reported says more
  }
}

}  // namespace

int main(int argc, char** argv) {
  use_short_openmp_spins(argc, argv);
  keep_freed_memory();
  CLI::App app{"capflow: train and benchmark an image-to-InChI captioner on oneTBB flow graphs", "capflow"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(CAPFLOW_VERSION));
  capflow::cli::add_data_commands(app);
  capflow::cli::add_demo_command(app);
  capflow::cli::add_info_command(app);
  capflow::cli::add_run_command(app);
  capflow::cli::add_nodes_command(app);
  capflow::cli::add_model_commands(app);
  capflow::cli::add_launch_command(app);
  capflow::cli::add_allreduce_command(app);
  capflow::cli::add_report_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? capflow::kExitOk : capflow::kExitUsage;
  } catch (const capflow::Error& e) {
    std::cerr << "capflow: error: " << rank_prefix(e.what()) << e.what() << std::endl;
    return e.exit_status();
  } catch (const std::exception& e) {
    std::cerr << "capflow: error: " << rank_prefix(e.what()) << e.what() << std::endl;
    return capflow::kExitFailure;
  }
  return capflow::kExitOk;
}
