// The builder's transfer nodes where a pipeline crosses devices (graph/device_transfer.h), and
// the note a device without implementations adds to validation's message. A hand-made catalog:
// files -> decode (cpu, cuda) -> augment -> batch -> sink, plus a transfer kind `to_gpu`
// (image -> gpu_image, cuda) registered for cpu -> cuda; augment takes an image or a gpu_image,
// as the model nodes take a batch or a device_batch.
#include <gtest/gtest.h>

#include "graph/device_transfer.h"
#include "graph/errors.h"
#include "graph/pipeline_spec.h"
#include "tests/test_catalog.h"

namespace capflow::graph {
namespace {

class TransferCatalog : public testing::MapCatalog {
 public:
  explicit TransferCatalog(bool with_transfer) : with_transfer_(with_transfer) {
    testing::add_example_schemas(*this);
    NodeSchema augment = schema("augment");
    augment.also_takes("gpu_image");
    add(augment, {"cpu", "cuda"});  // augment on cuda too, for chains of cuda nodes
    NodeSchema to_gpu = schema("decode");
    to_gpu.kind = "to_gpu";
    to_gpu.transform("image", "gpu_image");
    to_gpu.args.clear();
    add(to_gpu, {"cuda"});
  }
  std::string transfer_kind(const std::string& from, const std::string& to) const override {
    return with_transfer_ && from == "cpu" && to == "cuda" ? "to_gpu" : "";
  }
  std::string device_note(const std::string& device) const override {
    return device == "tpu" ? "this build has no TPU" : "";
  }

 private:
  NodeSchema schema(const std::string& kind) { return mutable_node(kind); }
  bool with_transfer_;
};

// files -> decode -> augment -> batch -> sink, with `decode` and `augment` on the given devices.
std::string pipeline(const std::string& decode_device, const std::string& augment_device,
                     bool edges = true) {
  std::string text =
      "nodes:\n"
      "  files: {kind: files}\n"
      "  decode: {kind: decode, device: " +
      decode_device +
      "}\n"
      "  augment: {kind: augment, device: " +
      augment_device +
      "}\n"
      "  batch: {kind: batch, size: 4}\n"
      "  sink: {kind: sink}\n";
  if (edges) text += "edges: [files, decode, augment, batch, sink]\n";
  return text;
}

// The ConfigError message of parsing `text` with `catalog` (a test failure when it parses).
std::string config_error(const std::string& text, const TransferCatalog& catalog) {
  try {
    parse_pipeline(text, "p.yaml", {}, catalog);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return "";
}

std::vector<std::string> names(const PipelineSpec& spec) {
  std::vector<std::string> out;
  for (const NodeSpec& n : spec.nodes) out.push_back(n.name + ":" + n.kind + "@" + n.device);
  return out;
}

TEST(DeviceTransfer, InsertedWhereACpuNodeFeedsACudaNode) {
  const TransferCatalog catalog(true);
  const PipelineSpec spec = parse_pipeline(pipeline("cpu", "cuda"), "p.yaml", {}, catalog);
  EXPECT_EQ(names(spec), (std::vector<std::string>{
                             "files:files@cpu", "decode:decode@cpu", "cpu_to_cuda:to_gpu@cuda",
                             "augment:augment@cuda", "batch:batch@cpu", "sink:sink@cpu"}));
  // Reported where the cuda node's device was written.
  const NodeSpec* t = spec.node("cpu_to_cuda");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(format_location(t->where), "p.yaml:4:36");
  // The resolved configuration lists it: running config.yaml again inserts nothing more.
  EXPECT_NE(spec.resolved_yaml.find("cpu_to_cuda:"), std::string::npos) << spec.resolved_yaml;
  const PipelineSpec again = parse_pipeline(spec.resolved_yaml, "config.yaml", {}, catalog);
  EXPECT_EQ(names(again), names(spec));
}

TEST(DeviceTransfer, WithoutEdgesTheNodeOrderIsUsed) {
  const TransferCatalog catalog(true);
  const PipelineSpec spec = parse_pipeline(pipeline("cpu", "cuda", false), "p.yaml", {}, catalog);
  EXPECT_EQ(names(spec), (std::vector<std::string>{
                             "files:files@cpu", "decode:decode@cpu", "cpu_to_cuda:to_gpu@cuda",
                             "augment:augment@cuda", "batch:batch@cpu", "sink:sink@cpu"}));
}

TEST(DeviceTransfer, OverridesDecideTheDevices) {
  const TransferCatalog catalog(true);
  const PipelineSpec spec =
      parse_pipeline(pipeline("cpu", "cpu"), "p.yaml", {"nodes.augment.device=cuda"}, catalog);
  ASSERT_NE(spec.node("cpu_to_cuda"), nullptr);
  EXPECT_EQ(spec.nodes[2].name, "cpu_to_cuda");
}

TEST(DeviceTransfer, NoneBetweenSameDevicesNorForUnregisteredPairs) {
  const TransferCatalog catalog(true);
  EXPECT_EQ(parse_pipeline(pipeline("cpu", "cpu"), "p.yaml", {}, catalog).nodes.size(), 5u);
  // augment (cuda) -> batch (cpu): no transfer registered for cuda -> cpu, the nodes pass their
  // payloads as they are; only decode -> augment gets one.
  const PipelineSpec spec = parse_pipeline(pipeline("cpu", "cuda"), "p.yaml", {}, catalog);
  EXPECT_EQ(spec.nodes.size(), 6u);
  EXPECT_EQ(spec.nodes[2].kind, "to_gpu");
}

TEST(DeviceTransfer, AWrittenTransferIsKept) {
  const TransferCatalog catalog(true);
  const std::string text =
      "nodes:\n"
      "  files: {kind: files}\n"
      "  decode: {kind: decode}\n"
      "  up: {kind: to_gpu, device: cuda}\n"
      "  augment: {kind: augment, device: cuda}\n"
      "  batch: {kind: batch, size: 4}\n"
      "  sink: {kind: sink}\n"
      "edges: [files, decode, up, augment, batch, sink]\n";
  EXPECT_EQ(parse_pipeline(text, "p.yaml", {}, catalog).nodes.size(), 6u);
}

TEST(DeviceTransfer, ATransferOutputGoesOnlyWhereItIsTaken) {
  const TransferCatalog catalog(true);
  // batch takes images only: a written transfer in front of it is refused by validation.
  const std::string text =
      "nodes:\n"
      "  files: {kind: files}\n"
      "  decode: {kind: decode}\n"
      "  augment: {kind: augment}\n"
      "  up: {kind: to_gpu, device: cuda}\n"
      "  batch: {kind: batch, size: 4}\n"
      "  sink: {kind: sink}\n"
      "edges: [files, decode, augment, up, batch, sink]\n";
  EXPECT_EQ(config_error(text, catalog),
            "p.yaml:8:37: edge 'up' -> 'batch': 'up' produces 'gpu_image' but 'batch' (kind "
            "batch) takes 'image'");
  // A kind that takes two edge types names both.
  const std::string text2 =
      "nodes:\n"
      "  files: {kind: files}\n"
      "  augment: {kind: augment}\n"
      "  batch: {kind: batch, size: 4}\n"
      "  sink: {kind: sink}\n";
  EXPECT_EQ(config_error(text2, catalog),
            "p.yaml:3:3: edge 'files' -> 'augment': 'files' produces 'sample' but 'augment' "
            "(kind augment) takes 'image' or 'gpu_image'");
}

TEST(DeviceTransfer, UniqueNames) {
  std::vector<ChainNode> chain = {{"cpu_to_cuda", "files", "cpu"},
                                  {"a", "decode", "cuda"},
                                  {"b", "augment", "cpu"},
                                  {"c", "augment", "cuda"}};
  const TransferCatalog catalog(true);
  const auto plan = plan_device_transfers(chain, catalog);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].name, "cpu_to_cuda_2");
  EXPECT_EQ(plan[0].before, 1u);
  EXPECT_EQ(plan[1].name, "cpu_to_cuda_3");
  EXPECT_EQ(plan[1].before, 3u);
  EXPECT_EQ(plan[1].kind, "to_gpu");
}

TEST(DeviceTransfer, DeviceNoteEndsTheMessage) {
  const TransferCatalog catalog(false);
  EXPECT_EQ(config_error(pipeline("cpu", "tpu"), catalog),
            "p.yaml:4:36: node 'augment': kind 'augment' has no 'tpu' implementation in this build "
            "(available: cpu, cuda): this build has no TPU");
}

}  // namespace
}  // namespace capflow::graph
