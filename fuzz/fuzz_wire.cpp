// The rendezvous wire format as the server reads it (nodes/reduce/key_value_server.h): the
// first message under the hello limits and the token check, then messages as an authenticated
// rank sends them, until the bytes run out.
#include <cstring>

#include "fuzz/fuzz_entries.h"
#include "graph/errors.h"
#include "nodes/reduce/key_value_server.h"

namespace capflow::fuzz {

namespace {

// The server's limits, but with parts of at most 1 MiB (a claimed 256 MiB part would only
// measure the fuzzer's memory limit).
constexpr reduce::MessageLimits kRankLimits{1u << 16, 1u << 20, 4u << 20};

// Reads from memory as the server reads from a socket: false at a clean end before a message,
// CommError in the middle of one.
reduce::ByteReader memory_reader(const std::uint8_t* data, std::size_t size, std::size_t& offset) {
  return [data, size, &offset](void* out, std::size_t n, bool eof_ok) {
    if (offset == size && eof_ok) return false;
    if (size - offset < n) throw CommError("rendezvous connection closed by the other side");
    std::memcpy(out, data + offset, n);
    offset += n;
    return true;
  };
}

}  // namespace

void rendezvous_wire(const std::uint8_t* data, std::size_t size) {
  std::size_t offset = 0;
  const auto read = memory_reader(data, size, offset);
  reduce::Message message;
  try {
    if (!reduce::read_message(read, message, reduce::kHelloLimits)) return;
    if (message.size() > reduce::kHelloLimits.max_strings) fail("a hello over the limits was read");
    if (!reduce::hello_refusal(message, "0123456789abcdef").empty()) return;
    while (reduce::read_message(read, message, kRankLimits))
      if (message.size() > kRankLimits.max_strings) fail("a message over the limits was read");
  } catch (const CommError&) {
  }
}

}  // namespace capflow::fuzz
