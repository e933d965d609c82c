// InChI validity and SMILES conversion checked in child processes (see inchi_isolated.h).
#include "nodes/chem/inchi_isolated.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <stdexcept>

#include "nodes/chem/inchi_openbabel.h"
#include "nodes/text/smiles_tokenizer.h"

namespace capflow::chem {

namespace {

using Answer = std::function<std::string(std::size_t)>;

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// The child: for each index from `from` on, a 4-byte length then the answer, written as it goes.
[[noreturn]] void answer_in_child(std::size_t count, std::size_t from, const Answer& answer,
                                  int out) {
  for (std::size_t i = from; i < count; ++i) {
    std::string a;
    try {
      a = answer(i);
    } catch (...) {
      a.clear();
    }
    const auto size = static_cast<std::uint32_t>(a.size());
    if (!write_all(out, reinterpret_cast<const char*>(&size), sizeof size) ||
        !write_all(out, a.data(), a.size()))
      ::_exit(1);
  }
  ::_exit(0);
}

// Reads the answers a child writes, from answers[next] on, until its end of the pipe.
void read_answers(int fd, std::vector<std::optional<std::string>>& answers, std::size_t& next) {
  std::string pending;
  char buffer[4096];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    pending.append(buffer, static_cast<std::size_t>(got));
    std::uint32_t size = 0;
    while (pending.size() >= sizeof size && next < answers.size()) {
      std::memcpy(&size, pending.data(), sizeof size);
      if (pending.size() < sizeof size + size) break;
      answers[next++] = pending.substr(sizeof size, size);
      pending.erase(0, sizeof size + size);
    }
  }
}

pid_t start_child(std::size_t count, std::size_t from, const Answer& answer, int fds[2]) {
  if (::pipe(fds) != 0)
    throw std::runtime_error(std::string("Open Babel check: pipe failed: ") + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error(std::string("Open Babel check: fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::close(fds[0]);
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, STDERR_FILENO);
    answer_in_child(count, from, answer, fds[1]);
  }
  ::close(fds[1]);
  return pid;
}

// answer(i) for every i < count, in forked children: one, plus one more after each crash. An
// index whose child died has no answer and is listed in `crashed`.
std::vector<std::optional<std::string>> answer_isolated(std::size_t count, const Answer& answer,
                                                        std::vector<std::size_t>& crashed) {
  std::vector<std::optional<std::string>> answers(count);
  std::size_t next = 0;
  while (next < count) {
    int fds[2];
    const pid_t pid = start_child(count, next, answer, fds);
    read_answers(fds[0], answers, next);
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (next < count) {  // the child died on index `next`: no answer, go on after it
      crashed.push_back(next);
      ++next;
    }
  }
  return answers;
}

}  // namespace

IsolatedChecks check_inchis_isolated(const std::vector<std::string>& texts) {
  IsolatedChecks r;
  r.valid.assign(texts.size(), false);
  if (texts.empty()) return r;
  // Load Open Babel's plugins here, once, rather than in every child; a build without Open
  // Babel throws here, as check_inchi does.
  check_inchi("InChI=1S/CH4/h1H4");
  const auto answers = answer_isolated(
      texts.size(),
      [&](std::size_t i) {
        return std::string(!texts[i].empty() && check_inchi(texts[i]).valid ? "1" : "0");
      },
      r.crashed);
  for (std::size_t i = 0; i < texts.size(); ++i) r.valid[i] = answers[i] && *answers[i] == "1";
  return r;
}

std::vector<SmilesInchi> inchis_from_smiles_isolated(const std::vector<std::string>& smiles,
                                                     std::vector<std::size_t>* crashed) {
  std::vector<SmilesInchi> out(smiles.size());
  if (smiles.empty()) return out;
  inchi_from_smiles("C");  // plugins loaded once, here; throws in a build without Open Babel
  std::vector<std::size_t> died;
  const auto answers = answer_isolated(
      smiles.size(),
      [&](std::size_t i) -> std::string {
        if (auto inchi = inchi_from_smiles(smiles[i])) return "=" + *inchi;
        if (auto inchi = inchi_from_smiles(text::repair_smiles(smiles[i]))) return "~" + *inchi;
        return "";
      },
      died);
  for (std::size_t i = 0; i < smiles.size(); ++i) {
    if (!answers[i] || answers[i]->empty()) continue;
    out[i].as_written = (*answers[i])[0] == '=';
    out[i].inchi = answers[i]->substr(1);
  }
  if (crashed) *crashed = std::move(died);
  return out;
}

}  // namespace capflow::chem
