// SIGINT/SIGTERM handlers counting stop requests; only async-signal-safe calls in the handler.
#include "graph/stop_signals.h"

#include <unistd.h>

#include <cstring>

namespace capflow {

namespace {
std::atomic<int> g_requests{0};
std::atomic<int> g_last_signal{0};
int g_installed = 0;  // StopSignals alive (made and destroyed on one thread)

void say(const char* text) {
  const ssize_t n = ::write(STDERR_FILENO, text, std::strlen(text));
  (void)n;
}

extern "C" void on_stop_signal(int signal_number) {
  g_last_signal = signal_number;
  const int count = ++g_requests;
  if (count == 1)
    say("\ncapflow: stopping: finishing the work in flight (press Ctrl-C again to abandon it)\n");
  else if (count == 2)
    say("\ncapflow: abandoning the work in flight\n");
}
}  // namespace

StopSignals::StopSignals() {
  if (g_installed++ == 0) {  // an inner one (a dataset made for a run) keeps the requests
    g_requests = 0;
    g_last_signal = 0;
  }
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGTERM, &sa, &old_term_);
}

StopSignals::~StopSignals() {
  --g_installed;
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
}

const std::atomic<int>& StopSignals::requests() { return g_requests; }
int StopSignals::last_signal() { return g_last_signal.load(); }
void StopSignals::request() {
  int expected = 0;
  g_requests.compare_exchange_strong(expected, 1);
}

}  // namespace capflow
