// The host-to-device transfer node (`to_device`) and what makes device: cuda work in a
// pipeline file. The builder inserts a to_device node wherever a node on the CPU feeds one on
// cuda (graph/device_transfer.h), so `batch (cpu) -> encode (cuda)` runs as
//   batch -> cpu_to_cuda (to_device) -> encode
// The transfer copies each batch through pinned memory on a side stream and converts it to
// the model's float input there (DeviceStager), outside the model span: batch k+1 travels
// while batch k trains. Registered only in CUDA builds; a CPU-only build instead tells a
// pipeline asking for cuda that it has no CUDA.
#include "graph/errors.h"
#include "graph/registry.h"
#include "nodes/model/device_batch.h"
#include "nodes/payloads.h"
#include "nodes/register_nodes.h"

namespace capflow::nodes {

namespace {

using graph::Item;
using graph::NodeContext;

// batch (host) -> the same batch staged on the node's device.
class ToDevice : public graph::TransformNode {
 public:
  explicit ToDevice(const NodeContext& ctx)
      : stager_(model::node_device(ctx.spec->device), /*channels_last=*/true) {}

  std::any process(Item& item) override {
    auto staged = std::make_shared<const model::DeviceBatch>(
        stager_.stage(graph::payload_as<const batch::ImageBatch>(item)));
    return staged;
  }

 private:
  model::DeviceStager stager_;
};

}  // namespace

const char* const kNoCudaNote =
    "this build of capflow has no CUDA (the LibTorch it was compiled against is CPU-only); "
    "build against a CUDA LibTorch, for example cmake -S . -B build-gpu "
    "-DCMAKE_PREFIX_PATH=\"$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')\" "
    "(docs/gpu.md), or write device: cpu";

void register_device_nodes(graph::Registry& registry) {
  using namespace graph;
  if (!model::cuda_built()) {
    registry.add_device_note("cuda", kNoCudaNote);
    return;
  }
  add_node<ToDevice>(
      registry,
      NodeSchema("to_device",
                 "copies a batch to the device of the next node (pinned memory, side stream, "
                 "non-blocking) and converts it to the model's input there; inserted by the "
                 "builder where a cpu node feeds a cuda node")
          .transform("batch", "device_batch")
          .in_order()
          .stage(NodeStage::kOther)
          .args_from({}),
      "cuda");
  registry.add_transfer("cpu", "cuda", "to_device");
}

}  // namespace capflow::nodes
