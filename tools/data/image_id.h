// BMS-style image ids: 12 lowercase hex digits, a keyed permutation of the image index, so
// ids from one seed never collide and look random; and the BMS folder layout.
#pragma once

#include <cstdint>
#include <string>

namespace capflow::data {

// 48-bit Feistel permutation of `index` keyed by `seed`, as 12 hex digits.
std::string image_id(std::uint64_t seed, std::uint64_t index);

// "<split>/a/b/c/<id>.<ext>", where a, b, c are the first three characters of the id.
std::string bms_relative_path(const std::string& id, const std::string& ext,
                              const std::string& split = "train");

}  // namespace capflow::data
