// The files of a run folder: config.yaml (the resolved configuration), metrics.jsonl (one JSON
// object per progress tick, flushed as written) and summary.json (written once, atomically).
#pragma once

#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "graph/errors.h"

namespace capflow::cli {

// Exit status 130/143 after a clean stop on SIGINT/SIGTERM, the shell's convention.
class Interrupted : public Error {
 public:
  explicit Interrupted(int signal_number) : Interrupted(signal_number, "finished work kept") {}
  Interrupted(int signal_number, const std::string& what)
      : Error("stopped by signal " + std::to_string(signal_number) + "; " + what),
        status_(128 + signal_number) {}
  int exit_status() const override { return status_; }

 private:
  int status_;
};

class RunFiles {
 public:
  // Creates the folder (and checkpoints/ inside it); ConfigError naming it on failure.
  // append_metrics: continue metrics.jsonl (a resumed run) instead of starting it anew.
  explicit RunFiles(std::string dir, bool append_metrics = false);
  const std::string& dir() const { return dir_; }

  void write_config(const std::string& yaml) const;
  void append_metrics(const nlohmann::json& line);
  void write_summary(const nlohmann::json& summary) const;

 private:
  std::string dir_;
  std::mutex metrics_mutex_;
  std::ofstream metrics_;
};

// Writes `text` to `path` atomically: a temporary file beside it, fsync, rename.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace capflow::cli
