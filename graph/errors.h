// Typed errors shared by the engine, the nodes and the tools. Each carries the context a
// user needs (file:line, node, sample id, rank) in its message, and maps to an exit status:
// 2 for bad usage or configuration, 1 for a failure while running.
#pragma once

#include <stdexcept>
#include <string>

namespace capflow {

enum ExitStatus : int { kExitOk = 0, kExitFailure = 1, kExitUsage = 2 };

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  virtual int exit_status() const { return kExitFailure; }
};

// Bad usage or configuration: a missing input file, a bad option, an invalid YAML key.
class ConfigError : public Error {
 public:
  using Error::Error;
  int exit_status() const override { return kExitUsage; }
};

// Bad data met while running: a corrupt image, a malformed label line.
class DataError : public Error {
 public:
  using Error::Error;
};

// A peer or transport failure in distributed runs.
class CommError : public Error {
 public:
  using Error::Error;
};

}  // namespace capflow
