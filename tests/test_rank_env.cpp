// Rank, world size and rendezvous address from the launchers' variables.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "graph/errors.h"
#include "nodes/reduce/rank_env.h"

namespace {

using capflow::reduce::first_slurm_host;
using capflow::reduce::is_loopback_host;
using capflow::reduce::RankEnv;
using capflow::reduce::read_rank_env;

RankEnv from(const std::map<std::string, std::string>& vars) {
  return read_rank_env([&](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

TEST(RankEnv, NoVariablesIsOneRank) {
  const RankEnv e = from({});
  EXPECT_EQ(e.rank, 0);
  EXPECT_EQ(e.world_size, 1);
  EXPECT_EQ(e.launcher, "none");
  EXPECT_EQ(e.master_addr, "127.0.0.1");
  EXPECT_EQ(e.master_port, 29500);
}

TEST(RankEnv, TorchrunVariables) {
  const RankEnv e = from({{"RANK", "3"},
                          {"WORLD_SIZE", "4"},
                          {"LOCAL_RANK", "1"},
                          {"LOCAL_WORLD_SIZE", "2"},
                          {"MASTER_ADDR", "10.0.0.1"},
                          {"MASTER_PORT", "1234"}});
  EXPECT_EQ(e.launcher, "torchrun");
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.world_size, 4);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.local_world_size, 2);
  EXPECT_EQ(e.master_addr, "10.0.0.1");
  EXPECT_EQ(e.master_port, 1234);
}

TEST(RankEnv, SlurmVariablesAndTheFirstHostAsMaster) {
  const RankEnv e = from({{"SLURM_PROCID", "5"},
                          {"SLURM_NTASKS", "8"},
                          {"SLURM_LOCALID", "1"},
                          {"SLURM_NTASKS_PER_NODE", "2"},
                          {"SLURM_JOB_NODELIST", "cpu[007-010],gpu1"}});
  EXPECT_EQ(e.launcher, "slurm");
  EXPECT_EQ(e.rank, 5);
  EXPECT_EQ(e.world_size, 8);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.local_world_size, 2);
  EXPECT_EQ(e.master_addr, "cpu007");
  // MASTER_ADDR wins over the node list.
  EXPECT_EQ(from({{"SLURM_PROCID", "0"},
                  {"SLURM_NTASKS", "2"},
                  {"SLURM_JOB_NODELIST", "a,b"},
                  {"MASTER_ADDR", "m"}})
                .master_addr,
            "m");
}

TEST(RankEnv, OpenMpiVariables) {
  const RankEnv e = from({{"OMPI_COMM_WORLD_RANK", "1"},
                          {"OMPI_COMM_WORLD_SIZE", "2"},
                          {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                          {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}});
  EXPECT_EQ(e.launcher, "openmpi");
  EXPECT_EQ(e.rank, 1);
  EXPECT_EQ(e.world_size, 2);
  EXPECT_EQ(e.master_addr, "127.0.0.1");  // every rank on this host
  // Ranks on several hosts and no MASTER_ADDR: a clear error.
  try {
    from({{"OMPI_COMM_WORLD_RANK", "1"},
          {"OMPI_COMM_WORLD_SIZE", "4"},
          {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}});
    FAIL() << "expected a ConfigError";
  } catch (const capflow::ConfigError& err) {
    EXPECT_NE(std::string(err.what()).find("MASTER_ADDR"), std::string::npos) << err.what();
  }
}

TEST(RankEnv, MalformedValuesNameTheVariable) {
  const auto message = [](const std::map<std::string, std::string>& vars) {
    try {
      from(vars);
    } catch (const capflow::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{"RANK", "2"}, {"WORLD_SIZE", "2"}}).find("RANK=2 is not below WORLD_SIZE=2"),
            std::string::npos);
  EXPECT_NE(message({{"RANK", "x"}, {"WORLD_SIZE", "2"}}).find("RANK='x'"), std::string::npos);
  EXPECT_NE(
      message({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "70000"}}).find("MASTER_PORT"),
      std::string::npos);
  EXPECT_NE(message({{"SLURM_PROCID", "3"}, {"SLURM_NTASKS", "2"}}).find("SLURM_PROCID=3"),
            std::string::npos);
}

TEST(RankEnv, SlurmNodeListsAndLoopback) {
  EXPECT_EQ(first_slurm_host("node[03-05,9],gpu1"), "node03");
  EXPECT_EQ(first_slurm_host("a1,b2"), "a1");
  EXPECT_EQ(first_slurm_host("single"), "single");
  EXPECT_EQ(first_slurm_host("n[7]"), "n7");
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
  EXPECT_FALSE(is_loopback_host("node1"));
}

}  // namespace
