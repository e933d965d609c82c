// The cache of measured machine peaks (see peak_cache.h).
#include "nodes/model/peak_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

namespace capflow::model {
namespace {

namespace fs = std::filesystem;

// Who measured an entry that a run measured for want of one (shorter probes than capflow
// info --peak's).
constexpr const char* kRunProbes = "a run, 0.2 s probes";

nlohmann::json peak_entry(const MachinePeak& p, const std::string& cpu_model,
                          const std::string& by) {
  nlohmann::json probes = nlohmann::json::array();
  for (const auto& probe : p.probes)
    probes.push_back(
        {{"name", probe.name}, {"precision", probe.precision}, {"gflops", probe.gflops}});
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return {{"cpu_model", cpu_model},
          {"threads", p.threads},
          {"fp32_gflops", p.fp32_gflops},
          {"bf16_gflops", p.bf16_gflops},
          {"probes", probes},
          {"measured", stamp},
          {"by", by}};
}

nlohmann::json read_cache() {
  std::ifstream in(peak_cache_path());
  if (!in) return nlohmann::json::array();
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  return j.is_object() && j.contains("entries") && j["entries"].is_array()
             ? j["entries"]
             : nlohmann::json::array();
}

void write_cache(const nlohmann::json& entries) {
  const fs::path path = peak_cache_path();
  const fs::path temp = path.string() + ".tmp" + std::to_string(::getpid());
  std::error_code ec;
  {
    std::ofstream out(temp);
    if (!out || !(out << nlohmann::json{{"entries", entries}}.dump(2) << '\n')) return;
  }
  fs::rename(temp, path, ec);
  if (ec) fs::remove(temp, ec);
}

bool same_machine(const nlohmann::json& e, int threads, const std::string& cpu_model) {
  return e.value("threads", 0) == threads && e.value("cpu_model", std::string()) == cpu_model;
}

// An exclusive lock on the cache, held while this process looks up and, when the entry is
// missing, measures and writes it: processes that start together measure once. Without a
// lock file (no directory, read-only) they measure alone.
class CacheLock {
 public:
  CacheLock() {
    const fs::path path = peak_cache_path() + ".lock";
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~CacheLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  CacheLock(const CacheLock&) = delete;
  CacheLock& operator=(const CacheLock&) = delete;

 private:
  int fd_ = -1;
};

PeakLookup from_entry(const nlohmann::json& e) {
  MachinePeak p;
  p.threads = e.value("threads", 0);
  p.fp32_gflops = e.value("fp32_gflops", 0.0);
  p.bf16_gflops = e.value("bf16_gflops", 0.0);
  if (e.contains("probes") && e["probes"].is_array()) {
    for (const auto& probe : e["probes"])
      p.probes.push_back({probe.value("name", std::string()),
                          probe.value("precision", std::string()), probe.value("gflops", 0.0)});
  }
  // Entries written before "by" was recorded name only their date.
  const std::string by = e.value("by", std::string());
  return {p, "cached (" + (by.empty() ? "" : "measured by " + by + ", ") +
                 e.value("measured", std::string("?")) + ")"};
}

// The cached entry of `cpu_model` at `threads`, or at the fewest threads when `threads` is 0.
std::optional<PeakLookup> cached(const std::string& cpu_model, int threads) {
  std::optional<PeakLookup> best;
  for (const auto& e : read_cache()) {
    if (e.value("cpu_model", std::string()) != cpu_model) continue;
    const int t = e.value("threads", 0);
    if (t <= 0 || (threads > 0 && t != threads)) continue;
    if (!best || t < best->peak.threads) best = from_entry(e);
  }
  return best;
}

PeakLookup cached_or_measured(const std::string& cpu_model, int wanted, int threads) {
  if (auto hit = cached(cpu_model, wanted)) return *hit;
  const CacheLock lock;
  if (auto hit = cached(cpu_model, wanted)) return *hit;  // measured while this one waited
  return {measure_and_cache_peak(threads, cpu_model, 0.2, kRunProbes), "measured by this run"};
}

}  // namespace

std::string peak_cache_path() {
  if (const char* file = std::getenv("CAPFLOW_PEAK_FILE"); file && *file) return file;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/capflow/peak.json";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.cache/capflow/peak.json";
}

MachinePeak measure_and_cache_peak(int threads, const std::string& cpu_model,
                                   double seconds_per_probe, const std::string& by) {
  const MachinePeak peak = measure_peak(threads, seconds_per_probe);
  std::error_code ec;
  fs::create_directories(fs::path(peak_cache_path()).parent_path(), ec);
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& e : read_cache())
    if (!same_machine(e, peak.threads, cpu_model)) entries.push_back(e);
  entries.push_back(peak_entry(peak, cpu_model, by));
  write_cache(entries);
  return peak;
}

PeakLookup peak_for(int threads, const std::string& cpu_model) {
  return cached_or_measured(cpu_model, threads, threads);
}

PeakLookup any_peak_for(const std::string& cpu_model, int threads) {
  return cached_or_measured(cpu_model, 0, threads);
}

}  // namespace capflow::model
