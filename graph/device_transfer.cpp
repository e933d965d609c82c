// Transfer nodes between devices (see device_transfer.h).
#include "graph/device_transfer.h"

#include <set>

#include "graph/pipeline_spec.h"

namespace capflow::graph {

std::vector<TransferInsertion> plan_device_transfers(const std::vector<ChainNode>& chain,
                                                     const SchemaCatalog& catalog) {
  std::vector<TransferInsertion> out;
  std::set<std::string> taken;
  for (const ChainNode& n : chain) taken.insert(n.name);
  for (std::size_t i = 1; i < chain.size(); ++i) {
    const ChainNode& a = chain[i - 1];
    const ChainNode& b = chain[i];
    if (a.device == b.device) continue;
    const std::string kind = catalog.transfer_kind(a.device, b.device);
    if (kind.empty() || a.kind == kind || b.kind == kind) continue;
    std::string name = a.device + "_to_" + b.device;
    for (int k = 2; taken.count(name) != 0; ++k)
      name = a.device + "_to_" + b.device + "_" + std::to_string(k);
    taken.insert(name);
    out.push_back(TransferInsertion{i, name, kind, a.device, b.device});
  }
  return out;
}

}  // namespace capflow::graph
