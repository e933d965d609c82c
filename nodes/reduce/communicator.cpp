// A rank's link to the others (see communicator.h).
#include "nodes/reduce/communicator.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

// ProcessGroupGloo.hpp declares its class only with this set (Debian's LibTorch is built with it).
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include "graph/errors.h"
#include "nodes/reduce/digest.h"
#include "nodes/reduce/key_value_server.h"
#include "nodes/reduce/rendezvous_store.h"

namespace capflow::reduce {

namespace {

// The address of this host on the route to `host` (no packet is sent: UDP connect only).
std::string local_address_towards(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 ||
      found == nullptr)
    throw CommError("cannot resolve MASTER_ADDR '" + host + "'");
  std::string out;
  const int fd = ::socket(found->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && ::connect(fd, found->ai_addr, found->ai_addrlen) == 0) {
    sockaddr_storage me{};
    socklen_t len = sizeof me;
    char text[INET6_ADDRSTRLEN] = "";
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&me), &len) == 0) {
      if (me.ss_family == AF_INET)
        ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&me)->sin_addr, text, sizeof text);
      else
        ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&me)->sin6_addr, text, sizeof text);
      out = text;
    }
  }
  if (fd >= 0) ::close(fd);
  ::freeaddrinfo(found);
  if (out.empty()) throw CommError("no route from this host to MASTER_ADDR '" + host + "'");
  return out;
}

std::string first_line(const std::string& s) {
  const std::size_t nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

std::string key(const char* prefix, int rank) { return std::string(prefix) + std::to_string(rank); }

}  // namespace

std::string tensors_digest(const std::vector<torch::Tensor>& tensors) {
  Digest d;
  for (const auto& t : tensors) {
    const torch::Tensor c = t.detach().contiguous().cpu();
    d.add(c.data_ptr(), static_cast<std::size_t>(c.numel()) * c.element_size());
  }
  return d.hex();
}

Communicator::Communicator(const CommOptions& o) : env_(o.env), timeout_(o.timeout) {
  const bool loopback = is_loopback_host(env_.master_addr);
  if (!loopback && o.token.empty())
    throw ConfigError(
        "MASTER_ADDR=" + env_.master_addr +
        " is not loopback: every rank must present the same job token (set CAPFLOW_JOB_TOKEN, "
        "or the allreduce node's `token`); the channel is unencrypted, use private networks only");
  if (env_.rank == 0)
    server_ =
        std::make_unique<KeyValueServer>(env_.master_addr, env_.master_port, token_digest(o.token));
  store_ =
      c10::make_intrusive<RendezvousStore>(env_.master_addr, env_.master_port, o.token, timeout_);
  beat_store_ =
      c10::make_intrusive<RendezvousStore>(env_.master_addr, env_.master_port, o.token, timeout_);

  auto options = c10d::ProcessGroupGloo::Options::create(timeout_);
  const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
  try {
    if (ifname != nullptr && *ifname != '\0')
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(
          loopback ? std::string("127.0.0.1")
                   : local_address_towards(env_.master_addr, env_.master_port)));
  } catch (const CommError&) {
    throw;
  } catch (const std::exception& e) {
    throw CommError("rank " + std::to_string(env_.rank) +
                    ": cannot open Gloo's TCP device: " + first_line(e.what()));
  }
  options->threads = std::max(1, o.gloo_threads);
  auto gloo_store = c10::make_intrusive<c10d::PrefixStore>("gloo", store_);
  store_->set_text(key("arrived/", env_.rank), "1");
  try {
    group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(gloo_store, env_.rank, env_.world_size,
                                                         options);
  } catch (const std::exception& e) {
    std::string missing;
    try {
      for (int r = 0; r < env_.world_size; ++r)
        if (store_->peek_text(key("arrived/", r)).empty())
          missing += (missing.empty() ? "" : ", ") + std::to_string(r);
    } catch (const std::exception&) {
      missing = "unknown (rank 0's store does not answer)";
    }
    throw CommError("rank " + std::to_string(env_.rank) + " of " + std::to_string(env_.world_size) +
                    ": connecting to the other ranks failed" +
                    (missing.empty() ? std::string() : "; rank(s) that never arrived: " + missing) +
                    " (Gloo: " + first_line(e.what()) + ")");
  }
  // Started once the object can no longer fail to construct (a running thread must be joined).
  heartbeat_ = std::thread([this] { heartbeat_loop(); });
}

Communicator::~Communicator() {
  stopping_ = true;
  if (heartbeat_.joinable()) heartbeat_.join();
  if (!finished_) {
    try {
      store_->set_text(key("exit/", env_.rank), "failed");
    } catch (const std::exception&) {
    }
  }
  group_.reset();
}

void Communicator::finished() {
  finished_ = true;
  try {
    store_->set_text(key("exit/", env_.rank), "finished");
  } catch (const std::exception&) {
  }
}

void Communicator::heartbeat_loop() {
  std::uint64_t beat = 0;
  while (!stopping_) {
    try {
      beat_store_->set_text(key("beat/", env_.rank),
                            std::to_string(++beat) + " " + std::to_string(step_.load()));
    } catch (const std::exception&) {
      // The store is gone (rank 0 ended): the collectives will say so.
    }
    for (int i = 0; i < 5 && !stopping_; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void Communicator::require_same(const std::string& what, const std::string& value) {
  const std::string k = "same/" + what + "/";
  std::vector<std::string> values(static_cast<std::size_t>(env_.world_size));
  try {
    store_->set_text(k + std::to_string(env_.rank), value);
    for (int r = 0; r < env_.world_size; ++r)
      values[static_cast<std::size_t>(r)] = store_->get_text(k + std::to_string(r));
  } catch (const CommError& e) {
    fail("comparing the " + what, e.what());
  }
  std::string differ;
  std::size_t example = 0;
  for (std::size_t r = 1; r < values.size(); ++r)
    if (values[r] != values[0]) {
      differ += (differ.empty() ? "" : ", ") + std::to_string(r);
      if (example == 0) example = r;
    }
  if (!differ.empty())
    throw ConfigError("rank " + std::to_string(env_.rank) + ": the " + what + " of rank(s) " +
                      differ + " differs from rank 0's (" + values[example].substr(0, 16) + " vs " +
                      values[0].substr(0, 16) +
                      "): start every rank with the same pipeline, --set options and data");
}

void Communicator::broadcast(std::vector<torch::Tensor>& tensors) {
  for (auto& t : tensors) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> one{t.is_contiguous() ? t.detach() : t.detach().contiguous()};
    wait(group_->broadcast(one), "broadcasting the weights from rank 0");
    if (!t.is_contiguous()) t.detach().copy_(one[0]);
  }
}

c10::intrusive_ptr<c10d::Work> Communicator::allreduce_async(std::vector<torch::Tensor>& tensors) {
  try {
    return group_->allreduce(tensors);
  } catch (const std::exception& e) {
    fail("starting an allreduce", e.what());
  }
}

void Communicator::wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& what) {
  try {
    work->wait(timeout_);
  } catch (const std::exception& e) {
    fail(what, e.what());
  }
}

std::vector<double> Communicator::sum(const std::vector<double>& values, const std::string& what) {
  std::vector<torch::Tensor> t{torch::tensor(values, torch::kFloat64)};
  wait(allreduce_async(t), what);
  const double* p = t[0].data_ptr<double>();
  return std::vector<double>(p, p + values.size());
}

std::string Communicator::diagnose() {
  std::ostringstream out;
  try {
    std::vector<std::string> first(static_cast<std::size_t>(env_.world_size)), second(first.size());
    for (int r = 0; r < env_.world_size; ++r)
      first[static_cast<std::size_t>(r)] = store_->peek_text(key("beat/", r));
    std::this_thread::sleep_for(std::chrono::milliseconds(2000));  // four heartbeats
    std::string silent, failed;
    std::uint64_t lowest = ~0ULL;
    for (int r = 0; r < env_.world_size; ++r) {
      if (r == env_.rank) continue;
      const std::string exit = store_->peek_text(key("exit/", r));
      second[static_cast<std::size_t>(r)] = store_->peek_text(key("beat/", r));
      const std::string& beat = second[static_cast<std::size_t>(r)];
      const std::uint64_t step =
          beat.find(' ') == std::string::npos ? 0 : std::stoull(beat.substr(beat.find(' ') + 1));
      if (exit == "failed")
        failed += (failed.empty() ? "" : ", ") + std::to_string(r);
      else if (beat == first[static_cast<std::size_t>(r)])
        silent +=
            (silent.empty() ? "" : "; ") +
            ("rank " + std::to_string(r) + " (last seen at step " + std::to_string(step) + ")");
      lowest = std::min(lowest, step);
    }
    if (!failed.empty()) out << "rank(s) " << failed << " stopped with an error (see their output)";
    if (!silent.empty())
      out << (failed.empty() ? "" : "; ") << "no heartbeat from " << silent << ": dead or hung";
    if (failed.empty() && silent.empty())
      out << "every rank still answers (lowest step " << (lowest == ~0ULL ? 0 : lowest)
          << "); the network between ranks may have failed";
  } catch (const std::exception&) {
    out << "rank 0 is gone: its rendezvous store at " << env_.master_addr << ":" << env_.master_port
        << " does not answer";
  }
  return out.str();
}

void Communicator::fail(const std::string& what, const std::string& cause) {
  const std::string why = diagnose();
  throw CommError("rank " + std::to_string(env_.rank) + " of " + std::to_string(env_.world_size) +
                  ": " + what + " failed at step " + std::to_string(step_.load()) + ": " + why +
                  " (Gloo: " + first_line(cause) + ")");
}

}  // namespace capflow::reduce
