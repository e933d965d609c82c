// Distributed training with the real binary on loopback: N ranks equal one rank accumulating
// N batches; resuming with another world size; a dead or hung rank ends the others with a
// message naming it; mismatched configurations and missing tokens are refused; the launcher.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/run_metrics.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using capflow::testing::losses;
using capflow::testing::read_text;
using capflow::testing::run_command;

namespace {

const std::string kBin = CAPFLOW_BINARY;
const std::string kPipeline = std::string(CAPFLOW_SOURCE_DIR) + "/tests/pipelines/tiny-train.yaml";

int test_port(int offset) { return 20000 + (static_cast<int>(::getpid()) * 7 + offset) % 30000; }

class DistributedCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    base_ = capflow::testing::make_temp_dir("distcli");
    const auto r = run_command(kBin + " data make --out " + base_ +
                               "/data --count 32 --seed 11 --no-progress");
    ASSERT_EQ(r.status, 0) << r.output;
  }
  static void TearDownTestSuite() { fs::remove_all(base_); }

  // `capflow run` on the tiny pipeline, one thread, no evaluation.
  static std::string run_args(const std::string& out, const std::string& extra) {
    return " run " + kPipeline + " --quiet --out " + base_ + "/" + out +
           " --set data.root=" + base_ +
           "/data --set resources.threads=1 --set nodes.optimize.eval_images=0 " + extra;
  }

  // `capflow run` as 2 ranks of one job under `capflow launch`, on the port of `offset`.
  static capflow::testing::RunResult launch_two(const std::string& out, const std::string& extra,
                                                int offset) {
    return run_command(kBin + " launch -n 2 --port " + std::to_string(test_port(offset)) + " -- " +
                       kBin + run_args(out, extra));
  }

  // Every step `part` logged has the loss `whole` logged at that step, to 1e-4.
  static void expect_same_losses(const std::map<int, double>& part,
                                 const std::map<int, double>& whole) {
    for (const auto& [step, loss] : part)
      EXPECT_NEAR(whole.at(step), loss, 1e-4 * std::max(1.0, loss)) << "step " << step;
  }

  // Two ranks started by hand (as a cluster scheduler would), rank 1 treated with `action`
  // (shell code using $p1) once rank 0 wrote its first checkpoint; prints rank 0's status,
  // how long it took to end after the action, and its output.
  static capflow::testing::RunResult two_ranks_then(const std::string& out,
                                                    const std::string& action, int port,
                                                    const std::string& extra) {
    const std::string dir = base_ + "/" + out;
    const std::string script =
        "export MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " WORLD_SIZE=2\n" +
        "RANK=0 LOCAL_RANK=0 " + kBin + run_args(out, extra) + " > " + dir +
        ".0.log 2>&1 & p0=$!\n" + "RANK=1 LOCAL_RANK=1 " + kBin + run_args(out, extra) + " > " +
        dir + ".1.log 2>&1 & p1=$!\n" + "for i in $(seq 1200); do [ -e " + dir +
        "/checkpoints/step-00000002.pt ] && break; sleep 0.1; done\n" + action +
        "\nt0=$(date +%s%N)\nwait $p0; rc=$?\nt1=$(date +%s%N)\n" +
        "kill -9 $p1 2>/dev/null; wait $p1 2>/dev/null\n" +
        "echo \"rank0_status=$rc after_ms=$(( (t1 - t0) / 1000000 ))\"\ncat " + dir + ".0.log\n";
    return run_command("bash -c '" + script + "'");
  }

  static inline std::string base_;
};

// A run bounded by time alone decays its rate over its time on several ranks too: the clock
// is the ranks' agreed one (the mean of their clocks, summed with the loss every step).
TEST_F(DistributedCli, TwoRanksDecayTheirRateOverTheirTime) {
  const auto r = launch_two("by-time",
                            "--set train.max_steps=0 --set train.max_seconds=4 "
                            "--set nodes.optimize.schedule=cosine "
                            "--set nodes.optimize.min_lr_ratio=0.01 "
                            "--set nodes.optimize.checkpoint_every=0",
                            9);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("constant rate"), std::string::npos) << r.output;
  const auto lr = capflow::testing::metric(base_ + "/by-time", "lr");
  ASSERT_GE(lr.size(), 3u) << r.output;
  double previous = 1;
  for (const auto& [step, rate] : lr) {
    EXPECT_LE(rate, previous + 1e-12) << step;
    previous = rate;
  }
  // Lower at the last step than at the first. How far down depends on when the last step fell
  // in the 4 s, which the machine's load decides; a constant rate would fail here.
  EXPECT_LT(lr.rbegin()->second, 0.9 * lr.begin()->second);
}

TEST_F(DistributedCli, TwoRanksEqualOneRankAccumulatingTwoBatches) {
  auto one = run_command(kBin + run_args("one", "--set nodes.optimize.accumulate=2"));
  ASSERT_EQ(one.status, 0) << one.output;
  auto two = launch_two("two", "--set train.baseline=" + base_ + "/one", 1);
  ASSERT_EQ(two.status, 0) << two.output;
  EXPECT_NE(two.output.find("[rank 1] "), std::string::npos) << two.output;
  const auto a = losses(base_ + "/one"), b = losses(base_ + "/two");
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), 6u);
  expect_same_losses(a, b);
  const auto summary = nlohmann::json::parse(read_text(base_ + "/two/summary.json"));
  EXPECT_EQ(summary.at("world_size"), 2);
  EXPECT_EQ(summary.at("images"), 96);  // 6 steps × 2 ranks × 8
  const auto& scaling = summary.at("scaling");
  EXPECT_EQ(scaling.at("efficiency_source"), "measured against the baseline run");
  const double one_rate =
      nlohmann::json::parse(read_text(base_ + "/one/summary.json")).at("images_per_second");
  EXPECT_NEAR(scaling.at("efficiency").get<double>(),
              summary.at("images_per_second").get<double>() / (2 * one_rate), 1e-9);
  EXPECT_TRUE(fs::exists(base_ + "/two/checkpoints/step-00000006.pt"));
  EXPECT_TRUE(fs::exists(base_ + "/two/rank-1/summary.json"));  // rank 1 writes no checkpoint
  EXPECT_FALSE(fs::exists(base_ + "/two/rank-1/checkpoints/step-00000006.pt"));
}

// Replicas inside ranks: 2 ranks of 2 replicas train on what 1 rank of 4 replicas trains on
// (the ranks' groups of 16 rows are the halves of its group of 32; without dropout, whose
// draws are keyed by replica, the losses agree).
TEST_F(DistributedCli, TwoRanksOfTwoReplicasEqualOneRankOfFour) {
  const std::string common = "--set nodes.lstm.dropout=0 --set train.max_steps=3 ";
  auto one = run_command(kBin + run_args("replicas4", common + "--set resources.replicas=4"));
  ASSERT_EQ(one.status, 0) << one.output;
  auto two = launch_two("ranks2x2", common + "--set resources.replicas=2", 11);
  ASSERT_EQ(two.status, 0) << two.output;
  const auto a = losses(base_ + "/replicas4"), b = losses(base_ + "/ranks2x2");
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  expect_same_losses(a, b);
  const auto summary = nlohmann::json::parse(read_text(base_ + "/ranks2x2/summary.json"));
  EXPECT_EQ(summary.at("images"), 96);  // 3 steps × 2 ranks × 2 replicas × 8
  EXPECT_EQ(summary.at("replicas"), 2);
}

TEST_F(DistributedCli, ResumesATwoRankRunWithOneRank) {
  if (!fs::exists(base_ + "/two/checkpoints/step-00000003.pt"))
    GTEST_SKIP() << "needs the two-rank run";
  const auto r = run_command(kBin + run_args("resumed", "--set nodes.optimize.accumulate=2") +
                             " --resume " + base_ + "/two/checkpoints/step-00000003.pt");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto a = losses(base_ + "/two"), b = losses(base_ + "/resumed");
  ASSERT_EQ(b.size(), 3u) << r.output;  // steps 4, 5, 6: the data re-sharded onto one rank
  expect_same_losses(b, a);
}

TEST_F(DistributedCli, ADeadRankEndsTheOtherNamingItAndItsWorkIsResumable) {
  const auto r =
      two_ranks_then("dead", "kill -9 $p1", test_port(2),
                     "--set train.max_steps=2000 --set nodes.optimize.checkpoint_every=2 "
                     "--set nodes.reduce.timeout_s=30");
  EXPECT_NE(r.output.find("rank0_status=1 "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rank 1 (last seen at step"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("dead or hung"), std::string::npos) << r.output;
  const auto ms = std::stol(r.output.substr(r.output.find("after_ms=") + 9));
  EXPECT_LT(ms, 30000)
      << "rank 0 should not wait for its timeout when the peer's connection closes";
  // Resume the last checkpoint with one rank.
  const auto again = run_command(
      kBin + run_args("dead-resumed", "--set train.max_steps=2000 --set train.max_seconds=3") +
      " --resume " + base_ + "/dead");
  EXPECT_EQ(again.status, 0) << again.output;
  EXPECT_NE(again.output.find("resuming from"), std::string::npos) << again.output;
}

TEST_F(DistributedCli, AHungRankEndsTheOtherWithinItsTimeout) {
  const auto r =
      two_ranks_then("hung", "kill -STOP $p1", test_port(3),
                     "--set train.max_steps=2000 --set nodes.optimize.checkpoint_every=2 "
                     "--set nodes.reduce.timeout_s=4");
  EXPECT_NE(r.output.find("rank0_status=1 "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("no heartbeat from rank 1"), std::string::npos) << r.output;
  const auto ms = std::stol(r.output.substr(r.output.find("after_ms=") + 9));
  EXPECT_LT(ms, 4000 + 15000) << "timeout 4 s, plus the diagnosis and the checkpoint";
}

TEST_F(DistributedCli, CtrlCOnOneRankStopsEveryRankAfterTheSameStep) {
  const auto r =
      two_ranks_then("ctrlc", "kill -INT $p1", test_port(5),
                     "--set train.max_steps=2000 --set nodes.optimize.checkpoint_every=2");
  EXPECT_NE(r.output.find("rank0_status=0 "), std::string::npos)
      << r.output;  // stopped by agreement
  const auto zero = nlohmann::json::parse(read_text(base_ + "/ctrlc/summary.json"));
  const auto one = nlohmann::json::parse(read_text(base_ + "/ctrlc/rank-1/summary.json"));
  EXPECT_GT(zero.at("steps").get<int>(), 1);
  EXPECT_EQ(zero.at("steps"), one.at("steps"));
  EXPECT_TRUE(fs::exists(base_ + "/ctrlc/checkpoints/step-" + [&] {
    char name[16];
    std::snprintf(name, sizeof name, "%08d", zero.at("steps").get<int>());
    return std::string(name);
  }() + ".pt"));
}

TEST_F(DistributedCli, ARankWithAnotherConfigurationIsRefused) {
  const std::string port = std::to_string(test_port(4));
  const std::string env = "MASTER_ADDR=127.0.0.1 MASTER_PORT=" + port + " WORLD_SIZE=2 ";
  const auto r = run_command("bash -c '" + env + "RANK=0 " + kBin + run_args("cfg", "") + " > " +
                             base_ + "/cfg.0.log 2>&1 & " + env + "RANK=1 " + kBin +
                             run_args("cfg", "--set nodes.optimize.lr=0.1") +
                             "; echo rank1_status=$?; wait $!; " + "echo rank0_status=$?; cat " +
                             base_ + "/cfg.0.log'");
  EXPECT_NE(r.output.find("rank1_status=2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rank0_status=2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("configuration of rank(s) 1 differs from rank 0's"), std::string::npos)
      << r.output;
}

TEST_F(DistributedCli, ARankThatNeverArrivesIsNamedAfterTheTimeout) {
  const auto r = run_command(
      "env RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(test_port(6)) +
      " " + kBin + run_args("alone", "--set nodes.reduce.timeout_s=3"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("rank(s) that never arrived: 1"), std::string::npos) << r.output;
}

TEST_F(DistributedCli, AMissingBaselineIsRefusedBeforeTraining) {
  const auto r =
      run_command(kBin + run_args("nobase", "--set train.baseline=" + base_ + "/no-such-run"));
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("train.baseline: cannot read " + base_ + "/no-such-run"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(base_ + "/nobase/metrics.jsonl") &&
               !read_text(base_ + "/nobase/metrics.jsonl").empty());
}

TEST_F(DistributedCli, BeyondLoopbackAJobTokenIsRequired) {
  const auto r = run_command("env RANK=0 WORLD_SIZE=2 MASTER_ADDR=192.0.2.1 MASTER_PORT=29500 " +
                             kBin + run_args("token", ""));
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("CAPFLOW_JOB_TOKEN"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("unencrypted"), std::string::npos) << r.output;
}

TEST_F(DistributedCli, TheLauncherSetsTheVariablesAndEndsTheJobWhenARankFails) {
  auto r = run_command(kBin +
                       " launch -n 2 -- sh -c 'echo rank=$RANK of=$WORLD_SIZE local=$LOCAL_RANK " +
                       "master=$MASTER_ADDR:$MASTER_PORT run=${CAPFLOW_RUN_ID:+set}'");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("[rank 0] rank=0 of=2 local=0 master=127.0.0.1:"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("[rank 1] rank=1 of=2 local=1 master=127.0.0.1:"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("run=set"), std::string::npos) << r.output;
  // Rank 1 fails at once; rank 0 would sleep a minute: it is ended after the grace period.
  r = run_command(kBin +
                  " launch -n 2 --grace 1 -- sh -c 'if [ $RANK = 1 ]; then exit 3; fi; sleep 60'");
  EXPECT_EQ(r.status, 3) << r.output;
  EXPECT_NE(r.output.find("rank 1 ended with exit status 3"), std::string::npos) << r.output;
}

}  // namespace
