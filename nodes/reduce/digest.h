// FNV-1a, 64 bits: the digests ranks compare (configuration, weights, job token). Not a
// cryptographic hash; enough to tell "the same" from "different by mistake".
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace capflow::reduce {

class Digest {
 public:
  Digest& add(const void* data, std::size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) {
      h_ ^= p[i];
      h_ *= 1099511628211ULL;
    }
    return *this;
  }
  Digest& add(std::string_view text) { return add(text.data(), text.size()); }
  std::string hex() const {
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h_));
    return out;
  }

 private:
  std::uint64_t h_ = 1469598103934665603ULL;
};

}  // namespace capflow::reduce
