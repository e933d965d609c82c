// Counter-based, platform-independent random numbers: every draw depends only on the keys it
// was seeded with (for example seed, epoch, sample id), never on thread scheduling. The
// distributions are implemented here (not std::*_distribution, whose output differs between
// standard libraries), so the same keys give the same values everywhere.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>

namespace capflow {

__extension__ typedef unsigned __int128 uint128_t;

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Combines keys into one 64-bit value; order matters.
inline std::uint64_t hash_keys(std::initializer_list<std::uint64_t> keys) {
  std::uint64_t h = 0x243f6a8885a308d3ULL;
  for (std::uint64_t k : keys) h = splitmix64(h ^ splitmix64(k));
  return h;
}

// xoshiro256** seeded from the keys through splitmix64. Satisfies
// UniformRandomBitGenerator, so it can also drive std::shuffle.
class SeededRng {
 public:
  using result_type = std::uint64_t;

  explicit SeededRng(std::initializer_list<std::uint64_t> keys) {
    std::uint64_t x = hash_keys(keys);
    for (auto& s : state_) {
      x = splitmix64(x);
      s = x;
    }
  }

  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }

  result_type operator()() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1).
  double uniform() { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Uniform integer in [lo, hi], both included (Lemire's nearly divisionless method).
  std::int64_t uniform_int(std::int64_t lo, std::int64_t hi) {
    const std::uint64_t range = static_cast<std::uint64_t>(hi - lo) + 1;
    if (range == 0) return static_cast<std::int64_t>((*this)());  // full 64-bit range
    uint128_t m = static_cast<uint128_t>((*this)()) * range;
    std::uint64_t low = static_cast<std::uint64_t>(m);
    if (low < range) {
      const std::uint64_t threshold = (0 - range) % range;
      while (low < threshold) {
        m = static_cast<uint128_t>((*this)()) * range;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return lo + static_cast<std::int64_t>(m >> 64);
  }

  // Index in [0, n); n must be positive.
  std::size_t index(std::size_t n) {
    return static_cast<std::size_t>(uniform_int(0, static_cast<std::int64_t>(n) - 1));
  }

  bool bernoulli(double p) { return uniform() < p; }

  // Standard normal (Box-Muller, one value per call).
  double normal() {
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t state_[4];
};

}  // namespace capflow
