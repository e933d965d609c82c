// InChI validity checked in child processes (see inchi_isolated.h).
#include "nodes/chem/inchi_isolated.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "nodes/chem/inchi_openbabel.h"

namespace capflow::chem {

namespace {

// The child: one byte per text from `from` on (1 valid, 0 not), written as it goes.
[[noreturn]] void check_in_child(const std::vector<std::string>& texts, std::size_t from, int out) {
  for (std::size_t i = from; i < texts.size(); ++i) {
    char v = 0;
    try {
      v = !texts[i].empty() && check_inchi(texts[i]).valid ? 1 : 0;
    } catch (...) {
      v = 0;
    }
    if (::write(out, &v, 1) != 1) ::_exit(1);
  }
  ::_exit(0);
}

}  // namespace

IsolatedChecks check_inchis_isolated(const std::vector<std::string>& texts) {
  IsolatedChecks r;
  r.valid.assign(texts.size(), false);
  if (texts.empty()) return r;
  // Load Open Babel's plugins here, once, rather than in every child; a build without Open
  // Babel throws here, as check_inchi does.
  check_inchi("InChI=1S/CH4/h1H4");
  std::size_t next = 0;
  while (next < texts.size()) {
    int fds[2];
    if (::pipe(fds) != 0) {
      throw std::runtime_error(std::string("InChI validity: pipe failed: ") + std::strerror(errno));
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      throw std::runtime_error(std::string("InChI validity: fork failed: ") + std::strerror(errno));
    }
    if (pid == 0) {
      ::close(fds[0]);
      const int null = ::open("/dev/null", O_WRONLY);
      if (null >= 0) ::dup2(null, STDERR_FILENO);
      check_in_child(texts, next, fds[1]);
    }
    ::close(fds[1]);
    char buffer[4096];
    for (;;) {
      const ssize_t got = ::read(fds[0], buffer, sizeof buffer);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      for (ssize_t k = 0; k < got && next < texts.size(); ++k) r.valid[next++] = buffer[k] != 0;
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (next < texts.size()) {  // the child died on texts[next]: invalid, go on after it
      r.crashed.push_back(next);
      ++next;
    }
  }
  return r;
}

}  // namespace capflow::chem
