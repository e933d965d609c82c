// Tests of ChunkedConversion: prediction's captions converted many at a time.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "nodes/model/chunked_conversion.h"

using capflow::model::ChunkedConversion;

namespace {

// Ten texts in chunks of three: three full conversions while adding, the rest at flush, every
// result delivered to its own index whatever order the indices came in.
TEST(ChunkedConversion, ConvertsFullChunksAsTheyFillAndTheRestAtFlush) {
  std::vector<std::size_t> calls;  // texts per conversion
  std::map<std::size_t, std::string> got;
  ChunkedConversion c(
      3,
      [&calls](std::vector<std::string> texts) {
        calls.push_back(texts.size());
        for (auto& t : texts) t = "<" + t + ">";
        return texts;
      },
      [&got](std::size_t i, std::string r) { got[i] = std::move(r); });
  const std::vector<std::size_t> order = {7, 2, 9, 0, 5, 1, 8, 3, 6, 4};
  for (const std::size_t i : order) c.add(i, "t" + std::to_string(i));
  EXPECT_EQ(calls, (std::vector<std::size_t>{3, 3, 3}));
  EXPECT_EQ(c.waiting(), 1u);
  c.flush();
  EXPECT_EQ(calls, (std::vector<std::size_t>{3, 3, 3, 1}));
  EXPECT_EQ(c.waiting(), 0u);
  ASSERT_EQ(got.size(), 10u);
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(got[i], "<t" + std::to_string(i) + ">");
  c.flush();  // nothing held: no conversion
  EXPECT_EQ(calls.size(), 4u);
}

TEST(ChunkedConversion, AConversionThatLosesResultsIsRefused) {
  ChunkedConversion c(
      2, [](std::vector<std::string> texts) { return std::vector<std::string>(texts.size() - 1); },
      [](std::size_t, std::string) {});
  c.add(0, "a");
  EXPECT_THROW(c.add(1, "b"), std::logic_error);
}

}  // namespace
