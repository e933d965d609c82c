// capflow-bench's generic fixture: it builds every registered node kind that has a cpu
// implementation from a YAML pipeline (as the engine would), and drives a data node, the
// collector and a whole training step once each on a tiny synthetic dataset.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "bench/node_fixture.h"
#include "graph/registry.h"
#include "nodes/model/precision_choice.h"
#include "nodes/register_nodes.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using capflow::bench::NodeFixture;

namespace {

std::string pipeline(const std::string& root, const std::string& tail) {
  return "seed: 3\n"
         "data: {root: " +
         root +
         ", val_root: null}\n"
         "resources: {threads: 1, max_in_flight: 2}\n"
         "train: {epochs: 2}\n"
         "nodes:\n"
         "  read:     {kind: read_files}\n"
         "  decode:   {kind: decode_image, fit: [64, 64]}\n"
         "  augment:  {kind: bms_augment, size: [64, 64], noise: 0.001, jitter: 2}\n"
         "  batch:    {kind: batch, size: 4}\n" +
         tail;
}

const std::string kTrainTail =
    "  encode:   {kind: resnet_encoder, depth: 18, precision: fp32}\n"
    "  lstm:     {kind: attention_lstm, embed: 16, hidden: 32, attention: 16, dropout: 0.0, "
    "precision: fp32}\n"
    "  backward: {kind: backward}\n"
    "  reduce:   {kind: allreduce}\n"
    "  optimize: {kind: OPTIMIZER, warmup_steps: 0, schedule: constant, checkpoint_every: 0, "
    "eval_every: 0}\n"
    "edges: [read, decode, augment, batch, encode, lstm, backward, reduce, optimize]\n";

std::string train_tail(const std::string& optimizer) {
  std::string tail = kTrainTail;
  tail.replace(tail.find("OPTIMIZER"), 9, optimizer);
  return tail;
}

// The training tail with the transformer decoder in the lstm node's place.
std::string transformer_tail() {
  std::string tail = train_tail("adam");
  const auto from = tail.find("  lstm:"), to = tail.find("  backward:");
  return tail.replace(from, to - from,
                      "  lstm:     {kind: transformer_decoder, hidden: 16, layers: 1, heads: 2, "
                      "ffn: 16, dropout: 0.0, precision: fp32}\n");
}

class NodeFixtureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = capflow::testing::make_temp_dir("nodefixture");
    capflow::bench::make_synthetic_dataset(dir_ + "/data", 12, 96, "png");
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static inline std::string dir_;
};

TEST_F(NodeFixtureTest, BuildsEveryRegisteredCpuNode) {
  const std::string root = dir_ + "/data";
  std::set<std::string> built;
  for (const std::string& yaml :
       {pipeline(root, train_tail("adam")), pipeline(root, train_tail("adamw")),
        pipeline(root, transformer_tail()),
        pipeline(root,
                 "  denoise:  {kind: median_filter}\n  sink: {kind: discard}\n"
                 "edges: [read, decode, denoise, augment, batch, sink]\n")}) {
    NodeFixture fixture(yaml);
    for (const std::string& kind : fixture.kinds()) built.insert(kind);
  }
  capflow::graph::Registry registry;
  capflow::nodes::register_all(registry);
  for (const std::string& kind : registry.kinds()) {
    const auto devices = registry.devices(kind);
    if (std::find(devices.begin(), devices.end(), "cpu") == devices.end()) continue;
    EXPECT_TRUE(built.count(kind))
        << "node kind '" << kind
        << "' has a cpu implementation but no pipeline of this test builds it";
  }
}

TEST_F(NodeFixtureTest, DrivesDataNodesAndATrainingStep) {
  NodeFixture fixture(pipeline(dir_ + "/data", train_tail("adam")));
  ASSERT_EQ(fixture.prepare("decode", 5), 5u);
  const NodeFixture::Step decoded = fixture.run_once("decode");
  EXPECT_EQ(decoded.units, 1u);
  EXPECT_GT(decoded.bytes, 0u);  // the PNG file's size

  ASSERT_EQ(fixture.prepare("batch", 8), 8u);
  const NodeFixture::Step batched = fixture.run_once("batch");
  EXPECT_EQ(batched.units, 4u);
  EXPECT_EQ(batched.bytes, 4u * 64 * 64);  // four augmented 64×64 images

  ASSERT_EQ(fixture.prepare("encode", 1), 1u);
  const NodeFixture::Step step = fixture.run_once("encode", "optimize");
  EXPECT_EQ(step.units, 4u);
  EXPECT_FALSE(step.skipped);
  EXPECT_THROW(fixture.run_once("decode"), std::logic_error);  // inputs are for encode
}

// The shipped CPU pipelines validate against the real registry, and the demo trains on smaller
// pictures where the CPU has no native bf16 (pipelines/demo.yaml's `when:`).
TEST(ShippedPipelines, ValidateAndTheDemoFitsItsPicturesToTheCpu) {
  capflow::graph::Registry registry;
  capflow::nodes::register_all(registry);
  const std::string dir = std::string(CAPFLOW_SOURCE_DIR) + "/pipelines/";
  for (const char* name :
       {"data-only.yaml", "train-cpu.yaml", "train-frozen.yaml", "train-transformer.yaml"})
    EXPECT_NO_THROW(capflow::graph::load_pipeline(dir + name, {}, registry)) << name;
  const capflow::graph::PipelineSpec demo =
      capflow::graph::load_pipeline(dir + "demo.yaml", {}, registry);
  const bool fp32 = !capflow::model::cpu_runs_bf16_fast();
  const std::vector<std::int64_t> side(2, fp32 ? 160 : 224);
  EXPECT_EQ(demo.node("decode")->args.get_int_list("fit"), side);
  EXPECT_EQ(demo.node("augment")->args.get_int_list("size"), side);
  EXPECT_EQ(demo.node("encode")->args.get_int("width"), fp32 ? 24 : 32);
  EXPECT_EQ(demo.conditions_applied.size(), fp32 ? 1u : 0u);
  // --set still wins.
  const capflow::graph::PipelineSpec set =
      capflow::graph::load_pipeline(dir + "demo.yaml", {"nodes.augment.size=[96, 96]"}, registry);
  EXPECT_EQ(set.node("augment")->args.get_int_list("size"), (std::vector<std::int64_t>{96, 96}));
}

}  // namespace
