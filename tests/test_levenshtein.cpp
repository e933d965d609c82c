#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "graph/seeded_random.h"
#include "nodes/text/levenshtein.h"

using capflow::text::levenshtein;

namespace {

// The textbook dynamic programme, as the oracle.
int reference(const std::string& a, const std::string& b) {
  std::vector<int> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = static_cast<int>(j);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    int diag = row[0];
    row[0] = static_cast<int>(i);
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const int up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

TEST(Levenshtein, HandMadeCases) {
  EXPECT_EQ(levenshtein("", ""), 0);
  EXPECT_EQ(levenshtein("abc", ""), 3);
  EXPECT_EQ(levenshtein("", "abcd"), 4);
  EXPECT_EQ(levenshtein("kitten", "sitting"), 3);
  EXPECT_EQ(levenshtein("flaw", "lawn"), 2);
  EXPECT_EQ(levenshtein("InChI=1S/CH4/h1H4", "InChI=1S/CH4/h1H4"), 0);
  EXPECT_EQ(levenshtein("InChI=1S/CH4/h1H4", "InChI=1S/CH3/h1H3"), 2);
  EXPECT_EQ(levenshtein("abc", "cba"), 2);
  EXPECT_EQ(levenshtein(std::string(100, 'a'), std::string(100, 'b')), 100);
  EXPECT_EQ(levenshtein(std::string(200, 'a'), std::string(130, 'a')), 70);
}

TEST(Levenshtein, SymmetricAndMatchesTheDynamicProgrammeOnRandomStrings) {
  capflow::SeededRng rng({7});
  for (int trial = 0; trial < 600; ++trial) {
    // Lengths across the 64-bit word boundaries; a small alphabet makes edits overlap.
    const auto la = static_cast<std::size_t>(rng.uniform_int(0, 300));
    std::string a, b;
    for (std::size_t i = 0; i < la; ++i) a += static_cast<char>('a' + rng.uniform_int(0, 3));
    b = a;
    const int edits = static_cast<int>(rng.uniform_int(0, 40));
    for (int e = 0; e < edits; ++e) {
      const auto pos = b.empty() ? 0 : rng.index(b.size() + 1);
      const char c = static_cast<char>('a' + rng.uniform_int(0, 4));
      switch (rng.uniform_int(0, 2)) {
        case 0:
          b.insert(b.begin() + static_cast<long>(pos), c);
          break;
        case 1:
          if (pos < b.size()) b.erase(pos, 1);
          break;
        default:
          if (pos < b.size()) b[pos] = c;
          break;
      }
    }
    ASSERT_EQ(levenshtein(a, b), reference(a, b)) << "a=" << a << " b=" << b;
    ASSERT_EQ(levenshtein(b, a), reference(a, b));
  }
}

}  // namespace
