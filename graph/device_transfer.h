// Where a pipeline crosses devices, the builder inserts a transfer node: on an edge from a
// node on device A to a node on device B, the node kind registered as the transfer for
// (A -> B) (Registry::add_transfer) goes between them, unless one of the two already is that
// kind. Pairs with no registered transfer pass their payloads as they are (the next node
// reads them wherever they live). The engine knows no devices: which transfers exist, and
// what they do, is up to the node families (for example nodes/model/: cpu -> cuda, a
// pinned-memory copy on a side stream). The inserted node shows in RUN_DIR/config.yaml,
// `--dot` and the per-node table like any other.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace capflow::graph {

class SchemaCatalog;

// A node of the chain as written (before validation): kind and device as text, device
// "cpu" when not written.
struct ChainNode {
  std::string name;
  std::string kind;
  std::string device = "cpu";
};

struct TransferInsertion {
  std::size_t before = 0;  // index in the chain of the node it goes in front of
  std::string name;        // "<from>_to_<to>", with a suffix when that name is taken
  std::string kind;
  std::string from, to;
};

// The transfers to insert into `chain`, in chain order.
std::vector<TransferInsertion> plan_device_transfers(const std::vector<ChainNode>& chain,
                                                     const SchemaCatalog& catalog);

}  // namespace capflow::graph
