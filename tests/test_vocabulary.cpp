#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "graph/errors.h"
#include "nodes/text/vocabulary.h"

using capflow::text::Vocabulary;

namespace {

const std::vector<std::string> kLabels = {
    "InChI=1S/C13H20OS/c1-9(2)8-15-13-6-5-10(3)7-12(13)11(4)14/h5-7,9,11,14H,8H2,1-4H3/t11-/m1/s1",
    "InChI=1S/C2H4O2.Na/c1-2(3)4;/h1H3,(H,3,4);/q;+1/p-1"};

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("capflow_test_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

TEST(Vocabulary, SpecialTokensComeFirst) {
  const auto v = Vocabulary::from_inchis(kLabels);
  EXPECT_EQ(v.token(Vocabulary::kPad), "<pad>");
  EXPECT_EQ(v.token(Vocabulary::kSos), "<sos>");
  EXPECT_EQ(v.token(Vocabulary::kEos), "<eos>");
  EXPECT_EQ(v.token(Vocabulary::kUnk), "<unk>");
  EXPECT_GT(v.size(), 20u);
}

TEST(Vocabulary, EncodeDecodeRoundTrip) {
  const auto v = Vocabulary::from_inchis(kLabels);
  for (const auto& l : kLabels) {
    const auto ids = v.encode(l);
    EXPECT_EQ(ids.front(), Vocabulary::kSos);
    EXPECT_EQ(ids.back(), Vocabulary::kEos);
    EXPECT_EQ(v.decode(ids), l);
  }
  // Unknown tokens map to <unk>.
  const auto ids = v.encode("InChI=1S/CH4Xe");
  EXPECT_NE(std::find(ids.begin(), ids.end(), Vocabulary::kUnk), ids.end());
}

// Every token finds its own id, in the vocabulary and in copies of it (the lookup table holds
// ids, not pointers into the tokens); near misses (a prefix, an extension, one letter changed,
// the empty string) are <unk>. Hundreds of numbers make the probe sequences collide.
TEST(Vocabulary, EveryTokenFindsItsIdAndNearMissesAreUnknown) {
  std::vector<std::string> labels = kLabels;
  for (int n = 0; n < 400; ++n)
    labels.push_back("InChI=1S/C" + std::to_string(n + 2) + "H4/c1-" + std::to_string(n));
  const auto v = Vocabulary::from_inchis(labels);
  ASSERT_GT(v.size(), 400u);
  const Vocabulary copy = v;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string& t = v.token(static_cast<int>(i));
    EXPECT_EQ(v.id(t), static_cast<int>(i)) << t;
    EXPECT_EQ(copy.id(t), static_cast<int>(i)) << t;
  }
  for (const std::string miss : {"Cl2", "C3H", "Xe", "<pa>", "<pad>x", "99999", "//", ""})
    EXPECT_EQ(v.id(miss), Vocabulary::kUnk) << miss;
}

TEST(Vocabulary, SaveLoadIsIdentical) {
  const auto v = Vocabulary::from_inchis(kLabels);
  const auto path = temp_path("vocab.txt");
  v.save(path);
  const auto w = Vocabulary::load(path);
  EXPECT_EQ(v.tokens(), w.tokens());
  std::filesystem::remove(path);
}

TEST(Vocabulary, LoadRejectsForeignFileNamingIt) {
  const auto path = temp_path("not_vocab.txt");
  std::ofstream(path) << "C\nH\n";
  try {
    Vocabulary::load(path);
    FAIL() << "expected ConfigError";
  } catch (const capflow::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
  std::filesystem::remove(path);
  EXPECT_THROW(Vocabulary::load(path), capflow::ConfigError);
}

}  // namespace
