// Device transfer nodes inserted into the tree before validation.
#include <algorithm>

#include "graph/device_transfer.h"
#include "graph/pipeline_internal.h"

namespace capflow::graph::detail {

// ---------------------------------------------------------------------------------------------
// Transfer nodes where the chain crosses devices (graph/device_transfer.h): added to the tree
// before validation, so they are validated, resolved and reported like written nodes. Where
// `nodes` or `edges` is malformed nothing is added (validation reports it).

std::string scalar_text(const Tree& map, const char* key, const char* fallback) {
  const Entry* e = map.is_map() ? map.find(key) : nullptr;
  return e != nullptr && e->value.is_scalar() ? e->value.text : fallback;
}

void insert_device_transfers(Tree& root, const SchemaCatalog& catalog) {
  Entry* nodes = root.find("nodes");
  if (nodes == nullptr || !nodes->value.is_map()) return;
  Entry* edges = root.find("edges");
  if (edges != nullptr && edges->value.kind != Tree::Kind::kSeq) return;
  std::vector<ChainNode> chain;
  if (edges == nullptr) {
    for (const Entry& e : nodes->value.entries)
      chain.push_back(
          {e.key, scalar_text(e.value, "kind", ""), scalar_text(e.value, "device", "cpu")});
  } else {
    for (const Tree& item : edges->value.items) {
      const Entry* e = item.is_scalar() ? nodes->value.find(item.text) : nullptr;
      if (e == nullptr) return;
      chain.push_back(
          {e->key, scalar_text(e->value, "kind", ""), scalar_text(e->value, "device", "cpu")});
    }
  }
  const std::vector<TransferInsertion> plan = plan_device_transfers(chain, catalog);
  for (auto it = plan.rbegin(); it != plan.rend(); ++it) {  // back to front: indices stay valid
    const std::string& before = chain[it->before].name;
    Entry* target = nodes->value.find(before);
    const Location where = target->value.find("device") != nullptr
                               ? target->value.find("device")->value.where
                               : target->key_where;
    Tree body;
    body.kind = Tree::Kind::kMap;
    body.where = where;
    Tree kind;
    kind.kind = Tree::Kind::kScalar;
    kind.text = it->kind;
    kind.where = where;
    Tree device = kind;
    device.text = it->to;
    body.entries.push_back(Entry{"kind", where, kind});
    body.entries.push_back(Entry{"device", where, device});
    auto& entries = nodes->value.entries;
    const auto pos = std::find_if(entries.begin(), entries.end(),
                                  [&](const Entry& e) { return e.key == before; });
    entries.insert(pos, Entry{it->name, where, std::move(body)});
    if (edges != nullptr) {
      Tree name = kind;
      name.text = it->name;
      edges->value.items.insert(
          edges->value.items.begin() + static_cast<std::ptrdiff_t>(it->before), std::move(name));
    }
  }
}

}  // namespace capflow::graph::detail
