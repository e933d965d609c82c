// A c10d::Store on top of KeyValueServer: what ProcessGroupGloo uses to exchange its
// addresses, and what capflow's ranks use to compare configurations and to name a peer that
// died or hung. Rank 0 owns the server (bound to the master address); every rank, rank 0
// included, talks to it through one connection per RendezvousStore.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include "nodes/reduce/key_value_server.h"

namespace capflow::reduce {

// FNV-1a digest of the job token, as sent to the server (the token itself never travels).
std::string token_digest(const std::string& token);

class RendezvousStore : public c10d::Store {
 public:
  // Connects to host:port, retrying until `timeout` (rank 0 may start last), and presents the
  // token's digest. Throws CommError naming the address on timeout or refusal.
  RendezvousStore(const std::string& host, int port, const std::string& token,
                  std::chrono::milliseconds timeout);
  ~RendezvousStore() override;

  void set(const std::string& key, const std::vector<uint8_t>& value) override;
  std::vector<uint8_t> compareSet(const std::string& key, const std::vector<uint8_t>& expected,
                                  const std::vector<uint8_t>& desired) override;
  std::vector<uint8_t> get(const std::string& key) override;
  int64_t add(const std::string& key, int64_t value) override;
  bool deleteKey(const std::string& key) override;
  bool check(const std::vector<std::string>& keys) override;
  int64_t getNumKeys() override;
  void wait(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys,
            const std::chrono::milliseconds& timeout) override;

  // Text conveniences for capflow's own keys.
  void set_text(const std::string& key, const std::string& value);
  std::string get_text(const std::string& key);  // waits up to the store's timeout
  // The value when the key exists now, else "" (does not wait).
  std::string peek_text(const std::string& key);

 private:
  Message call(const Message& request, std::chrono::milliseconds wait_budget);
  std::string address_;
  int fd_ = -1;
  std::mutex mutex_;
};

}  // namespace capflow::reduce
