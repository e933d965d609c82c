// The gradient-reduce node: averages gradients across ranks (passes through at world size 1).
#include "graph/errors.h"
#include "graph/registry.h"
#include "nodes/model/model_share.h"
#include "nodes/register_nodes.h"

namespace capflow::nodes {

namespace {

using graph::Item;
using graph::NodeContext;

class AllReduce : public graph::TransformNode {
 public:
  explicit AllReduce(const NodeContext& ctx) {
    if (ctx.world_size > 1)
      throw ConfigError("world size " + std::to_string(ctx.world_size) +
                        ": gradient averaging across ranks is not in this build yet; run one rank");
  }
  std::string exclusive_span() const override { return kModelSpan; }
  std::any process(Item& item) override { return item.payload; }
};

}  // namespace

void register_reduce_nodes(graph::Registry& registry) {
  using namespace graph;
  add_node<AllReduce>(registry, {"allreduce", "averages gradients across ranks (passes through at world size 1)",
                                 NodeRole::kTransform, /*input=*/"grads", /*output=*/"grads",
                                 /*default_concurrency=*/"serial", /*ordered=*/true,
                                 {arg_choice("backend", "gloo", {"gloo"}, "c10d process group"),
                                  arg_float("bucket_mb", "25", "gradient bucket size in MB", 0.001)}});
}

}  // namespace capflow::nodes
