#include "tools/data/image_id.h"

#include <stdexcept>

#include "graph/seeded_random.h"

namespace capflow::data {

std::string image_id(std::uint64_t seed, std::uint64_t index) {
  constexpr std::uint64_t kHalf = (std::uint64_t{1} << 24) - 1;
  if (index > ((std::uint64_t{1} << 48) - 1)) throw std::out_of_range("image index beyond 2^48");
  std::uint64_t left = index >> 24, right = index & kHalf;
  for (std::uint64_t round = 0; round < 4; ++round) {
    const std::uint64_t f = hash_keys({seed, round, right}) & kHalf;
    const std::uint64_t next = left ^ f;
    left = right;
    right = next;
  }
  const std::uint64_t v = (left << 24) | right;
  static const char* kHex = "0123456789abcdef";
  std::string id(12, '0');
  for (int i = 0; i < 12; ++i) id[static_cast<std::size_t>(11 - i)] = kHex[(v >> (4 * i)) & 0xF];
  return id;
}

std::string bms_relative_path(const std::string& id, const std::string& ext,
                              const std::string& split) {
  if (id.size() < 3) throw std::invalid_argument("image id shorter than 3 characters: " + id);
  return split + "/" + id[0] + "/" + id[1] + "/" + id[2] + "/" + id + "." + ext;
}

}  // namespace capflow::data
