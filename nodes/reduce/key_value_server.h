// The rendezvous key-value server rank 0 runs for a distributed job: a small TCP service
// bound to exactly the master address (so a loopback master stays on loopback), that refuses
// clients not presenting the job's token digest. Plain C++ and POSIX sockets; the c10d::Store
// client that talks to it is in rendezvous_store.h.
//
// Wire format: every message is a list of byte strings, sent as u32 count, then per string
// u32 length + bytes (little endian). A request's first string names the operation; a reply
// starts with "ok", "timeout" or "error" (then the message).
//
// Hostile clients: until a client has presented the token, its messages are held to
// kHelloLimits (a few short strings: no large allocation on a claimed length) and it has
// `hello_timeout` to say hello; a silent, malformed, oversized or wrong-token client is
// disconnected and the reason logged, and the others are served meanwhile (one thread each).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace capflow::reduce {

using Message = std::vector<std::string>;

// The most a message may hold: strings, bytes per string, bytes in all.
struct MessageLimits {
  std::uint32_t max_strings = 1u << 16;
  std::uint32_t max_bytes = 256u << 20;
  std::uint64_t max_total = 1ull << 30;
};
// Before the token: "hello" and a 16-hex-digit digest fit many times over.
inline constexpr MessageLimits kHelloLimits{4, 256, 1024};

// Reads exactly `size` bytes into `data`; returns false at a clean end of stream before the
// first byte when `eof_ok`, throws CommError otherwise.
using ByteReader = std::function<bool(void* data, std::size_t size, bool eof_ok)>;

// One message from `read`: false at a clean end of stream; CommError on a malformed message
// (over `limits`: checked before anything is allocated) or a truncated one.
bool read_message(const ByteReader& read, Message& message, const MessageLimits& limits = {});

// Blocking send/receive of one message on a connected socket. Throw CommError on a closed
// connection or a malformed message; receive returns false at a clean end of stream.
void send_message(int fd, const Message& message);
bool receive_message(int fd, Message& message, const MessageLimits& limits = {});

// Empty when `hello` is a hello presenting `token_digest`; else why the client is refused.
std::string hello_refusal(const Message& hello, const std::string& token_digest);

struct ServerOptions {
  // How long a new client has to present the token before it is disconnected.
  std::chrono::milliseconds hello_timeout{10000};
  // Clients connected but not yet authenticated; more are refused at once.
  int max_pending = 512;
  // Where refusals are reported (one line each); default: standard error, "capflow: ...".
  std::function<void(const std::string&)> log;
};

class KeyValueServer {
 public:
  // Listens on host:port (a name or address; port 0 picks a free one). Throws CommError
  // naming the address when it cannot listen.
  KeyValueServer(const std::string& host, int port, std::string token_digest,
                 ServerOptions options = {});
  ~KeyValueServer();
  KeyValueServer(const KeyValueServer&) = delete;
  KeyValueServer& operator=(const KeyValueServer&) = delete;

  int port() const { return port_; }
  std::string bound_address() const { return bound_; }  // "127.0.0.1:29500"

 private:
  struct Worker {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void accept_loop();
  void admit(int fd, const std::string& peer);
  void reap_finished_workers();
  void serve(int fd, const std::string& peer);
  bool authenticate(int fd, const std::string& peer);
  void refuse(int fd, const std::string& peer, const std::string& why);
  void forget(int fd);
  Message handle(const Message& request);

  std::string token_digest_;
  ServerOptions options_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::string bound_;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::string> data_;
  std::vector<int> clients_;
  int pending_ = 0;  // clients not yet authenticated
  std::list<Worker> workers_;
};

}  // namespace capflow::reduce
