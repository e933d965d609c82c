// Rank, world size and rendezvous address from launcher variables (see rank_env.h).
#include "nodes/reduce/rank_env.h"

#include <cstdlib>

#include "graph/errors.h"

namespace capflow::reduce {

namespace {

class Vars {
 public:
  explicit Vars(const EnvLookup& lookup) : lookup_(lookup) {}

  bool has(const char* name) const {
    const char* v = lookup_(name);
    return v != nullptr && *v != '\0';
  }
  std::string text(const char* name) const { return has(name) ? lookup_(name) : ""; }
  int number(const char* name, int fallback, int min, int max) const {
    if (!has(name)) return fallback;
    const std::string v = lookup_(name);
    char* end = nullptr;
    const long n = std::strtol(v.c_str(), &end, 10);
    if (end == v.c_str() || *end != '\0' || n < min || n > max)
      throw ConfigError(std::string("environment variable ") + name + "='" + v +
                        "' is not a whole number in [" + std::to_string(min) + ", " +
                        std::to_string(max) + "]");
    return static_cast<int>(n);
  }

 private:
  const EnvLookup& lookup_;
};

constexpr int kMaxRanks = 1 << 20;

}  // namespace

std::string first_slurm_host(const std::string& nodelist) {
  const std::size_t comma = nodelist.find(',');
  const std::size_t bracket = nodelist.find('[');
  if (bracket == std::string::npos || (comma != std::string::npos && comma < bracket))
    return nodelist.substr(0, comma);
  const std::string prefix = nodelist.substr(0, bracket);
  const std::size_t end = nodelist.find_first_of(",-]", bracket + 1);
  if (end == std::string::npos)
    throw ConfigError("SLURM_JOB_NODELIST='" + nodelist + "' is not a Slurm node list");
  return prefix + nodelist.substr(bracket + 1, end - bracket - 1);
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

RankEnv read_rank_env(const EnvLookup& lookup) {
  const Vars v(lookup);
  RankEnv e;
  const char* rank_var = "RANK";
  const char* size_var = "WORLD_SIZE";
  if (v.has("RANK") || v.has("WORLD_SIZE")) {
    e.launcher = "torchrun";
    e.world_size = v.number("WORLD_SIZE", 1, 1, kMaxRanks);
    e.rank = v.number("RANK", 0, 0, kMaxRanks);
    e.local_rank = v.number("LOCAL_RANK", 0, 0, kMaxRanks);
    e.local_world_size = v.number("LOCAL_WORLD_SIZE", e.world_size, 1, kMaxRanks);
  } else if (v.has("SLURM_PROCID")) {
    e.launcher = "slurm";
    rank_var = "SLURM_PROCID";
    size_var = "SLURM_NTASKS";
    e.world_size = v.number("SLURM_NTASKS", 1, 1, kMaxRanks);
    e.rank = v.number("SLURM_PROCID", 0, 0, kMaxRanks);
    e.local_rank = v.number("SLURM_LOCALID", 0, 0, kMaxRanks);
    // "4" or "4(x2),3": the first count is this job's tasks per node where they are even.
    const std::string per_node = v.text("SLURM_NTASKS_PER_NODE").empty()
                                     ? v.text("SLURM_TASKS_PER_NODE")
                                     : v.text("SLURM_NTASKS_PER_NODE");
    e.local_world_size = per_node.empty() ? 1 : std::max(1, std::atoi(per_node.c_str()));
  } else if (v.has("OMPI_COMM_WORLD_RANK")) {
    e.launcher = "openmpi";
    rank_var = "OMPI_COMM_WORLD_RANK";
    size_var = "OMPI_COMM_WORLD_SIZE";
    e.world_size = v.number("OMPI_COMM_WORLD_SIZE", 1, 1, kMaxRanks);
    e.rank = v.number("OMPI_COMM_WORLD_RANK", 0, 0, kMaxRanks);
    e.local_rank = v.number("OMPI_COMM_WORLD_LOCAL_RANK", 0, 0, kMaxRanks);
    e.local_world_size = v.number("OMPI_COMM_WORLD_LOCAL_SIZE", 1, 1, kMaxRanks);
  }
  if (e.rank >= e.world_size)
    throw ConfigError(std::string(rank_var) + "=" + std::to_string(e.rank) + " is not below " +
                      size_var + "=" + std::to_string(e.world_size));
  e.master_port = v.number("MASTER_PORT", e.master_port, 1, 65535);
  if (v.has("MASTER_ADDR")) {
    e.master_addr = v.text("MASTER_ADDR");
  } else if (e.launcher == "slurm" && (v.has("SLURM_JOB_NODELIST") || v.has("SLURM_NODELIST"))) {
    e.master_addr = first_slurm_host(v.has("SLURM_JOB_NODELIST") ? v.text("SLURM_JOB_NODELIST")
                                                                 : v.text("SLURM_NODELIST"));
  } else if (e.world_size > 1 && e.local_world_size < e.world_size) {
    throw ConfigError("ranks on several hosts (" + std::string(size_var) + "=" +
                      std::to_string(e.world_size) + ", " + std::to_string(e.local_world_size) +
                      " on this one) need MASTER_ADDR: set it to rank 0's host name or address");
  }
  return e;
}

RankEnv read_rank_env() {
  return read_rank_env(
      [](const char* name) { return static_cast<const char*>(std::getenv(name)); });
}

}  // namespace capflow::reduce
