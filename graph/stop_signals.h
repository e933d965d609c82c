// Ctrl-C and SIGTERM as stop requests: while a StopSignals lives, each SIGINT or SIGTERM
// increments a counter (1: finish the work in flight and stop; 2: abandon it) and prints one
// line saying so. The previous handlers come back when it is destroyed. The outermost
// StopSignals starts the count at 0; one made inside it (a dataset made for a run) keeps it.
#pragma once

#include <atomic>
#include <csignal>

namespace capflow {

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Stop requests so far (signals, plus request() calls).
  static const std::atomic<int>& requests();
  // The last signal received (SIGINT, SIGTERM), 0 when none.
  static int last_signal();
  // A stop request from the program itself (a time limit); does not count as a signal.
  static void request();

 private:
  struct sigaction old_int_ {
  }, old_term_{};
};

}  // namespace capflow
