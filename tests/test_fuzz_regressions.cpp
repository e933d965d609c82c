// Replays every fuzz regression input (tests/fuzz_regressions/<target>/) and every seed
// (fuzz/seeds/<target>/) through the fuzz entry functions, without libFuzzer: an input that once
// crashed a target stays fixed. A failure aborts with the entry's message or the escaping
// exception; the input being replayed is printed first.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_entries.h"
#include "nodes/model/checkpoint_info.h"
#include "tests/test_support.h"

namespace {

namespace fs = std::filesystem;

std::vector<std::uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

capflow::fuzz::Entry entry(const std::string& target) {
  const auto plain = capflow::fuzz::plain_entry(target);
  return plain ? plain : capflow::fuzz::torch_entry(target);
}

// Runs the entry on every file of the target's folders; returns how many there were.
int replay(const std::string& target) {
  int count = 0;
  for (const char* folder : {"tests/fuzz_regressions", "fuzz/seeds"}) {
    const fs::path dir = fs::path(CAPFLOW_SOURCE_DIR) / folder / target;
    if (!fs::is_directory(dir)) continue;
    for (const auto& file : fs::directory_iterator(dir)) {
      std::fprintf(stderr, "replaying %s\n", file.path().c_str());
      const auto bytes = read_bytes(file.path());
      entry(target)(bytes.data(), bytes.size());
      ++count;
    }
  }
  return count;
}

class FuzzRegressions : public ::testing::TestWithParam<std::string> {};

TEST_P(FuzzRegressions, EveryInputIsHandled) {
  ASSERT_NE(entry(GetParam()), nullptr);
  replay(GetParam());
}

std::vector<std::string> all_targets() {
  auto names = capflow::fuzz::plain_targets();
  for (const auto& t : capflow::fuzz::torch_targets()) names.push_back(t);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzRegressions, ::testing::ValuesIn(all_targets()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// The checkpoint seed that tools/fuzz.sh writes is one read_checkpoint_info accepts (so the
// fuzzer starts from a valid checkpoint), and its entry handles it.
TEST(FuzzSeeds, TheCheckpointSeedIsAValidCheckpoint) {
  const auto dir = capflow::testing::make_temp_dir("fuzz-seed");
  const std::string path = dir + "/seed.pt";
  capflow::fuzz::write_checkpoint_seed(path);
  const auto info = capflow::model::read_checkpoint_info(path);
  EXPECT_EQ(info.step, 7u);
  EXPECT_EQ(info.vocabulary.size(), 4u);
  const auto bytes = read_bytes(path);
  capflow::fuzz::torch_entry("checkpoint")(bytes.data(), bytes.size());
}

TEST(FuzzSeeds, APipelineInputSplitsIntoTextAndOverrides) {
  const std::string input("seed: 1\0a=1\0b=2", 15);
  const auto parts = capflow::fuzz::split_pipeline_input(
      reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
  EXPECT_EQ(parts, (std::vector<std::string>{"seed: 1", "a=1", "b=2"}));
}

}  // namespace
