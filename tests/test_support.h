// Helpers for integration tests that run the real `capflow` binary.
#pragma once

#include <string>

namespace capflow::testing {

struct RunResult {
  int status = -1;     // exit status
  std::string output;  // stdout and stderr together
};

// Runs a shell command line, capturing its output.
RunResult run_command(const std::string& command_line);

// A fresh, empty folder under the temporary directory, removed by the caller.
std::string make_temp_dir(const std::string& tag);

std::string read_text(const std::string& path);

// Writes `content` to a file named after `name` and this process in the temporary directory.
std::string write_temp_file(const std::string& name, const std::string& content);

}  // namespace capflow::testing
