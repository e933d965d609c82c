// capflow launch -n N [--port P] [--grace S] [--no-pin] -- COMMAND…
#include <CLI/CLI.hpp>
#include <memory>

#include "graph/errors.h"
#include "tools/cli/commands.h"
#include "tools/launch/local_launcher.h"

namespace capflow::cli {

namespace {

// The job's exit status: the first failing rank's.
class JobFailed : public Error {
 public:
  explicit JobFailed(int status)
      : Error("launch: the job failed (see the ranks' messages above)"), status_(status) {}
  int exit_status() const override { return status_; }

 private:
  int status_;
};

}  // namespace

void add_launch_command(CLI::App& app) {
  auto o = std::make_shared<launch::LaunchOptions>();
  auto* cmd =
      app.add_subcommand("launch",
                         "Start N ranks of one job on this machine (torchrun variables, pinned "
                         "cores, [rank R] output): "
                         "capflow launch -n 2 -- build/capflow run pipelines/train-cpu.yaml");
  cmd->add_option("-n,--ranks", o->ranks, "Number of ranks")
      ->required()
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--port", o->master_port, "Rendezvous port on 127.0.0.1 (default: a free one)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--grace", o->grace_seconds,
                  "Seconds the other ranks get to stop by themselves after one fails, before they "
                  "are terminated")
      ->check(CLI::Range(0.0, 86400.0));
  cmd->add_flag("!--no-pin", o->pin, "Do not pin each rank to its share of the cores");
  cmd->add_flag("!--no-prefix", o->prefix_output, "Do not prefix output lines with [rank R]");
  cmd->add_option("command", o->command, "The command every rank runs (after --)")
      ->required()
      ->expected(-1);
  cmd->callback([o] {
    const int code = launch::run_local_job(*o);
    if (code != 0) throw JobFailed(code);
  });
}

}  // namespace capflow::cli
