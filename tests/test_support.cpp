#include "tests/test_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace capflow::testing {

RunResult run_command(const std::string& command_line) {
  RunResult r;
  FILE* p = ::popen((command_line + " 2>&1").c_str(), "r");
  if (!p) throw std::runtime_error("popen failed: " + command_line);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string make_temp_dir(const std::string& tag) {
  const auto p = std::filesystem::temp_directory_path() /
                 ("capflow_" + tag + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string write_temp_file(const std::string& name, const std::string& content) {
  const auto p = std::filesystem::temp_directory_path() /
                 ("capflow_test_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p) << content;
  return p.string();
}

}  // namespace capflow::testing
