#include "nodes/text/levenshtein.h"

#include <cstdint>
#include <vector>

namespace capflow::text {
namespace {

// Myers (1999), "A fast bit-vector algorithm for approximate string matching based on
// dynamic programming", block form. The pattern runs down the columns; each word holds 64
// vertical deltas as positive (pv) and negative (mv) bit vectors. The top row of the
// global (Levenshtein) matrix grows by one per text character, so the horizontal delta
// entering block 0 is always +1.
int myers_blocks(std::string_view pattern, std::string_view text) {
  const std::size_t m = pattern.size();
  const std::size_t words = (m + 63) / 64;
  std::vector<std::uint64_t> peq(256 * words, 0);
  for (std::size_t i = 0; i < m; ++i) {
    const auto c = static_cast<unsigned char>(pattern[i]);
    peq[c * words + i / 64] |= std::uint64_t{1} << (i % 64);
  }
  std::vector<std::uint64_t> pv(words, ~std::uint64_t{0}), mv(words, 0);
  const std::uint64_t last_bit = std::uint64_t{1} << ((m - 1) % 64);
  const std::uint64_t top_bit = std::uint64_t{1} << 63;
  int score = static_cast<int>(m);
  for (const char ch : text) {
    const std::uint64_t* eq_row = &peq[static_cast<unsigned char>(ch) * words];
    int hin = 1;
    for (std::size_t w = 0; w < words; ++w) {
      std::uint64_t eq = eq_row[w];
      const std::uint64_t p = pv[w], n = mv[w];
      const std::uint64_t xv = eq | n;
      if (hin < 0) eq |= 1;
      const std::uint64_t xh = (((eq & p) + p) ^ p) | eq;
      std::uint64_t ph = n | ~(xh | p);
      std::uint64_t mh = p & xh;
      const std::uint64_t out_bit = (w + 1 == words) ? last_bit : top_bit;
      const int hout = (ph & out_bit) ? 1 : ((mh & out_bit) ? -1 : 0);
      ph <<= 1;
      mh <<= 1;
      if (hin < 0) {
        mh |= 1;
      } else if (hin > 0) {
        ph |= 1;
      }
      pv[w] = mh | ~(xv | ph);
      mv[w] = ph & xv;
      hin = hout;
    }
    score += hin;
  }
  return score;
}

}  // namespace

int levenshtein(std::string_view a, std::string_view b) {
  // Common prefix and suffix cost nothing; the shorter string is the pattern.
  while (!a.empty() && !b.empty() && a.front() == b.front()) {
    a.remove_prefix(1);
    b.remove_prefix(1);
  }
  while (!a.empty() && !b.empty() && a.back() == b.back()) {
    a.remove_suffix(1);
    b.remove_suffix(1);
  }
  if (a.size() > b.size()) std::swap(a, b);
  if (a.empty()) return static_cast<int>(b.size());
  return myers_blocks(a, b);
}

}  // namespace capflow::text
