// Node counters and the per-thread trace recorder.
#include "graph/instrumentation.h"

#include "graph/node.h"

namespace capflow::graph {

void NodeCounters::add(const std::string& name, std::uint64_t n) {
  std::lock_guard<std::mutex> lock(mutex_);
  counts_[name] += n;
}

std::map<std::string, std::uint64_t> NodeCounters::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counts_;
}

namespace {
std::atomic<std::uint64_t> next_recorder_id{1};

struct ThreadCache {
  std::uint64_t recorder_id = 0;
  TraceRecorder::ThreadTrack* track = nullptr;
};
thread_local ThreadCache thread_cache;
}  // namespace

TraceRecorder::TraceRecorder(bool enabled) : enabled_(enabled), id_(next_recorder_id++) {}

TraceRecorder::ThreadTrack& TraceRecorder::track_of_this_thread() {
  // Recorders get distinct ids, so a cache left by an earlier recorder is never reused.
  if (thread_cache.recorder_id != id_) {
    std::lock_guard<std::mutex> lock(mutex_);
    tracks_.push_back(std::make_unique<ThreadTrack>());
    tracks_.back()->tid = static_cast<int>(tracks_.size());
    thread_cache.recorder_id = id_;
    thread_cache.track = tracks_.back().get();
  }
  return *thread_cache.track;
}

void TraceRecorder::record(std::int32_t node, std::int64_t start_ns, std::int64_t duration_ns,
                           const std::string& item) {
  if (!enabled_) return;
  track_of_this_thread().slices.push_back(Slice{node, start_ns, duration_ns, item});
}

std::vector<const TraceRecorder::ThreadTrack*> TraceRecorder::tracks() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<const ThreadTrack*> out;
  for (const auto& t : tracks_) out.push_back(t.get());
  return out;
}

}  // namespace capflow::graph
