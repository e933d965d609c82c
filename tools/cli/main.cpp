// `capflow`: the command line. Exit status: 0 success, 2 bad usage or configuration,
// 1 a failure while running.
#include <CLI/CLI.hpp>

#include <iostream>

#include "graph/errors.h"
#include "tools/cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"capflow: train and benchmark an image-to-InChI captioner on oneTBB flow graphs", "capflow"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(CAPFLOW_VERSION));
  capflow::cli::add_data_commands(app);
  capflow::cli::add_demo_command(app);
  capflow::cli::add_info_command(app);
  capflow::cli::add_run_command(app);
  capflow::cli::add_nodes_command(app);
  capflow::cli::add_model_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? capflow::kExitOk : capflow::kExitUsage;
  } catch (const capflow::Error& e) {
    std::cerr << "capflow: error: " << e.what() << std::endl;
    return e.exit_status();
  } catch (const std::exception& e) {
    std::cerr << "capflow: error: " << e.what() << std::endl;
    return capflow::kExitFailure;
  }
  return capflow::kExitOk;
}
