#include <gtest/gtest.h>

#include <unordered_set>

#include "tools/data/image_id.h"

using namespace capflow::data;

namespace {

TEST(ImageId, TwelveHexDigitsDistinctAndSeeded) {
  std::unordered_set<std::string> ids;
  for (std::uint64_t i = 0; i < 200000; ++i) {
    const auto id = image_id(42, i);
    ASSERT_EQ(id.size(), 12u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    ASSERT_TRUE(ids.insert(id).second) << "collision at " << i;
  }
  EXPECT_EQ(image_id(42, 7), image_id(42, 7));
  EXPECT_NE(image_id(42, 7), image_id(43, 7));
}

TEST(ImageId, BmsLayout) {
  EXPECT_EQ(bms_relative_path("000011a64c74", "png"), "train/0/0/0/000011a64c74.png");
  EXPECT_EQ(bms_relative_path("abc011a64c74", "jpg", "test"), "test/a/b/c/abc011a64c74.jpg");
}

}  // namespace
