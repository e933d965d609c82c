// Registration of the `capflow` subcommands. Each adds its options to the app and runs its
// work in the subcommand's callback; failures are thrown as capflow::Error (exit status from
// the error type), bad usage as CLI::ParseError (exit 2).
#pragma once

namespace CLI {
class App;
}

namespace capflow::cli {

void add_data_commands(CLI::App& app);      // data make | check | vocab
void add_demo_command(CLI::App& app);       // demo: the README's main job
void add_info_command(CLI::App& app);       // info: versions, threads, BLAS, bf16
void add_run_command(CLI::App& app);        // run PIPELINE.yaml: a flow graph
void add_nodes_command(CLI::App& app);      // nodes: kinds, devices, arguments
void add_model_commands(CLI::App& app);     // eval, predict, export
void add_explain_command(CLI::App& app);    // explain: attention maps of one image
void add_launch_command(CLI::App& app);     // launch -n N -- COMMAND: local ranks
void add_allreduce_command(CLI::App& app);  // bench-allreduce: Gloo time by message size
void add_report_command(CLI::App& app);     // report RUN_DIR...: study table, charts, model

}  // namespace capflow::cli
