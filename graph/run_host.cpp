// RunHost's defaults (graph/node.h).
#include <cstdio>

#include "graph/node.h"

namespace capflow::graph {

void RunHost::warn(const std::string& node, const std::string& message) {
  std::fprintf(stderr, "capflow: warning: node '%s': %s\n", node.c_str(), message.c_str());
}

void RunHost::report(const std::string&, const std::string&, double, std::uint64_t) {}

RunHost& RunHost::none() {
  static RunHost host;
  return host;
}

}  // namespace capflow::graph
