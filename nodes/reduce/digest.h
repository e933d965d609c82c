// The digests ranks compare (configuration, weights, job token): FNV-1a (graph/fnv1a.h) over
// bytes, printed as 16 hex digits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "graph/fnv1a.h"

namespace capflow::reduce {

class Digest {
 public:
  Digest& add(const void* data, std::size_t size) {
    h_ = fnv1a(std::string_view(static_cast<const char*>(data), size), h_);
    return *this;
  }
  Digest& add(std::string_view text) { return add(text.data(), text.size()); }
  std::string hex() const {
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h_));
    return out;
  }

 private:
  std::uint64_t h_ = kFnv1aOffset;
};

}  // namespace capflow::reduce
