// Run folder files, written so a crash never leaves a half-written config or summary.
#include "tools/cli/run_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace capflow::cli {

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".partial";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot write '" + tmp + "': " + std::strerror(errno));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      ::close(fd);
      throw Error("cannot write '" + tmp + "': " + why);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    throw Error("cannot write '" + tmp + "': " + std::strerror(errno));
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw Error("cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(errno));
}

RunFiles::RunFiles(std::string dir, bool append_metrics) : dir_(std::move(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(dir_) / "checkpoints", ec);
  if (ec) throw ConfigError("cannot create run folder '" + dir_ + "': " + ec.message());
  metrics_.open(dir_ + "/metrics.jsonl", append_metrics ? std::ios::app : std::ios::trunc);
  if (!metrics_) throw ConfigError("cannot write '" + dir_ + "/metrics.jsonl'");
}

void RunFiles::write_config(const std::string& yaml) const {
  write_file_atomically(dir_ + "/config.yaml", yaml);
}

void RunFiles::append_metrics(const nlohmann::json& line) {
  std::lock_guard<std::mutex> lock(metrics_mutex_);
  metrics_ << line.dump() << '\n';
  metrics_.flush();
}

void RunFiles::write_summary(const nlohmann::json& summary) const {
  write_file_atomically(dir_ + "/summary.json", summary.dump(2) + "\n");
}

}  // namespace capflow::cli
