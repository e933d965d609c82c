// The rendezvous key-value server (see key_value_server.h).
#include "nodes/reduce/key_value_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "graph/errors.h"

namespace capflow::reduce {

namespace {

constexpr std::uint32_t kMaxStrings = 1 << 16;
constexpr std::uint32_t kMaxBytes = 256u << 20;

void write_all(int fd, const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::send(fd, p, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw CommError(std::string("rendezvous connection lost while sending: ") + std::strerror(errno));
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

// False on a clean end of stream before the first byte.
bool read_all(int fd, void* data, std::size_t size, bool eof_ok) {
  char* p = static_cast<char*>(data);
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::recv(fd, p + got, size - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      throw CommError("rendezvous store did not answer in time (its host may be hung)");
    if (n == 0 && got == 0 && eof_ok) return false;
    if (n <= 0) throw CommError("rendezvous connection closed by the other side");
    got += static_cast<std::size_t>(n);
  }
  return true;
}

std::uint32_t decode_u32(const unsigned char* b) {
  return b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::uint32_t>(b[3]) << 24);
}

std::uint32_t read_u32(int fd) {
  unsigned char b[4];
  read_all(fd, b, 4, false);
  return decode_u32(b);
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

long long to_number(const std::string& s) { return std::strtoll(s.c_str(), nullptr, 10); }

}  // namespace

void send_message(int fd, const Message& message) {
  std::string out;
  put_u32(out, static_cast<std::uint32_t>(message.size()));
  for (const auto& s : message) {
    put_u32(out, static_cast<std::uint32_t>(s.size()));
    out += s;
  }
  write_all(fd, out.data(), out.size());
}

bool receive_message(int fd, Message& message) {
  unsigned char b[4];
  if (!read_all(fd, b, 4, true)) return false;
  const std::uint32_t count = decode_u32(b);
  if (count > kMaxStrings) throw CommError("malformed rendezvous message (" + std::to_string(count) + " parts)");
  message.assign(count, std::string());
  for (auto& s : message) {
    const std::uint32_t n = read_u32(fd);
    if (n > kMaxBytes) throw CommError("malformed rendezvous message (" + std::to_string(n) + " bytes)");
    s.resize(n);
    if (n > 0) read_all(fd, s.data(), n, false);
  }
  return true;
}

KeyValueServer::KeyValueServer(const std::string& host, int port, std::string token_digest)
    : token_digest_(std::move(token_digest)) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string where = host + ":" + std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0)
    throw CommError("rendezvous: cannot resolve master address " + where + ": " + ::gai_strerror(rc));
  std::string last_error = "no address";
  for (addrinfo* a = found; a != nullptr && listen_fd_ < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 128) == 0) {
      listen_fd_ = fd;
      sockaddr_storage bound{};
      socklen_t len = sizeof bound;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
      char text[INET6_ADDRSTRLEN] = "?";
      if (bound.ss_family == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(&bound);
        ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
        port_ = ntohs(in->sin_port);
      } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&bound);
        ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
        port_ = ntohs(in6->sin6_port);
      }
      bound_ = std::string(text) + ":" + std::to_string(port_);
    } else {
      last_error = std::strerror(errno);
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  if (listen_fd_ < 0)
    throw CommError("rendezvous: cannot listen on " + where + " (" + last_error +
                    "; is another job using MASTER_PORT " + std::to_string(port) + "?)");
  acceptor_ = std::thread([this] { accept_loop(); });
}

KeyValueServer::~KeyValueServer() {
  stopping_ = true;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : clients_) ::shutdown(fd, SHUT_RDWR);
  }
  changed_.notify_all();
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listen_fd_);
  for (auto& w : workers_)
    if (w.joinable()) w.join();
  for (int fd : clients_) ::close(fd);
}

void KeyValueServer::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) {
      ::close(fd);
      break;
    }
    clients_.push_back(fd);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

void KeyValueServer::serve(int fd) {
  bool authenticated = false;
  try {
    Message request;
    while (!stopping_ && receive_message(fd, request)) {
      const Message reply = handle(request, authenticated);
      send_message(fd, reply);
      if (!authenticated) break;  // a refused client is disconnected
    }
  } catch (const std::exception&) {
    // A client that went away or spoke nonsense: drop it; the others go on.
  }
  ::shutdown(fd, SHUT_RDWR);
}

Message KeyValueServer::handle(const Message& r, bool& authenticated) {
  const auto need = [&](std::size_t n) {
    if (r.size() < n) throw CommError("malformed rendezvous request");
  };
  need(1);
  const std::string& op = r[0];
  if (op == "hello") {
    need(2);
    authenticated = r[1] == token_digest_;
    if (!authenticated)
      return {"error", "refused by rank 0's rendezvous store: this rank's job token differs (set the same "
                       "CAPFLOW_JOB_TOKEN on every rank)"};
    return {"ok"};
  }
  if (!authenticated) return {"error", "say hello with the job token first"};
  std::unique_lock<std::mutex> lock(mutex_);
  // Waits until every key exists; timeout_ms 0 waits for ever (until the server stops).
  const auto wait_keys = [&](const std::vector<std::string>& keys, long long timeout_ms) {
    const auto ready = [&] {
      if (stopping_) return true;
      for (const auto& k : keys)
        if (!data_.count(k)) return false;
      return true;
    };
    if (timeout_ms <= 0)
      changed_.wait(lock, ready);
    else
      changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), ready);
    for (const auto& k : keys)
      if (!data_.count(k)) return false;
    return true;
  };
  if (op == "set") {
    need(3);
    data_[r[1]] = r[2];
    changed_.notify_all();
    return {"ok"};
  }
  if (op == "get") {
    need(3);
    if (!wait_keys({r[1]}, to_number(r[2]))) return {"timeout", r[1]};
    return {"ok", data_[r[1]]};
  }
  if (op == "add") {
    need(3);
    auto it = data_.find(r[1]);
    const long long value = (it == data_.end() ? 0 : to_number(it->second)) + to_number(r[2]);
    data_[r[1]] = std::to_string(value);
    changed_.notify_all();
    return {"ok", std::to_string(value)};
  }
  if (op == "check") {
    for (std::size_t i = 1; i < r.size(); ++i)
      if (!data_.count(r[i])) return {"ok", "0"};
    return {"ok", "1"};
  }
  if (op == "wait") {
    need(2);
    const std::vector<std::string> keys(r.begin() + 2, r.end());
    if (!wait_keys(keys, to_number(r[1]))) return {"timeout", keys.empty() ? "" : keys.front()};
    return {"ok"};
  }
  if (op == "delete") {
    need(2);
    return {"ok", data_.erase(r[1]) > 0 ? "1" : "0"};
  }
  if (op == "numkeys") return {"ok", std::to_string(data_.size())};
  if (op == "cas") {
    need(4);
    auto it = data_.find(r[1]);
    if (it == data_.end()) {
      if (!r[2].empty()) return {"ok", r[2]};
      data_[r[1]] = r[3];
      changed_.notify_all();
      return {"ok", r[3]};
    }
    if (it->second == r[2]) {
      it->second = r[3];
      changed_.notify_all();
    }
    return {"ok", it->second};
  }
  return {"error", "unknown rendezvous operation '" + op + "'"};
}

}  // namespace capflow::reduce
