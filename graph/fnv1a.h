// 64-bit FNV-1a, the one hash of short keys and digests in capflow (sample ids for random
// draws, InChI keys in the dataset maker, batch fingerprints, the digests ranks compare). Not
// a cryptographic hash: enough to tell "the same" from "different by mistake".
#pragma once

#include <cstdint>
#include <string_view>

namespace capflow {

inline constexpr std::uint64_t kFnv1aOffset = 0xcbf29ce484222325ULL;
inline constexpr std::uint64_t kFnv1aPrime = 0x100000001b3ULL;

// One step: `value` (a byte, or a whole word for word-wise hashing) into `h`. A bijection of h
// for a fixed value, so a change of any single input changes the result.
constexpr std::uint64_t fnv1a_step(std::uint64_t h, std::uint64_t value) {
  return (h ^ value) * kFnv1aPrime;
}

// The bytes of `text`, continuing from `h`.
constexpr std::uint64_t fnv1a(std::string_view text, std::uint64_t h = kFnv1aOffset) {
  for (const char c : text) h = fnv1a_step(h, static_cast<unsigned char>(c));
  return h;
}

}  // namespace capflow
