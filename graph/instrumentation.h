// Per-node accounting while a graph runs: items, skipped items, busy time, time items waited
// before the node took them, queue depth; and an optional recorder of every node call for a
// Chrome trace. Lock-free on the hot path (atomics; per-thread trace buffers).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace capflow::graph {

// Nanoseconds on the steady clock since the run started.
class RunClock {
 public:
  RunClock() : start_(std::chrono::steady_clock::now()) {}
  std::int64_t now_ns() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                                start_)
        .count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

class NodeMeter {
 public:
  // A message was sent towards this node (its queue grows).
  void enqueued() {
    const std::int64_t depth = queued_.fetch_add(1, std::memory_order_relaxed) + 1;
    std::int64_t seen = queue_max_.load(std::memory_order_relaxed);
    while (depth > seen &&
           !queue_max_.compare_exchange_weak(seen, depth, std::memory_order_relaxed)) {
    }
  }
  // The node took a message that was sent at `sent_ns`.
  void started(std::int64_t sent_ns, std::int64_t now_ns) {
    const std::int64_t depth = queued_.fetch_sub(1, std::memory_order_relaxed);
    taken_.fetch_add(1, std::memory_order_relaxed);
    queue_sum_.fetch_add(depth > 0 ? depth : 0, std::memory_order_relaxed);
    if (sent_ns >= 0 && now_ns > sent_ns)
      wait_ns_.fetch_add(now_ns - sent_ns, std::memory_order_relaxed);
  }
  // Time spent on a message that produced no output of its own (a collector gathering).
  void busy(std::int64_t busy_ns) { busy_ns_.fetch_add(busy_ns, std::memory_order_relaxed); }
  // A call that produced an item (or a skip) of `units` samples.
  void finished(std::int64_t busy_ns, bool skipped, std::uint64_t units) {
    busy_ns_.fetch_add(busy_ns, std::memory_order_relaxed);
    calls_.fetch_add(1, std::memory_order_relaxed);
    if (skipped)
      skipped_.fetch_add(1, std::memory_order_relaxed);
    else
      units_.fetch_add(units, std::memory_order_relaxed);
  }

  std::uint64_t calls() const { return calls_.load(); }
  std::uint64_t skipped() const { return skipped_.load(); }
  std::uint64_t units() const { return units_.load(); }
  double busy_seconds() const { return busy_ns_.load() * 1e-9; }
  double wait_seconds() const { return wait_ns_.load() * 1e-9; }
  std::int64_t queue_max() const { return queue_max_.load(); }
  // Mean number of messages queued when the node took one.
  double queue_mean() const {
    const auto n = taken_.load();
    return n ? static_cast<double>(queue_sum_.load()) / static_cast<double>(n) : 0.0;
  }

 private:
  std::atomic<std::uint64_t> calls_{0}, skipped_{0}, units_{0}, taken_{0};
  std::atomic<std::int64_t> busy_ns_{0}, wait_ns_{0};
  std::atomic<std::int64_t> queued_{0}, queue_max_{0}, queue_sum_{0};
};

// Records one slice per node call, per thread, when enabled. write_chrome_trace() turns the
// slices into a Chrome trace (Trace Event Format, JSON) that Perfetto and chrome://tracing open.
class TraceRecorder {
 public:
  struct Slice {
    std::int32_t node = 0;
    std::int64_t start_ns = 0;
    std::int64_t duration_ns = 0;
    std::string item;
  };
  struct ThreadTrack {
    int tid = 0;
    std::vector<Slice> slices;
  };

  explicit TraceRecorder(bool enabled);
  bool enabled() const { return enabled_; }
  void record(std::int32_t node, std::int64_t start_ns, std::int64_t duration_ns,
              const std::string& item);
  // Every thread's slices; call after the run.
  std::vector<const ThreadTrack*> tracks() const;

 private:
  ThreadTrack& track_of_this_thread();
  bool enabled_;
  std::uint64_t id_;  // distinct per recorder: keys the per-thread cache
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<ThreadTrack>> tracks_;
};

// Writes the trace: one track per thread (named "thread N"), one slice per node call named
// after the node, with the item id as an argument. Throws Error naming the file on failure.
void write_chrome_trace(const std::string& path, const TraceRecorder& recorder,
                        const std::vector<std::string>& node_names);

}  // namespace capflow::graph
