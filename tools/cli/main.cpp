// `capflow`: the command line. Exit status: 0 success, 2 bad usage or configuration,
// 1 a failure while running.
#include <CLI/CLI.hpp>
#include <cstring>
#include <iostream>

#include "graph/errors.h"
#include "nodes/reduce/rank_env.h"
#include "tools/cli/commands.h"
#include "tools/process/process_settings.h"

namespace {

// The commands that run LibTorch restart themselves with its process settings (short OpenMP
// spins, OpenBLAS's kernels for this CPU: read before main()), unless the caller chose them.
void use_process_settings(int argc, char** argv) {
  if (argc < 2) return;
  for (const char* torch_command :
       {"run", "demo", "eval", "predict", "export", "explain", "info"}) {
    if (std::strcmp(argv[1], torch_command) == 0) {
      capflow::process::restart_with_process_settings(argv);
      return;
    }
  }
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
  use_process_settings(argc, argv);
  capflow::process::keep_freed_memory();
  CLI::App app{"capflow: train and benchmark an image-to-InChI captioner on oneTBB flow graphs",
               "capflow"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(CAPFLOW_VERSION));
  capflow::cli::add_data_commands(app);
  capflow::cli::add_demo_command(app);
  capflow::cli::add_info_command(app);
  capflow::cli::add_run_command(app);
  capflow::cli::add_nodes_command(app);
  capflow::cli::add_model_commands(app);
  capflow::cli::add_explain_command(app);
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
