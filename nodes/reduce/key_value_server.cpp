// The rendezvous key-value server (see key_value_server.h).
#include "nodes/reduce/key_value_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "graph/errors.h"

namespace capflow::reduce {

namespace {

void write_all(int fd, const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::send(fd, p, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw CommError(std::string("rendezvous connection lost while sending: ") +
                      std::strerror(errno));
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

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

long long to_number(const std::string& s) { return std::strtoll(s.c_str(), nullptr, 10); }

// Reads with one deadline for the whole message: a client trickling bytes gets no longer.
ByteReader deadline_reader(int fd, std::chrono::steady_clock::time_point deadline,
                           long long budget_ms) {
  return [fd, deadline, budget_ms](void* data, std::size_t size, bool eof_ok) {
    char* p = static_cast<char*>(data);
    for (std::size_t got = 0; got < size;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd w{fd, POLLIN, 0};
      const int ready = left.count() > 0 ? ::poll(&w, 1, static_cast<int>(left.count())) : 0;
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0)
        throw CommError("sent no complete hello within " + std::to_string(budget_ms) + " ms");
      const ssize_t n = ::recv(fd, p + got, size - got, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 && got == 0 && eof_ok) return false;
      if (n <= 0) throw CommError("closed the connection in the middle of its hello");
      got += static_cast<std::size_t>(n);
    }
    return true;
  };
}

void set_timeout(int fd, int option, std::chrono::milliseconds limit) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(limit.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((limit.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv);
}

std::string peer_name(const sockaddr_storage& from) {
  char text[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (from.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&from);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    port = ntohs(in->sin_port);
  } else if (from.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&from);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    port = ntohs(in6->sin6_port);
  }
  return std::string(text) + ":" + std::to_string(port);
}

void log_to_stderr(const std::string& line) {
  const std::string out = "capflow: " + line + "\n";
  std::fwrite(out.data(), 1, out.size(), stderr);
}

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

bool read_message(const ByteReader& read, Message& message, const MessageLimits& limits) {
  unsigned char b[4];
  if (!read(b, 4, true)) return false;
  const std::uint32_t count = decode_u32(b);
  if (count > limits.max_strings)
    throw CommError("malformed rendezvous message (claims " + std::to_string(count) + " parts)");
  message.assign(count, std::string());
  std::uint64_t total = 0;
  for (auto& s : message) {
    read(b, 4, false);
    const std::uint32_t n = decode_u32(b);
    total += n;
    if (n > limits.max_bytes || total > limits.max_total)
      throw CommError("malformed rendezvous message (claims a part of " + std::to_string(n) +
                      " bytes)");
    s.resize(n);
    if (n > 0) read(s.data(), n, false);
  }
  return true;
}

bool receive_message(int fd, Message& message, const MessageLimits& limits) {
  return read_message(
      [fd](void* data, std::size_t size, bool eof_ok) { return read_all(fd, data, size, eof_ok); },
      message, limits);
}

std::string hello_refusal(const Message& hello, const std::string& token_digest) {
  if (hello.empty() || hello[0] != "hello") return "did not say hello with the job token first";
  if (hello.size() != 2 || hello[1] != token_digest)
    return "this rank's job token differs (set the same CAPFLOW_JOB_TOKEN on every rank)";
  return "";
}

KeyValueServer::KeyValueServer(const std::string& host, int port, std::string token_digest,
                               ServerOptions options)
    : token_digest_(std::move(token_digest)), options_(std::move(options)) {
  if (!options_.log) options_.log = log_to_stderr;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string where = host + ":" + std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
      rc != 0)
    throw CommError("rendezvous: cannot resolve master address " + where + ": " +
                    ::gai_strerror(rc));
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
    if (w.thread.joinable()) w.thread.join();
  for (int fd : clients_) ::close(fd);
}

void KeyValueServer::accept_loop() {
  while (!stopping_) {
    reap_finished_workers();
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&from), &len, SOCK_CLOEXEC);
    if (fd >= 0) admit(fd, peer_name(from));
  }
}

void KeyValueServer::admit(int fd, const std::string& peer) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  set_timeout(fd, SO_SNDTIMEO, std::chrono::seconds(10));
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_ || pending_ >= options_.max_pending) {
    if (!stopping_)
      options_.log("rendezvous: refused a client from " + peer + ": " + std::to_string(pending_) +
                   " clients are already waiting to present the job token");
    ::close(fd);
    return;
  }
  Worker& worker = workers_.emplace_back();
  try {
    worker.thread = std::thread([this, fd, peer, &worker] {
      serve(fd, peer);
      worker.done = true;
    });
  } catch (const std::system_error& e) {  // out of threads: refuse this one, keep serving
    workers_.pop_back();
    options_.log("rendezvous: refused a client from " + peer + ": " + e.what());
    ::close(fd);
    return;
  }
  ++pending_;
  clients_.push_back(fd);
}

// Joins the threads of clients that have gone (a finished thread keeps its stack until then).
void KeyValueServer::reap_finished_workers() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (!it->done) {
      ++it;
      continue;
    }
    it->thread.join();
    it = workers_.erase(it);
  }
}

void KeyValueServer::serve(int fd, const std::string& peer) {
  if (authenticate(fd, peer)) {
    try {
      Message request;
      while (!stopping_ && receive_message(fd, request)) send_message(fd, handle(request));
    } catch (const std::exception&) {
      // A rank that went away or spoke nonsense: drop it; the others go on (and notice a dead
      // peer through their own timeouts).
    }
  }
  forget(fd);
}

// The first message must be the hello with the job's token, within options_.hello_timeout.
bool KeyValueServer::authenticate(int fd, const std::string& peer) {
  const auto budget = options_.hello_timeout;
  Message hello;
  std::string why;
  try {
    if (!read_message(
            deadline_reader(fd, std::chrono::steady_clock::now() + budget, budget.count()), hello,
            kHelloLimits))
      why = "closed the connection without a hello";
    else
      why = hello_refusal(hello, token_digest_);
  } catch (const CommError& e) {
    why = e.what();
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --pending_;
  }
  if (!why.empty()) {
    refuse(fd, peer, why);
    return false;
  }
  try {
    send_message(fd, {"ok"});
  } catch (const CommError&) {
    return false;
  }
  return true;
}

void KeyValueServer::refuse(int fd, const std::string& peer, const std::string& why) {
  if (stopping_) return;
  options_.log("rendezvous: refused a client from " + peer + ": " + why);
  try {
    send_message(fd, {"error", "refused by rank 0's rendezvous store: " + why});
  } catch (const CommError&) {
    return;  // it is gone already
  }
  // Closing with its bytes unread would reset the connection and lose the refusal: hang up our
  // side, and discard what it still sends for a moment.
  ::shutdown(fd, SHUT_WR);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  char sink[4096];
  for (int i = 0; i < 256 && std::chrono::steady_clock::now() < deadline; ++i) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0 || ::recv(fd, sink, sizeof sink, 0) <= 0) break;
  }
}

void KeyValueServer::forget(int fd) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = clients_.begin(); it != clients_.end(); ++it)
    if (*it == fd) {
      clients_.erase(it);
      ::close(fd);
      return;
    }
}

Message KeyValueServer::handle(const Message& r) {
  const auto need = [&](std::size_t n) {
    if (r.size() < n) throw CommError("malformed rendezvous request");
  };
  need(1);
  const std::string& op = r[0];
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
