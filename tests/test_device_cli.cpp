// `capflow run` with `device: cuda` on a build without CUDA: pipelines/train-gpu.yaml (and
// any pipeline asking for cuda) is refused before anything runs, with exit status 2 and one
// message per node naming the file:line:column of its device key, the node, and that the
// build has no CUDA. In a CUDA build device cuda is valid, so the tests report themselves
// skipped there.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "tests/test_support.h"

namespace {

using capflow::testing::read_text;
using capflow::testing::run_command;

const std::string kBin = CAPFLOW_BINARY;
const std::string kSource = CAPFLOW_SOURCE_DIR;

// "FILE:LINE:COLUMN" of the first `device: cuda` on the line that starts with `  NODE:`.
std::string device_location(const std::string& file, const std::string& node) {
  std::istringstream in(read_text(file));
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.rfind("  " + node + ":", 0) != 0) continue;
    const auto at = line.find("device: cuda");
    if (at == std::string::npos) continue;
    return file + ":" + std::to_string(n) + ":" +
           std::to_string(at + 9);  // 1-based column of "cuda"
  }
  return "(no device: cuda for " + node + ")";
}

TEST(DeviceCli, CudaWithoutCudaIsAConfigurationError) {
#ifdef CAPFLOW_WITH_CUDA
  GTEST_SKIP()
      << "this build has CUDA: device cuda is valid here (tests/test_cuda_backends.cpp covers it)";
#endif
  const std::string pipeline = kSource + "/pipelines/train-gpu.yaml";
  const std::string out = capflow::testing::make_temp_dir("devicecli");
  const auto r = run_command(kBin + " run " + pipeline + " --quiet --out " + out +
                             "/run --set data.root=" + out + "/nothing --set train.max_steps=1");
  EXPECT_EQ(r.status, 2) << r.output;
  for (const auto& [node, kind] : {std::pair<std::string, std::string>{"encode", "resnet_encoder"},
                                   std::pair<std::string, std::string>{"lstm", "attention_lstm"}}) {
    const std::string expected =
        device_location(pipeline, node) + ": node '" + node + "': kind '" + kind +
        "' has no 'cuda' implementation in this build (available: cpu): this build of "
        "capflow has no CUDA";
    EXPECT_NE(r.output.find(expected), std::string::npos) << "expected: " << expected << "\ngot:\n"
                                                          << r.output;
  }
  EXPECT_NE(r.output.find("docs/gpu.md"), std::string::npos) << r.output;
  // Nothing ran: no run folder was written.
  EXPECT_FALSE(std::ifstream(out + "/run/summary.json").good());
  run_command("rm -rf " + out);
}

TEST(DeviceCli, ASetOverrideAsksForCudaToo) {
#ifdef CAPFLOW_WITH_CUDA
  GTEST_SKIP() << "this build has CUDA";
#endif
  const auto r = run_command(kBin + " run " + kSource +
                             "/pipelines/train-cpu.yaml --quiet --set nodes.lstm.device=cuda");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find(
                "--set nodes.lstm.device=cuda: node 'lstm': kind 'attention_lstm' has no 'cuda' "
                "implementation in this build (available: cpu): this build of capflow has no CUDA"),
            std::string::npos)
      << r.output;
}

}  // namespace
