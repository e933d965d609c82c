// capflow nodes [--markdown]: the registered node kinds and sections, from their schemas.
#include <CLI/CLI.hpp>
#include <iostream>

#include "graph/registry.h"
#include "graph/schema_docs.h"
#include "nodes/register_nodes.h"
#include "tools/cli/commands.h"

namespace capflow::cli {

void add_nodes_command(CLI::App& app) {
  auto markdown = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("nodes", "List node kinds, devices, arguments and sections");
  cmd->add_flag("--markdown", *markdown, "Print the Markdown reference (docs/pipeline-nodes.md)");
  cmd->callback([markdown] {
    graph::Registry registry;
    nodes::register_all(registry);
    std::cout << (*markdown ? graph::format_nodes_markdown(registry)
                            : graph::format_nodes_text(registry));
  });
}

}  // namespace capflow::cli
