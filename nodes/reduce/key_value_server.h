// The rendezvous key-value server rank 0 runs for a distributed job: a small TCP service
// bound to exactly the master address (so a loopback master stays on loopback), that refuses
// clients not presenting the job's token digest. Plain C++ and POSIX sockets; the c10d::Store
// client that talks to it is in rendezvous_store.h.
//
// Wire format: every message is a list of byte strings, sent as u32 count, then per string
// u32 length + bytes (little endian). A request's first string names the operation; a reply
// starts with "ok", "timeout" or "error" (then the message).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace capflow::reduce {

using Message = std::vector<std::string>;

// Blocking send/receive of one message on a connected socket. Throw CommError on a closed
// connection or a malformed message; receive returns false at a clean end of stream.
void send_message(int fd, const Message& message);
bool receive_message(int fd, Message& message);

class KeyValueServer {
 public:
  // Listens on host:port (a name or address; port 0 picks a free one). Throws CommError
  // naming the address when it cannot listen.
  KeyValueServer(const std::string& host, int port, std::string token_digest);
  ~KeyValueServer();
  KeyValueServer(const KeyValueServer&) = delete;
  KeyValueServer& operator=(const KeyValueServer&) = delete;

  int port() const { return port_; }
  std::string bound_address() const { return bound_; }  // "127.0.0.1:29500"

 private:
  void accept_loop();
  void serve(int fd);
  Message handle(const Message& request, bool& authenticated);

  std::string token_digest_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::string bound_;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::string> data_;
  std::vector<int> clients_;
  std::vector<std::thread> workers_;
};

}  // namespace capflow::reduce
