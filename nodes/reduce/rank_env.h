// Which rank this process is, read from the variables the common launchers set:
//   capflow launch / torchrun: RANK, WORLD_SIZE, LOCAL_RANK, (LOCAL_WORLD_SIZE), MASTER_ADDR,
//   MASTER_PORT Slurm (srun):   SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NTASKS_PER_NODE,
//                   master: MASTER_ADDR, else the first host of SLURM_JOB_NODELIST
//   Open MPI:       OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK, _LOCAL_SIZE; master: MASTER_ADDR,
//                   else loopback when every rank is on one host
// The first family found wins, in this order. No variables: one rank of one.
#pragma once

#include <functional>
#include <string>

namespace capflow::reduce {

struct RankEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string launcher = "none";  // "torchrun" (also capflow launch), "slurm", "openmpi", "none"
};

using EnvLookup = std::function<const char*(const char*)>;

// Throws ConfigError naming the variable when a value is malformed or inconsistent
// (rank not below world size, a port out of range, no master address for a multi-host job).
RankEnv read_rank_env(const EnvLookup& lookup);
RankEnv read_rank_env();  // from the process environment

// The first host of a Slurm node list: "node[03-05,9],gpu1" → "node03".
std::string first_slurm_host(const std::string& nodelist);

// True for names and addresses that stay on this machine: 127.0.0.0/8, ::1, localhost.
bool is_loopback_host(const std::string& host);

}  // namespace capflow::reduce
