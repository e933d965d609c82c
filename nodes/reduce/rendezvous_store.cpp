// The c10d::Store client of capflow's rendezvous server (see rendezvous_store.h).
#include "nodes/reduce/rendezvous_store.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <thread>

#include "graph/errors.h"
#include "nodes/reduce/digest.h"

namespace capflow::reduce {

namespace {

int connect_once(const std::string& host, int port, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
      rc != 0) {
    error = ::gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      error = std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  return fd;
}

std::string text(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }
std::vector<uint8_t> bytes(const std::string& s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

}  // namespace

std::string token_digest(const std::string& token) {
  return Digest().add("capflow-job-token:").add(token).hex();
}

RendezvousStore::RendezvousStore(const std::string& host, int port, const std::string& token,
                                 std::chrono::milliseconds timeout)
    : c10d::Store(timeout), address_(host + ":" + std::to_string(port)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string error;
  while ((fd_ = connect_once(host, port, error)) < 0) {
    if (std::chrono::steady_clock::now() >= deadline)
      throw CommError(
          "rendezvous: no answer from rank 0 at " + address_ + " within " +
          std::to_string(timeout.count() / 1000) + " s (" + error +
          "); is rank 0 running, and are MASTER_ADDR and MASTER_PORT the same on every rank?");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const Message reply = call({"hello", token_digest(token)}, std::chrono::milliseconds(0));
  if (reply[0] != "ok") {
    ::close(fd_);
    fd_ = -1;
    throw CommError("rendezvous at " + address_ + ": " + (reply.size() > 1 ? reply[1] : reply[0]));
  }
}

namespace {

// The reply's value field; a reply without one is a protocol error, not a crash.
const std::string& value_of(const Message& reply, const std::string& op) {
  if (reply.size() < 2) throw CommError("rendezvous: the reply to '" + op + "' has no value");
  return reply[1];
}

int64_t integer_of(const Message& reply, const std::string& op) {
  const std::string& text = value_of(reply, op);
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size())
    throw CommError("rendezvous: the reply to '" + op + "' is not an integer: '" +
                    text.substr(0, 40) + "'");
  return value;
}

}  // namespace

RendezvousStore::~RendezvousStore() {
  if (fd_ >= 0) ::close(fd_);
}

Message RendezvousStore::call(const Message& request, std::chrono::milliseconds wait_budget) {
  std::lock_guard<std::mutex> lock(mutex_);
  // The server answers within wait_budget; a host that does not answer 10 s later is gone or hung.
  const auto limit = wait_budget + std::chrono::seconds(10);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(limit.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((limit.count() % 1000) * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  try {
    send_message(fd_, request);
    Message reply;
    if (!receive_message(fd_, reply) || reply.empty())
      throw CommError("the rendezvous store closed the connection");
    if (reply[0] == "error")
      throw CommError("rendezvous at " + address_ + ": " + (reply.size() > 1 ? reply[1] : ""));
    return reply;
  } catch (const CommError& e) {
    throw CommError(std::string(e.what()) + " (rank 0's store at " + address_ + ")");
  }
}

void RendezvousStore::set(const std::string& key, const std::vector<uint8_t>& value) {
  call({"set", key, text(value)}, std::chrono::milliseconds(0));
}

std::vector<uint8_t> RendezvousStore::compareSet(const std::string& key,
                                                 const std::vector<uint8_t>& expected,
                                                 const std::vector<uint8_t>& desired) {
  return bytes(value_of(
      call({"cas", key, text(expected), text(desired)}, std::chrono::milliseconds(0)), "cas"));
}

std::vector<uint8_t> RendezvousStore::get(const std::string& key) {
  const Message reply = call({"get", key, std::to_string(timeout_.count())}, timeout_);
  if (reply[0] != "ok")
    throw CommError("rendezvous: key '" + key + "' did not appear within " +
                    std::to_string(timeout_.count() / 1000) + " s (a rank has not arrived)");
  return bytes(value_of(reply, "get"));
}

int64_t RendezvousStore::add(const std::string& key, int64_t value) {
  return integer_of(call({"add", key, std::to_string(value)}, std::chrono::milliseconds(0)), "add");
}

bool RendezvousStore::deleteKey(const std::string& key) {
  return value_of(call({"delete", key}, std::chrono::milliseconds(0)), "delete") == "1";
}

bool RendezvousStore::check(const std::vector<std::string>& keys) {
  Message request{"check"};
  request.insert(request.end(), keys.begin(), keys.end());
  return value_of(call(request, std::chrono::milliseconds(0)), "check") == "1";
}

int64_t RendezvousStore::getNumKeys() {
  return integer_of(call({"numkeys"}, std::chrono::milliseconds(0)), "numkeys");
}

void RendezvousStore::wait(const std::vector<std::string>& keys) { wait(keys, timeout_); }

void RendezvousStore::wait(const std::vector<std::string>& keys,
                           const std::chrono::milliseconds& timeout) {
  Message request{"wait", std::to_string(timeout.count())};
  request.insert(request.end(), keys.begin(), keys.end());
  const Message reply = call(request, timeout);
  if (reply[0] != "ok")
    throw CommError("rendezvous: key '" + (reply.size() > 1 ? reply[1] : std::string()) +
                    "' did not appear within " + std::to_string(timeout.count() / 1000) +
                    " s (a rank has not arrived)");
}

void RendezvousStore::set_text(const std::string& key, const std::string& value) {
  set(key, bytes(value));
}

std::string RendezvousStore::get_text(const std::string& key) { return text(get(key)); }

std::string RendezvousStore::peek_text(const std::string& key) {
  if (!check({key})) return "";
  return text(get(key));
}

}  // namespace capflow::reduce
