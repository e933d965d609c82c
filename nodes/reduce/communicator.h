// One rank's link to the others: rendezvous (RendezvousStore, rank 0 serving it on the
// master address), c10d's ProcessGroupGloo for the collectives, a heartbeat, and the checks
// and diagnostics a distributed run needs (same configuration, same weights, which rank
// died or hung). Every wait is bounded by `timeout`.
#pragma once

#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <torch/csrc/distributed/c10d/Work.hpp>
#include <vector>

#include "nodes/reduce/rank_env.h"

namespace c10d {
class ProcessGroupGloo;
}  // namespace c10d

namespace capflow::reduce {

class KeyValueServer;
class RendezvousStore;

struct CommOptions {
  RankEnv env;
  std::chrono::milliseconds timeout{60000};
  // Required (the same on every rank) when the master address is not loopback.
  std::string token;
  int gloo_threads = 2;
};

class Communicator {
 public:
  // Rendezvous with every rank (rank 0 starts the store) and connects Gloo's full mesh.
  // Throws ConfigError for a missing token beyond loopback, CommError for a refused token,
  // an unreachable master or ranks that do not arrive within the timeout.
  explicit Communicator(const CommOptions& options);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }
  const RankEnv& env() const { return env_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

  // Every rank presents `value` for `what`; throws ConfigError on every rank, naming the ranks
  // whose value differs from rank 0's.
  void require_same(const std::string& what, const std::string& value);

  // Rank 0's tensors overwrite every other rank's (in place).
  void broadcast(std::vector<torch::Tensor>& tensors);
  // Starts an in-place sum across ranks of each tensor (contiguous, CPU).
  c10::intrusive_ptr<c10d::Work> allreduce_async(std::vector<torch::Tensor>& tensors);
  // Waits for it; a failure or the timeout throws CommError naming the rank(s) at fault.
  void wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& what);
  // Sum across ranks of a few numbers (blocking).
  std::vector<double> sum(const std::vector<double>& values, const std::string& what);

  // The training step this rank has reached (named in failure reports).
  void set_step(std::uint64_t step) { step_ = step; }
  // Marks a clean end, so peers do not report this rank as dead once it exits.
  void finished();

  // Throws CommError: "rank R: <what> failed at step S: <which rank is at fault, and why>".
  [[noreturn]] void fail(const std::string& what, const std::string& cause);

 private:
  void heartbeat_loop();
  std::string diagnose();

  RankEnv env_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<KeyValueServer> server_;          // rank 0 only
  c10::intrusive_ptr<RendezvousStore> store_;       // capflow's keys
  c10::intrusive_ptr<RendezvousStore> beat_store_;  // the heartbeat's own connection
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
  std::atomic<std::uint64_t> step_{0};
  std::atomic<bool> stopping_{false};
  bool finished_ = false;
  std::thread heartbeat_;
};

// A digest of a tensor list's bytes (equal weights on every rank give equal digests).
std::string tensors_digest(const std::vector<torch::Tensor>& tensors);

}  // namespace capflow::reduce
