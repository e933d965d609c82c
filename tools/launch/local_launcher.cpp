// N local ranks of one job (see local_launcher.h).
#include "tools/launch/local_launcher.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "graph/errors.h"

namespace capflow::launch {

namespace {

namespace fs = std::filesystem;

std::vector<int> parse_cpu_list(const std::string& text) {  // "0-3,8,10-11"
  std::vector<int> cpus;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t end = text.find(',', i);
    if (end == std::string::npos) end = text.size();
    const std::string part = text.substr(i, end - i);
    const std::size_t dash = part.find('-');
    if (!part.empty() && part.find_first_not_of("0123456789-\n ") == std::string::npos) {
      const int a = std::atoi(part.c_str());
      const int b = dash == std::string::npos ? a : std::atoi(part.c_str() + dash + 1);
      for (int c = a; c <= b; ++c) cpus.push_back(c);
    }
    i = end + 1;
  }
  return cpus;
}

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

std::vector<std::vector<int>> numa_nodes() {
  std::vector<std::vector<int>> nodes;
  for (int n = 0;; ++n) {
    std::ifstream in("/sys/devices/system/node/node" + std::to_string(n) + "/cpulist");
    if (!in) break;
    std::string line;
    std::getline(in, line);
    nodes.push_back(parse_cpu_list(line));
  }
  return nodes;
}

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 29500;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) ::close(fd);
  return port;
}

std::string run_stamp() {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return std::string(stamp) + "-" + std::to_string(::getpid());
}

std::atomic<int> g_forward_signal{0};
void on_signal(int sig) { g_forward_signal = sig; }

struct Rank {
  pid_t pid = -1;
  int out_fd = -1;
  bool running = false;
  int status = 0;
};

// "[rank R] " before every line a rank writes.
void pump_output(int fd, int rank, std::mutex& out_mutex, bool prefix) {
  std::string pending;
  char buf[4096];
  const std::string tag = "[rank " + std::to_string(rank) + "] ";
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      std::lock_guard<std::mutex> lock(out_mutex);
      std::fprintf(stdout, "%s%s\n", prefix ? tag.c_str() : "", pending.substr(0, nl).c_str());
      std::fflush(stdout);
      pending.erase(0, nl + 1);
    }
  }
  if (!pending.empty()) {
    std::lock_guard<std::mutex> lock(out_mutex);
    std::fprintf(stdout, "%s%s\n", prefix ? tag.c_str() : "", pending.c_str());
  }
  ::close(fd);
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

std::string describe(int status) {
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "exit status " + std::to_string(exit_code(status));
}

}  // namespace

std::vector<std::vector<int>> plan_cpu_shares(int ranks, const std::vector<int>& allowed,
                                              const std::vector<std::vector<int>>& numa) {
  if (ranks < 1) throw ConfigError("launch: -n must be at least 1");
  if (static_cast<int>(numa.size()) == ranks && ranks > 1) {
    bool all_allowed = true;
    for (const auto& node : numa)
      for (int c : node)
        if (std::find(allowed.begin(), allowed.end(), c) == allowed.end()) all_allowed = false;
    if (all_allowed) return numa;
  }
  if (static_cast<int>(allowed.size()) < ranks)
    throw ConfigError("launch: " + std::to_string(ranks) + " ranks but only " +
                      std::to_string(allowed.size()) +
                      " CPUs to pin them to (use --no-pin to share CPUs)");
  std::vector<std::vector<int>> shares(static_cast<std::size_t>(ranks));
  const std::size_t per = allowed.size() / static_cast<std::size_t>(ranks);
  for (std::size_t r = 0; r < shares.size(); ++r)
    shares[r].assign(allowed.begin() + static_cast<std::ptrdiff_t>(r * per),
                     allowed.begin() + static_cast<std::ptrdiff_t>((r + 1) * per));
  return shares;
}

namespace {

// What a rank gets in its environment besides the launcher's: the torchrun variables.
struct RankSetup {
  int port = 0;
  std::string run_id;
  std::vector<std::vector<int>> shares;  // cores per rank; empty: not pinned
};

// In the forked child: environment, pinning, signals, process group; then the command.
[[noreturn]] void exec_rank(const LaunchOptions& o, const RankSetup& setup, int r, int out_fd) {
  ::dup2(out_fd, STDOUT_FILENO);
  ::dup2(out_fd, STDERR_FILENO);
  ::setenv("RANK", std::to_string(r).c_str(), 1);
  ::setenv("WORLD_SIZE", std::to_string(o.ranks).c_str(), 1);
  ::setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
  ::setenv("LOCAL_WORLD_SIZE", std::to_string(o.ranks).c_str(), 1);
  ::setenv("MASTER_ADDR", "127.0.0.1", 1);
  ::setenv("MASTER_PORT", std::to_string(setup.port).c_str(), 1);
  ::setenv("CAPFLOW_RUN_ID", setup.run_id.c_str(), 1);
  if (!setup.shares.empty()) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int c : setup.shares[static_cast<std::size_t>(r)]) CPU_SET(c, &set);
    ::sched_setaffinity(0, sizeof set, &set);
  }
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  // Its own process group: a Ctrl-C at the terminal reaches the launcher only, which passes
  // it on once; and the rank ends when the launcher dies.
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  std::vector<char*> argv;
  for (const auto& a : o.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execvp(argv[0], argv.data());
  std::fprintf(stderr, "capflow launch: cannot run '%s': %s\n", argv[0], std::strerror(errno));
  ::_exit(127);
}

void signal_running(const std::vector<Rank>& ranks, int sig) {
  for (const Rank& k : ranks)
    if (k.running) ::kill(-k.pid, sig);
}

// Waits for every rank; after the first failure the others get `grace_seconds` to stop by
// themselves, then SIGTERM, then (10 s later) SIGKILL. Returns the first failed rank or -1.
int wait_for_ranks(const LaunchOptions& o, std::vector<Rank>& ranks, std::mutex& out_mutex) {
  int first_failed = -1;
  int running = o.ranks;
  std::chrono::steady_clock::time_point failed_at;
  bool terminated = false, killed = false;
  while (running > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (int r = 0; r < o.ranks; ++r) {
        Rank& k = ranks[static_cast<std::size_t>(r)];
        if (k.pid != pid || !k.running) continue;
        k.running = false;
        k.status = status;
        --running;
        if (exit_code(status) != 0 && first_failed < 0 && !terminated) {
          first_failed = r;
          failed_at = std::chrono::steady_clock::now();
          std::lock_guard<std::mutex> lock(out_mutex);
          std::fprintf(stderr,
                       "capflow launch: rank %d ended with %s; the others have %.0f s to stop\n", r,
                       describe(status).c_str(), o.grace_seconds);
        }
      }
      continue;
    }
    if (const int sig = g_forward_signal.exchange(0); sig != 0) signal_running(ranks, sig);
    if (first_failed >= 0) {
      const double waited =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - failed_at).count();
      if (!terminated && waited > o.grace_seconds) {
        terminated = true;
        signal_running(ranks, SIGTERM);
      } else if (terminated && !killed && waited > o.grace_seconds + 10) {
        killed = true;
        signal_running(ranks, SIGKILL);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return first_failed;
}

// The job's exit code: the first failed rank's, else the first nonzero one; each failure named.
int job_exit_code(const std::vector<Rank>& ranks, int first_failed) {
  for (std::size_t r = 0; r < ranks.size(); ++r)
    if (exit_code(ranks[r].status) != 0)
      std::fprintf(stderr, "capflow launch: rank %zu: %s\n", r, describe(ranks[r].status).c_str());
  if (first_failed >= 0) return exit_code(ranks[static_cast<std::size_t>(first_failed)].status);
  for (const Rank& k : ranks)
    if (exit_code(k.status) != 0) return exit_code(k.status);
  return 0;
}

}  // namespace

int run_local_job(const LaunchOptions& o) {
  if (o.command.empty())
    throw ConfigError("launch: no command given (capflow launch -n N -- COMMAND …)");
  RankSetup setup;
  setup.shares = o.pin ? plan_cpu_shares(o.ranks, allowed_cpus(), numa_nodes())
                       : std::vector<std::vector<int>>();
  setup.port = o.master_port > 0 ? o.master_port : free_loopback_port();
  setup.run_id = run_stamp();
  std::fprintf(stderr, "capflow launch: %d ranks, rendezvous on 127.0.0.1:%d%s\n", o.ranks,
               setup.port, o.pin ? ", each pinned to its share of the cores" : "");

  struct sigaction sa {
  }, old_int{}, old_term{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);

  std::vector<Rank> ranks(static_cast<std::size_t>(o.ranks));
  std::mutex out_mutex;
  std::vector<std::thread> pumps;
  for (int r = 0; r < o.ranks; ++r) {
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) throw Error("launch: cannot make a pipe");
    const pid_t pid = ::fork();
    if (pid < 0) throw Error("launch: cannot start rank " + std::to_string(r));
    if (pid == 0) exec_rank(o, setup, r, pipefd[1]);
    ::close(pipefd[1]);
    ranks[static_cast<std::size_t>(r)].pid = pid;
    ranks[static_cast<std::size_t>(r)].running = true;
    pumps.emplace_back(pump_output, pipefd[0], r, std::ref(out_mutex), o.prefix_output);
  }
  const int first_failed = wait_for_ranks(o, ranks, out_mutex);
  for (auto& t : pumps) t.join();
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  return job_exit_code(ranks, first_failed);
}

}  // namespace capflow::launch
